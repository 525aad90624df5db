#!/usr/bin/env bash
# build.sh MODULE WORK: Argo Workflows' UI, built from the pinned module's own
# ui/ folder (MODULE is the module's folder in the Go module cache) into
# WORK/ui/dist/app, with packages from the npm registry only, pinned by the
# yarn.lock beside this script. Two changes to upstream's build:
#   - argo-ui comes from its npm package 1.0.0 instead of a git URL (every
#     argo-ui/src/... path the v3.7.3 UI imports exists in it);
#   - the UI's tests and linters are not installed: the bundle does not use them.
# fieldflow.webpack.config.js beside this script wraps upstream's config (no source maps,
# the uuid/v1 shim argo-ui 1.0.0 still needs).
# With LOCK=1 it resolves the packages afresh and writes yarn.lock beside this
# script instead of installing from it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
module=$1 work=$2
yarn_version=1.22.22
registry=$(npm config get registry 2>/dev/null || echo "npm's registry")

rm -rf "$work"
mkdir -p "$work" "$work/tools"
cp -r "$module/ui" "$module/api" "$work/"
chmod -R u+w "$work"
ui=$work/ui
cp "$here/fieldflow.webpack.config.js" "$here/uuid-v1.js" "$ui/"
node "$here/package.js" "$ui/package.json"

if [ ! -x "$work/../tools/node_modules/.bin/yarn" ]; then
  echo "installing yarn $yarn_version from the npm registry into $(dirname "$work")/tools"
  mkdir -p "$work/../tools"
  npm install --silent --no-audit --no-fund --prefix "$work/../tools" "yarn@$yarn_version" >/dev/null ||
    { echo "build.sh: cannot install yarn $yarn_version from the npm registry ($registry): is it reachable?" >&2; exit 1; }
fi
yarn=$(cd "$work/../tools" && pwd)/node_modules/.bin/yarn

cd "$ui"
# upstream's .yarnrc freezes upstream's lock; ours is frozen below instead.
sed -i '/frozen-lockfile/d' .yarnrc
if [ "${LOCK:-}" = 1 ]; then
  rm -f yarn.lock
  "$yarn" install --ignore-engines --non-interactive --network-timeout 600000
  # yarn 1 writes the registry's address into every entry; a package's
  # version and integrity hash are what pin it, so the address is dropped
  # and yarn asks the registry npm is configured with.
  grep -v '^  resolved ' yarn.lock > "$here/yarn.lock"
  echo "wrote $here/yarn.lock"
else
  cp "$here/yarn.lock" yarn.lock
  "$yarn" install --frozen-lockfile --ignore-engines --non-interactive --network-timeout 600000 ||
    { echo "build.sh: yarn install failed: is the npm registry ($registry) reachable?" >&2; exit 1; }
fi
NODE_ENV=production VERSION="${VERSION:-}" node_modules/.bin/webpack --mode production --config fieldflow.webpack.config.js
test -f dist/app/index.html
