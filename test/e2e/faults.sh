#!/usr/bin/env bash
# End-to-end: the fault hooks of the management listener (server/faults.c). A raw-protocol client
# (test/e2e/faults_client.py) checks injected errors, the maintenance switch and the rate limits
# exactly; then certbot, lego and the npm acme-client each meet an injected rateLimited and an
# injected 503 on newOrder, and the suite records what each does (gives up naming the problem,
# or waits for Retry-After and retries), from cobble's own log of their requests.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "$0")/../lib/common.sh"

NODE_DIR=$ROOT/test/node
/usr/bin/python3 -c 'import cryptography, requests' 2>/dev/null ||
	{ skip "fault hooks" "python3-cryptography or python3-requests is not installed"; exit 0; }
[ -x "$COBBLE_BIN" ] || { notok "cobble binary $COBBLE_BIN exists"; exit 1; }

start_cobble COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 COBBLE_AUTHZREUSE=0 ||
	{ notok "cobble starts"; exit 1; }
py_tap faults_client.py main

# hook PATH JSON: POST to the management listener, as the README shows it.
hook() { curl -sS --cacert "$CA_BUNDLE" -X POST -d "$2" "https://localhost:$MGMT_PORT$1" >/dev/null; }
HTTP_PORT=$(free_port)
mgmt /roots/0 >"$T/root.pem"

# meets CLIENT FAULT STATUS TYPE CMD...: inject one FAULT on newOrder (Retry-After: 2), run the
# client; sets RC, TRIES (newOrder POSTs seen) and GAP (seconds between the first two).
meets() {
	local client=$1 fault=$2 status=$3 type=$4; shift 4
	hook /inject "{\"resource\": \"newOrder\", \"type\": \"$type\", \"status\": $status, \"retryAfter\": 2}"
	local mark
	mark=$(wc -l <"$COBBLE_LOG")
	RC=0
	timeout 90 "$@" >"$T/$client-$fault.out" 2>&1 || RC=$?
	# cobble logs a request when its reply is sent: the line may come just after the client exits
	wait_for 5 sh -c "tail -n +$((mark + 1)) '$COBBLE_LOG' | grep -q 'acme POST /acme/new-order '"
	sleep 0.3
	tail -n +"$((mark + 1))" "$COBBLE_LOG" | grep 'acme POST /acme/new-order ' >"$T/$client-$fault.orders"
	TRIES=$(wc -l <"$T/$client-$fault.orders")
	GAP=$(awk '{ split($1, t, "T"); split(t[2], h, ":"); s = h[1] * 3600 + h[2] * 60 + h[3] + 0;
		if (NR == 1) a = s; if (NR == 2) { printf "%.1f", s - a } }' "$T/$client-$fault.orders")
	hook /inject '{"clear": true}'
}
gave_up() { # NAME FILE PATTERN: the client failed at once: one newOrder, its output names the problem
	if [ "$RC" -ne 0 ] && [ "$TRIES" -eq 1 ] && grep -q "$3" "$2"; then ok "$1: gives up at once, naming the problem (exit $RC, no retry)"
	else notok "$1: gives up at once, naming the problem"; echo "    # exit $RC, $TRIES newOrder POSTs"; tail -5 "$2" | sed 's/^/    # /'; fi
}

for f in "rateLimited 429" "serverInternal 503"; do
	set -- $f
	type=$1 status=$2
	if command -v lego >/dev/null; then
		meets lego "$status" "$status" "$type" env LEGO_CA_CERTIFICATES="$CA_BUNDLE" lego --server "$DIR_URL" \
			--accept-tos --email lego@example.test --path "$T/lego-$status" -d "lg-$status.example.com" \
			--http --http.port "127.0.0.1:$HTTP_PORT" run
		gave_up "lego meets an injected $status $type on newOrder" "$T/lego-$status.out" \
			"$status :: POST :: .*/acme/new-order :: urn:ietf:params:acme:error:$type"
	else
		skip "lego meets an injected $status" "lego is not installed"
	fi
	if command -v certbot >/dev/null; then
		CB=$T/certbot-$status
		meets certbot "$status" "$status" "$type" env REQUESTS_CA_BUNDLE="$CA_BUNDLE" certbot certonly \
			--server "$DIR_URL" --non-interactive --agree-tos -m certbot@example.test --no-eff-email \
			--config-dir "$CB" --work-dir "$CB/work" --logs-dir "$CB/logs" --standalone \
			--http-01-address 127.0.0.1 --http-01-port "$HTTP_PORT" -d "cb-$status.example.com"
		# certbot 2.1.0 prints "AttributeError: can't set attribute" over the error (certbot #9539):
		# its own log has the problem
		gave_up "certbot meets an injected $status $type on newOrder" "$CB/logs/letsencrypt.log" \
			"acme.messages.Error: urn:ietf:params:acme:error:$type"
	else
		skip "certbot meets an injected $status" "certbot is not installed"
	fi
	if command -v node >/dev/null && [ -f "$NODE_DIR/node_modules/acme-client/package.json" ]; then
		meets acme-client "$status" "$status" "$type" env NODE_EXTRA_CA_CERTS="$CA_BUNDLE" \
			node "$NODE_DIR/challenge-client.js" --directory "$DIR_URL" --account-key "$T/node-$status.pem" \
			--type http-01 --identifiers "nd-$status.example.com" --http-port "$HTTP_PORT" \
			--cert-out "$T/node-$status.pem"
		if [ "$RC" -eq 0 ] && [ "$TRIES" -eq 2 ] && awk -v g="$GAP" 'BEGIN { exit !(g >= 1.9) }' &&
			openssl verify -CAfile "$T/root.pem" -untrusted "$T/node-$status.pem" "$T/node-$status.pem" >/dev/null 2>&1; then
			ok "acme-client meets an injected $status $type on newOrder: waits the Retry-After (${GAP} s of 2), retries once, gets its certificate"
		else
			notok "acme-client meets an injected $status $type on newOrder: waits the Retry-After and retries"
			echo "    # exit $RC, $TRIES newOrder POSTs, ${GAP:-?} s apart"; tail -c 600 "$T/acme-client-$status.out" | sed 's/^/    # /'
		fi
	else
		skip "acme-client meets an injected $status" "node or test/node/node_modules is missing"
	fi
done
stop_cobble

echo '{"orderLifetime": 3600, "pendingAuthzLifetime": 1800, "authzLifetime": 7200,
	"rateLimits": {"duplicateCertificates": {"count": 3, "window": 600}}}' >"$T/lifetimes.json"
echo '{"rateLimits": {"ordersPerDay": {"count": 1, "window": 60}}}' >"$T/badlimits.json"
"$COBBLE_BIN" -config "$T/badlimits.json" --check-config >"$T/badlimits.out" 2>&1
check "rateLimits with an unknown limit: --check-config exits 1 naming it" \
	sh -c "test $? -eq 1 && grep -q 'rateLimits.ordersPerDay: unknown limit' '$T/badlimits.out'"
start_cobble COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 COBBLE_AUTHZREUSE=0 -- \
	-config "$T/lifetimes.json" || { notok "cobble starts with short lifetimes"; exit 1; }
py_tap faults_client.py clock
mgmt /faults >"$T/faults.json"
jq_ok "the configuration's rateLimits are in force from the start (GET /faults)" faults \
	'.rateLimits.duplicateCertificates == {"count": 3, "window": 600, "refused": 0} and .rateLimits.newOrdersPerAccount.count == 0'
mgmt / >"$T/status.html"
check "the status page says the clock is moved, and by how much" grep -q 'Clock moved forward by 7300 s' "$T/status.html"
stop_cobble
