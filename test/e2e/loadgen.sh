#!/usr/bin/env bash
# End-to-end smoke check of the load generator (test/bench/loadgen, what `make bench` runs): a few
# seconds of whole issuance flows against the real cobble — keep-alive, a fresh TLS connection
# per request, open loop, and real dns-persist-01 against a private Knot (one record per
# account). Checks that flows complete without errors and that every figure is reported; no
# timing is asserted (the machine may be loaded). Runs inside a private network namespace.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/knot.sh"

LOADGEN=${COBBLE_LOADGEN:-$(dirname "$COBBLE_BIN")/loadgen}
for tool in knotd knotc kdig jq curl; do
	command -v "$tool" >/dev/null || { skip "load generator smoke check" "$tool is not installed"; exit 0; }
done
[ -x "$LOADGEN" ] || { notok "load generator $LOADGEN is built"; exit 1; }

# run TAG ARGS...: the generator against this cobble; its JSON line in $T/TAG.json ({} when it
# exited with an error, e.g. a sanitizer report, which $T/TAG.err then shows).
run() {
	local tag=$1 rc=0; shift
	"$LOADGEN" --dir "$DIR_URL" --cafile "$CA_BUNDLE" --server-pid "$COBBLE_PID" --label cobble "$@" \
		>"$T/$tag.json" 2>"$T/$tag.err" || rc=$?
	echo "exit $rc" >>"$T/$tag.err"
	[ "$rc" -eq 0 ] && [ -s "$T/$tag.json" ] || echo '{}' >"$T/$tag.json"
}
FIGURES='.flows >= 1 and .errors == {} and .flowsPerSecond > 0 and .serverCpuMsPerFlow > 0 and
	.serverPeakRssKb > 0 and .generatorCpuMsPerFlow > 0 and
	all(.latencyMs[]; .p50 > 0 and .p50 <= .p95 and .p95 <= .p99)'

start_cobble COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 COBBLE_AUTHZREUSE=0 -- \
	-log-level warn || exit 1
run keep -c 2 -d 2
jq_ok "keep-alive: flows complete without errors, every figure reported" keep "$FIGURES and .connections == 2"
run fresh -c 2 -d 2 --mode fresh
jq_ok "fresh connection per request: flows complete, one connection per request" fresh \
	"$FIGURES and .connections >= 6 * .flows"  # newOrder, authz, challenge, poll, finalize, certificate
run resume -c 2 -d 1 --connections --resume
jq_ok "TLS session tickets: a reconnecting client resumes (all but each client's first connection)" resume \
	'.flows > 2 and .errors == {} and .resumedConnections >= .connections - 2'
run open -c 2 -d 2 --rate 20
jq_ok "open loop at 20 flows/s: flows complete without errors" open "$FIGURES and .rate == 20"
stop_cobble

# the order cap: with 10 orders kept, 80 flows run while the oldest finished orders are dropped
# (one client: with many, a cap this small could drop a valid order before its client fetched the
# certificate, which is why the default is thousands)
start_cobble COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 COBBLE_AUTHZREUSE=0 \
	COBBLE_MAX_ORDERS=10 -- -log-level warn || exit 1
run capped -c 1 -n 80 -d 60
jq_ok "maxOrders 10: 80 flows complete while old orders are dropped" capped "$FIGURES and .flows == 80"
stop_cobble

# dns-persist-01 for real: each account publishes its record, each flow is validated against Knot
knot_start bench.test || { notok "knotd serves bench.test"; exit 1; }
echo '{"dnsPersist": {"reuse": false}}' >"$T/persist.json"
start_cobble COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 COBBLE_AUTHZREUSE=0 -- \
	-log-level warn -dnsserver "127.0.0.1:$KNOT_PORT" -config "$T/persist.json" || exit 1
run persist -c 2 -d 2 --challenge dns-persist-01 --suffix bench.test --issuer cobble.test \
	--persist-hook "$ROOT/test/bench/knot-publish.sh $KNOT_DIR/knot.conf $KNOT_DIR/knot.sock bench.test"
jq_ok "dns-persist-01 against Knot: flows complete without errors" persist "$FIGURES"
if knot_dig +short _validation-persist.c1.bench.test TXT | grep -q 'cobble.test; accounturi=https://'; then
	ok "the accounts' records are in Knot"
else
	notok "the accounts' records are in Knot"
fi
# the validator alone (make bench's validations per second): every lookup finds the record valid
RATE=$(dirname "$LOADGEN")/persist-rate
knot_set bench.test _validation-persist.rate 300 TXT '"cobble.test; accounturi=https://ca.test/acct/1"'
"$RATE" --resolver "127.0.0.1:$KNOT_PORT" --identifier rate.bench.test --account-url https://ca.test/acct/1 \
	-t 2 -d 1 >"$T/rate.json" 2>"$T/rate.err" || true
jq_ok "persist-rate: dns-persist-01 validations against Knot, all valid" rate '.validations > 0 and .valid == .validations and .errors == 0'
# a record that does not match (another account's URI) makes the flow fail with its problem type
run wrong -c 1 -n 1 -d 2 --challenge dns-persist-01 --suffix bench.test --issuer other.example \
	--persist-hook "$ROOT/test/bench/knot-publish.sh $KNOT_DIR/knot.conf $KNOT_DIR/knot.sock bench.test"
jq_ok "a record for another issuer: the flow fails and the error is counted by type" wrong \
	'.flows == 0 and ([.errors | to_entries[] | select(.key | startswith("invalid:"))] | length) == 1'
