/* cli: what cobble's node test drivers share: argument parsing, usage errors, key files, and
 * acme-client settings for a server that answers at once. */
'use strict';

const fs = require('fs');
const acme = require('acme-client');

/* cobble answers at once; poll fast and give up early instead of acme-client's 5-30 s backoff */
const BACKOFF = { backoffAttempts: 40, backoffMin: 100, backoffMax: 500 };
acme.axios.defaults.acmeSettings.retryMaxAttempts = 1;
acme.axios.defaults.acmeSettings.retryDefaultDelay = 1;

/* An Error that main() reports as a usage error (exit 2). */
function usage(msg) {
    const e = new Error(msg);
    e.usage = true;
    return e;
}

/* "--key value" pairs into an object; words without "--" into out._; the names in `flags`
 * take no value and become true. */
function parseArgs(argv, flags = []) {
    const out = { _: [] };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (!a.startsWith('--')) { out._.push(a); continue; }
        const key = a.slice(2);
        if (flags.includes(key)) { out[key] = true; continue; }
        if (i + 1 >= argv.length) throw usage(`${a} needs a value`);
        out[key] = argv[++i];
    }
    return out;
}

function need(args, key) {
    if (!args[key]) throw usage(`--${key} is required`);
    return args[key];
}

/* The PEM account key in file, made (ECDSA P-256) when the file does not exist. */
async function loadKey(file) {
    if (!fs.existsSync(file)) {
        fs.writeFileSync(file, await acme.crypto.createPrivateEcdsaKey('P-256'), { mode: 0o600 });
    }
    return fs.readFileSync(file);
}

module.exports = { BACKOFF, usage, parseArgs, need, loadKey };
