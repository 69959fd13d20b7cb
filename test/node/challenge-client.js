#!/usr/bin/env node
/* challenge-client: one certificate from an ACME server with the npm acme-client (v5), answering
 * http-01, dns-01 or tls-alpn-01 for real, through the library's own auto() flow (as its README
 * shows it), for cobble's client matrix (test/e2e/matrix.sh).
 *
 *   challenge-client.js --directory URL --account-key FILE --type http-01|dns-01|tls-alpn-01
 *                       --identifiers a,b [--cert-out FILE] [--http-port N] [--tls-port N]
 *                       [--dns-hook PROGRAM] [--bad-nonce-retries N]
 *
 * http-01: serves /.well-known/acme-challenge/<token> itself on 127.0.0.1:--http-port (default 80).
 * tls-alpn-01: answers ALPN "acme-tls/1" itself on 127.0.0.1:--tls-port (default 443) with the
 * certificate acme.crypto.createAlpnCertificate makes (RFC 8737), chosen by SNI.
 * dns-01: runs `PROGRAM set|unset _acme-challenge.<name> <digest>` (test/e2e/hooks/knot-txt.sh).
 * The CA's own check of the answer is all that counts: the library's pre-check, which would
 * resolve the names with the system resolver, is skipped (skipChallengeVerification).
 * --bad-nonce-retries overrides acme-client's limit (5) of retries of one request on badNonce.
 * A missing --account-key file is created (ECDSA P-256); the certificate key is a new P-256 key.
 * Prints one JSON object {accountUrl, type, identifiers, answered, badNonceRetries, certificate,
 * outcome: "valid"|"failed", error} and exits 0 when a certificate was written, 1 when not, 2 on
 * a usage error. TLS to the CA: trust its bundle with NODE_EXTRA_CA_CERTS (never disabled). */
'use strict';

const fs = require('fs');
const http = require('http');
const tls = require('tls');
const { execFile } = require('child_process');
const acme = require('acme-client');

const { BACKOFF, usage, parseArgs, need, loadKey } = require('./cli');

function listen(server, port) {
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => { server.removeListener('error', reject); resolve(); });
    });
}

function run(prog, argv) {
    return new Promise((resolve, reject) => {
        execFile(prog, argv, { timeout: 30000 }, (err, stdout, stderr) => {
            if (err) reject(new Error(`${prog} ${argv.join(' ')}: ${stderr || err.message}`));
            else resolve();
        });
    });
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    if (args._.length) throw usage(`bad argument ${args._[0]}`);
    const type = need(args, 'type');
    if (!['http-01', 'dns-01', 'tls-alpn-01'].includes(type)) throw usage(`--type ${type} is not http-01, dns-01 or tls-alpn-01`);
    const names = need(args, 'identifiers').split(',').filter(Boolean);
    const out = { type, identifiers: names, answered: [], badNonceRetries: 0 };

    acme.setLogger((msg) => {
        if (/Caught invalid nonce error/.test(msg)) out.badNonceRetries++;
        if (process.env.CHALLENGE_CLIENT_DEBUG) process.stderr.write(`${msg}\n`);
    });

    const client = new acme.Client({ directoryUrl: need(args, 'directory'), accountKey: await loadKey(need(args, 'account-key')), ...BACKOFF });
    if (args['bad-nonce-retries']) client.http.maxBadNonceRetries = Number(args['bad-nonce-retries']);

    /* the responders */
    const httpTokens = new Map(); /* token -> key authorization */
    const alpnContexts = new Map(); /* SNI name -> SecureContext */
    let server = null;
    if (type === 'http-01') {
        server = http.createServer((req, res) => {
            const m = /^\/\.well-known\/acme-challenge\/([^/?]+)$/.exec(req.url);
            const ka = m && httpTokens.get(m[1]);
            res.writeHead(ka ? 200 : 404, { 'Content-Type': 'text/plain' });
            res.end(ka || 'not found');
        });
        await listen(server, Number(args['http-port'] || 80));
    }
    else if (type === 'tls-alpn-01') {
        server = tls.createServer({
            ALPNProtocols: ['acme-tls/1'],
            SNICallback: (name, cb) => {
                const ctx = alpnContexts.get(name.toLowerCase());
                cb(ctx ? null : new Error(`no tls-alpn-01 certificate for ${name}`), ctx);
            },
        }, (sock) => sock.end()); /* RFC 8737 §3: the handshake is the answer */
        server.on('tlsClientError', () => {});
        await listen(server, Number(args['tls-port'] || 443));
    }
    const hook = args['dns-hook'];
    if (type === 'dns-01' && !hook) throw usage('--dns-hook is required for dns-01');

    const challengeCreateFn = async (authz, challenge, keyAuthorization) => {
        const name = authz.identifier.value;
        if (challenge.type === 'http-01') httpTokens.set(challenge.token, keyAuthorization);
        else if (challenge.type === 'dns-01') await run(hook, ['set', `_acme-challenge.${name}`, keyAuthorization]);
        else if (challenge.type === 'tls-alpn-01') {
            const [key, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
            alpnContexts.set(name.toLowerCase(), tls.createSecureContext({ key, cert }));
        }
        out.answered.push({ identifier: name, wildcard: !!authz.wildcard, type: challenge.type });
    };
    const challengeRemoveFn = async (authz, challenge, keyAuthorization) => {
        const name = authz.identifier.value;
        if (challenge.type === 'http-01') httpTokens.delete(challenge.token);
        else if (challenge.type === 'dns-01') await run(hook, ['unset', `_acme-challenge.${name}`, keyAuthorization]);
        else if (challenge.type === 'tls-alpn-01') alpnContexts.delete(name.toLowerCase());
    };

    const certKey = await acme.crypto.createPrivateEcdsaKey('P-256');
    const [, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: names }, certKey);
    try {
        const chain = await client.auto({
            csr,
            termsOfServiceAgreed: true,
            skipChallengeVerification: true,
            challengePriority: [type],
            challengeCreateFn,
            challengeRemoveFn,
        });
        out.accountUrl = client.getAccountUrl();
        if (args['cert-out']) {
            fs.writeFileSync(args['cert-out'], chain);
            out.certificate = args['cert-out'];
        }
        out.outcome = 'valid';
    }
    catch (e) {
        out.outcome = 'failed';
        const d = e && e.response && e.response.data;
        out.error = (d && typeof d === 'object' && d.type) ? d : { message: String(e && e.message ? e.message : e) };
        try { out.accountUrl = client.getAccountUrl(); }
        catch (f) { /* no account */ }
    }
    if (server) {
        if (server.closeAllConnections) server.closeAllConnections(); /* keep-alive sockets of the validator */
        server.close();
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return out.outcome === 'valid' ? 0 : 1;
}

main().then((rc) => { process.exitCode = rc; }, (e) => {
    process.stdout.write(`${JSON.stringify({ fatal: e.message })}\n`);
    if (!e.usage) process.stderr.write(`${e.stack || e}\n`);
    process.exitCode = 2;
});
