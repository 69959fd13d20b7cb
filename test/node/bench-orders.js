#!/usr/bin/env node
/* bench-orders: full ACME issuance cycles against one server, for scripts/bench.sh.
 *   bench-orders.js DIRECTORY_URL CONCURRENCY SECONDS [MAX_ORDERS]
 * Each worker has its own account and loops: newOrder (one name), every authorization's
 * dns-persist-01 (or http-01) challenge POSTed, finalize, certificate download. The server must
 * make challenges valid by itself (COBBLE_VA_ALWAYS_VALID=1 / PEBBLE_VA_ALWAYS_VALID=1).
 * Prints one JSON line: {orders, seconds, ordersPerSecond, p50ms, p99ms, errors}. Bounded by
 * SECONDS and MAX_ORDERS (default 5000). TLS: NODE_EXTRA_CA_CERTS. */
'use strict';
const acme = require('acme-client');

acme.axios.defaults.acmeSettings.retryMaxAttempts = 3;
acme.axios.defaults.acmeSettings.retryDefaultDelay = 0;

async function worker(id, dir, deadline, state) {
    /* poll fast: the figure is the server's, not the client's backoff */
    const client = new acme.Client({ directoryUrl: dir, accountKey: await acme.crypto.createPrivateEcdsaKey(),
        backoffAttempts: 200, backoffMin: 5, backoffMax: 50 });
    await client.createAccount({ termsOfServiceAgreed: true });
    let n = 0;
    while (Date.now() < deadline && state.orders < state.max) {
        const t0 = process.hrtime.bigint();
        try {
            const name = `w${id}-${n++}.bench.test`;
            const order = await client.createOrder({ identifiers: [{ type: 'dns', value: name }] });
            for (const az of await client.getAuthorizations(order)) {
                if (az.status === 'valid') continue;
                const ch = az.challenges.find((c) => c.type === 'dns-persist-01') || az.challenges[0];
                await client.completeChallenge(ch);
                await client.waitForValidStatus(ch);
            }
            const [, csr] = await acme.crypto.createCsr({ altNames: [name] }, state.certKey);
            const fin = await client.finalizeOrder(order, csr);
            await client.waitForValidStatus(fin);
            await client.getCertificate(fin);
            state.orders++;
            state.lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } catch (e) {
            state.errors++;
            if (state.errors > 20) throw e;
        }
    }
}

async function main() {
    const [dir, conc = '4', secs = '10', max = '5000'] = process.argv.slice(2);
    if (!dir) throw new Error('usage: bench-orders.js DIRECTORY_URL CONCURRENCY SECONDS [MAX_ORDERS]');
    const state = { orders: 0, errors: 0, lat: [], max: Number(max), certKey: await acme.crypto.createPrivateEcdsaKey() };
    const t0 = Date.now();
    const deadline = t0 + Number(secs) * 1000;
    await Promise.all(Array.from({ length: Number(conc) }, (_, i) => worker(i, dir, deadline, state)));
    const seconds = (Date.now() - t0) / 1000;
    state.lat.sort((a, b) => a - b);
    const q = (p) => (state.lat.length ? state.lat[Math.min(state.lat.length - 1, Math.floor(p * state.lat.length))] : null);
    console.log(JSON.stringify({ orders: state.orders, seconds, ordersPerSecond: +(state.orders / seconds).toFixed(1),
        p50ms: q(0.5) && +q(0.5).toFixed(1), p99ms: q(0.99) && +q(0.99).toFixed(1), errors: state.errors }));
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
