// Upstream's webpack config, as `yarn build` uses it, with two changes:
// no source maps (the bundle is embedded in the argo binary: 24 MB of maps
// nobody reads), and uuid/v1, which argo-ui 1.0.0 still requires and uuid 9
// no longer exports, resolved to a shim.
const path = require('path');
const config = require('./webpack.config.js');

config.devtool = false;
config.resolve.alias = {...(config.resolve.alias || {}), 'uuid/v1': path.resolve(__dirname, 'uuid-v1.js')};
module.exports = config;
