// package.js FILE: upstream's ui/package.json with argo-ui from npm, uuid
// for argo-ui's uuid/v1 (upstream gets it through its test tools), and
// without the UI's test and lint tools, which the bundle does not use.
const fs = require('fs');
const file = process.argv[2];
const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
pkg.dependencies['argo-ui'] = '1.0.0';
pkg.dependencies['uuid'] = '9.0.1';
const unused = /^(jest|ts-jest|babel-jest|ts-node|eslint.*|prettier|@ianvs\/prettier-plugin-sort-imports|@typescript-eslint\/.*|@testing-library\/.*|@types\/.*|@babel\/.*|typescript|webpack-dev-server|yarn-deduplicate)$/;
for (const name of Object.keys(pkg.devDependencies)) {
    if (unused.test(name)) {
        delete pkg.devDependencies[name];
    }
}
fs.writeFileSync(file, JSON.stringify(pkg, null, 4) + '\n');
