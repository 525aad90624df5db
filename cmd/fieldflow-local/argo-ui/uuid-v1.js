// uuid/v1 as uuid 3 exported it, for argo-ui 1.0.0.
module.exports = require('uuid').v1;
