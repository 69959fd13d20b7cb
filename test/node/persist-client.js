#!/usr/bin/env node
/* persist-client: a small ACME driver (acme-client v5, low-level API) for cobble's
 * dns-persist-01 and dns-account-01 end-to-end tests (test/e2e/persist.sh, test/e2e/account.sh).
 * It never publishes DNS records: the test script does that with Knot; this only talks ACME and
 * prints one JSON object.
 *
 *   persist-client.js account   --directory URL --account-key FILE
 *   persist-client.js keychange --directory URL --account-key FILE --new-account-key FILE
 *   persist-client.js deactivate --directory URL --account-key FILE [--then-post URL]
 *   persist-client.js hash      --prefix URL --domain D|'*' (--thumbprint TP | --account-key FILE)
 *                               --account-url URL
 *   persist-client.js order     --directory URL --account-key FILE (--identifiers a,b | --order-url URL)
 *                               [--challenge dns-persist-01|dns-account-01]
 *                               [--no-challenge] [--no-finalize] [--cert-out FILE] [--expect OUTCOME]
 *
 * A missing --account-key file is created (ECDSA P-256). `order` creates the order (or loads
 * --order-url), POSTs the --challenge (default dns-persist-01) of every pending authorization
 * (unless --no-challenge), waits, and when the order is ready finalizes it (unless --no-finalize)
 * and writes the PEM chain to --cert-out. It prints
 *   {accountUrl, thumbprint, order: {url, created: {status}, status, error}, authorizations:
 *    [{url, identifier, wildcard, statusAtCreation, status, expires, challenge, record, error}],
 *    challengePosts, outcome: valid|invalid|pending|ready, error, certificate}
 * where, for dns-account-01, record is {owner, value}: the TXT record this client computed itself
 * (draft-ietf-acme-dns-account-label-03 §3.2), for the test script to publish.
 * and exits 0 when outcome equals --expect (default: valid), 1 when not, 2 on a usage or
 * transport error. TLS: trust cobble's CA bundle with NODE_EXTRA_CA_CERTS (never disabled). */
'use strict';

const fs = require('fs');
const crypto = require('crypto');
const acme = require('acme-client');

const { BACKOFF, usage, parseArgs, need, loadKey } = require('./cli');

/* RFC 7638 JWK thumbprint, computed here (not by acme-client) from the PEM key. */
function thumbprint(pem) {
    const jwk = crypto.createPublicKey(pem).export({ format: 'jwk' });
    let members;
    if (jwk.kty === 'EC') members = { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
    else if (jwk.kty === 'RSA') members = { e: jwk.e, kty: jwk.kty, n: jwk.n };
    else if (jwk.kty === 'OKP') members = { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
    else throw new Error(`unsupported key type ${jwk.kty}`);
    return crypto.createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/* spec dns-persist-01 §3 (draft 02): prefix + "sha-256/" + b64url(SHA-256(len(d) || d || tp || url)) */
function hashedAccountUri(prefix, d, tp, url) {
    const db = Buffer.from(d, 'utf8');
    if (db.length > 255) throw usage('--domain is longer than 255 octets');
    const h = crypto.createHash('sha256')
        .update(Buffer.concat([Buffer.from([db.length]), db, Buffer.from(tp, 'utf8'), Buffer.from(url, 'utf8')]))
        .digest('base64url');
    return `${prefix}sha-256/${h}`;
}

/* RFC 4648 §6 base32 of buf, lowercase, no padding. */
function base32(buf) {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
    let bits = 0, n = 0, out = '';
    for (const byte of buf) {
        bits = (bits << 8) | byte;
        n += 8;
        while (n >= 5) {
            n -= 5;
            out += alphabet[(bits >> n) & 31];
        }
        bits &= (1 << n) - 1;
    }
    return out;
}

/* draft-ietf-acme-dns-account-label-03 §3.2: "_" base32(SHA-256(account URL)[0:10]) "._acme-challenge."
 * name, holding base64url(SHA-256(token "." thumbprint)), dns-01's value (RFC 8555 §8.4). */
function accountRecord(accountUrl, name, token, tp) {
    const label = base32(crypto.createHash('sha256').update(accountUrl, 'utf8').digest().subarray(0, 10));
    return {
        owner: `_${label}._acme-challenge.${name}`,
        value: crypto.createHash('sha256').update(`${token}.${tp}`, 'utf8').digest('base64url'),
    };
}

async function newClient(args) {
    const accountKey = await loadKey(need(args, 'account-key'));
    const client = new acme.Client({ directoryUrl: need(args, 'directory'), accountKey, ...BACKOFF });
    await client.createAccount({ termsOfServiceAgreed: true });
    return { client, accountKey };
}

/* The problem document of an error thrown by acme-client, when there is one. */
function problemOf(e) {
    const d = e && e.response && e.response.data;
    if (d && typeof d === 'object' && d.type) return d;
    return { message: String(e && e.message ? e.message : e) };
}

async function cmdAccount(args) {
    const { client, accountKey } = await newClient(args);
    return { out: { accountUrl: client.getAccountUrl(), thumbprint: thumbprint(accountKey) }, ok: true };
}

async function cmdKeychange(args) {
    const { client, accountKey } = await newClient(args);
    const newKey = await loadKey(need(args, 'new-account-key'));
    const out = { accountUrl: client.getAccountUrl(), oldThumbprint: thumbprint(accountKey), newThumbprint: thumbprint(newKey) };
    try {
        await client.updateAccountKey(newKey);
        out.status = 'changed';
    }
    catch (e) {
        out.status = 'failed';
        out.error = problemOf(e);
    }
    return { out, ok: out.status === 'changed' };
}

/* RFC 8555 §7.3.6: the account deactivates itself; later requests are refused. --then-post URL
 * then POSTs {} to URL (a challenge) with the deactivated account's key and reports the answer. */
async function cmdDeactivate(args) {
    const { client } = await newClient(args);
    const acct = await client.updateAccount({ status: 'deactivated' });
    const out = { accountUrl: client.getAccountUrl(), status: acct.status };
    if (args['then-post']) {
        const resp = await client.api.apiRequest(args['then-post'], {}, []);
        out.thenPost = { status: resp.status, body: resp.data };
    }
    return { out, ok: acct.status === 'deactivated' };
}

async function cmdHash(args) {
    let tp = args.thumbprint;
    if (!tp) tp = thumbprint(fs.readFileSync(need(args, 'account-key')));
    const uri = hashedAccountUri(need(args, 'prefix'), need(args, 'domain'), tp, need(args, 'account-url'));
    return { out: { accounturi: uri, thumbprint: tp }, ok: true };
}

async function cmdOrder(args) {
    const { client, accountKey } = await newClient(args);
    const type = args.challenge || 'dns-persist-01';
    if (!['dns-persist-01', 'dns-account-01'].includes(type)) throw usage(`--challenge ${type} is not dns-persist-01 or dns-account-01`);
    const out = { accountUrl: client.getAccountUrl(), thumbprint: thumbprint(accountKey), challengePosts: 0 };
    let order;
    if (args['order-url']) {
        order = await client.getOrder({ url: args['order-url'] });
    }
    else {
        const names = need(args, 'identifiers').split(',').filter(Boolean);
        order = await client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) });
    }
    out.order = { url: order.url, created: { status: order.status }, status: order.status };

    const authzs = await client.getAuthorizations(order);
    out.authorizations = authzs.map((a) => ({
        url: a.url,
        identifier: a.identifier.value,
        wildcard: !!a.wildcard,
        statusAtCreation: a.status,
        status: a.status,
        expires: a.expires,
        challenge: (a.challenges || []).find((c) => c.type === type) || null,
    }));
    for (const rep of out.authorizations) {
        if (type === 'dns-account-01' && rep.challenge)
            rep.record = accountRecord(out.accountUrl, rep.identifier, rep.challenge.token, out.thumbprint);
    }

    if (!args['no-challenge']) {
        await Promise.all(authzs.map(async (a, i) => {
            const rep = out.authorizations[i];
            if (a.status !== 'pending') return;
            const chal = rep.challenge;
            if (!chal) {
                rep.error = { message: `no ${type} challenge offered` };
                return;
            }
            out.challengePosts++;
            await client.completeChallenge(chal);
            try {
                await client.waitForValidStatus({ url: a.url });
            }
            catch (e) { /* the authorization is read again below, with its error */ }
        }));
        const after = await client.getAuthorizations(order);
        after.forEach((a, i) => {
            const rep = out.authorizations[i];
            rep.status = a.status;
            rep.expires = a.expires;
            const chal = (a.challenges || []).find((c) => c.type === type);
            if (chal) rep.challenge = chal;
            if (chal && chal.error) rep.error = chal.error;
        });
    }

    order = await client.getOrder(order);
    out.order.status = order.status;
    if (order.error) out.order.error = order.error;
    const failed = out.authorizations.find((a) => a.error);
    if (failed) out.error = failed.error;

    if (order.status === 'ready' && !args['no-finalize']) {
        const names = order.identifiers.map((i) => i.value);
        const certKey = await acme.crypto.createPrivateEcdsaKey('P-256');
        const [, csr] = await acme.crypto.createCsr({ altNames: names }, certKey);
        const { url } = order;
        try {
            order = await client.finalizeOrder(order, csr);
            order = { ...await client.waitForValidStatus({ url }), url };
            const chain = await client.getCertificate(order);
            if (args['cert-out']) {
                fs.writeFileSync(args['cert-out'], chain);
                out.certificate = args['cert-out'];
            }
        }
        catch (e) {
            out.error = problemOf(e);
        }
        order = await client.getOrder({ url });
        out.order.status = order.status;
        if (order.error) out.order.error = order.error;
    }
    out.outcome = order.status;
    if (order.status === 'processing') out.outcome = 'pending';
    const want = args.expect || 'valid';
    return { out, ok: out.outcome === want };
}

async function main() {
    const args = parseArgs(process.argv.slice(2), ['no-challenge', 'no-finalize']);
    const cmds = { account: cmdAccount, keychange: cmdKeychange, deactivate: cmdDeactivate, hash: cmdHash, order: cmdOrder };
    const cmd = cmds[args._[0]];
    if (!cmd) throw usage(`unknown command ${args._[0] || '(none)'}; one of: ${Object.keys(cmds).join(', ')}`);
    const { out, ok } = await cmd(args);
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return ok ? 0 : 1;
}

main().then((rc) => { process.exitCode = rc; }, (e) => {
    process.stdout.write(`${JSON.stringify({ fatal: e.usage ? e.message : problemOf(e) })}\n`);
    if (!e.usage) process.stderr.write(`${e.stack || e}\n`);
    process.exitCode = 2;
});
