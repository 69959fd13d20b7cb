#!/usr/bin/env node
/* nonce-rate: how often an ACME server refuses a fresh, valid nonce with badNonce (Pebble's
 * WFE_NONCEREJECT knob), for test/e2e/matrix.sh.
 *
 *   nonce-rate.js --directory URL --count N
 *
 * Creates an account (a new P-256 key; retrying badNonce as often as it takes), then sends N
 * POST-as-GET requests to the account URL, each with a fresh nonce from newNonce and no retry,
 * and prints {count, refused, ok, other, rate}. Exit 0 unless a request failed another way.
 * TLS to the CA: trust its bundle with NODE_EXTRA_CA_CERTS (never disabled). */
'use strict';

const acme = require('acme-client');

acme.axios.defaults.acmeSettings.retryMaxAttempts = 1;

async function main() {
    const args = {};
    for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
    if (!args.directory || !args.count) throw new Error('usage: nonce-rate.js --directory URL --count N');
    const client = new acme.Client({ directoryUrl: args.directory, accountKey: await acme.crypto.createPrivateEcdsaKey('P-256') });
    client.http.maxBadNonceRetries = 100;
    await client.createAccount({ termsOfServiceAgreed: true });
    const url = client.getAccountUrl();
    client.http.maxBadNonceRetries = 0;
    const out = { count: Number(args.count), refused: 0, ok: 0, other: 0 };
    for (let i = 0; i < out.count; i++) {
        const resp = await client.http.signedRequest(url, null, { kid: url });
        if (resp.status === 200) out.ok++;
        else if (resp.status === 400 && resp.data && resp.data.type === 'urn:ietf:params:acme:error:badNonce') out.refused++;
        else {
            out.other++;
            out.lastOther = { status: resp.status, data: resp.data };
        }
    }
    out.rate = out.refused / out.count;
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return out.other === 0 ? 0 : 1;
}

main().then((rc) => { process.exitCode = rc; }, (e) => {
    process.stdout.write(`${JSON.stringify({ fatal: String(e && e.message ? e.message : e) })}\n`);
    process.exitCode = 2;
});
