#!/usr/bin/env bash
# matrix: real ACME clients against the real cobble with validation really performed (no
# always-valid): certbot (http-01 standalone, dns-01 manual hooks), lego (http-01, tls-alpn-01,
# dns-01 exec), uacme (dns-01 hook, tls-alpn-01 with ualpn), dehydrated (http-01 from a WELLKNOWN
# directory, dns-01 hook) and the npm acme-client (http-01, dns-01, tls-alpn-01;
# test/node/challenge-client.js). A private Knot serves the names (A → 127.0.0.1) and the
# _acme-challenge TXT records the hooks (test/e2e/hooks/) publish with knotc; cobble asks only that
# Knot and connects to httpPort/tlsPort, where the clients listen. Every certificate is checked
# with `openssl verify` against /roots/0, for its names, and for cobble's own record of a real
# validation by that method. Run 1 refuses no nonce (dehydrated never retries a badNonce and uacme
# only twice, so any refusal would make their runs a lottery); run 2 refuses 50% and lego, certbot
# and the npm client must retry their way through (a whole-run retry is never taken), and the
# refusal rate itself is measured.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/knot.sh"

PY=/usr/bin/python3 # Debian's interpreter (http.server for dehydrated's WELLKNOWN)
HOOKS=$ROOT/test/e2e/hooks
NODE_DIR=$ROOT/test/node
for tool in knotd knotc kdig openssl curl jq timeout flock "$PY"; do
	command -v "$tool" >/dev/null || { skip "client matrix" "$tool is not installed"; exit 0; }
done
[ -x "$COBBLE_BIN" ] || { notok "cobble binary $COBBLE_BIN exists"; exit 1; }
have() { command -v "$1" >/dev/null; }
have_node() { have node && [ -f "$NODE_DIR/node_modules/acme-client/package.json" ]; }

Z=matrix.test
TO=90 # seconds any one client run may take

# ---- DNS and ports ----------------------------------------------------------------------------
knot_start "$Z" || { notok "knotd serves $Z"; exit 1; }
for h in cb-http www.cb-http lg-http www.lg-http lg-tls ua-tls dh-http nd-http nd-tls \
	n50-cb n50-lg n50-nd; do
	knot_set "$Z" "$h" 60 A 127.0.0.1 || { notok "knot_set $h.$Z A"; exit 1; }
done
ok "knotd serves $Z on 127.0.0.1:$KNOT_PORT, the test names at 127.0.0.1"
export KNOT_DIR KNOT_PORT KNOT_ZONE=$Z KNOT_HOOK_LOG=$T/hook.log

HTTP_PORT=$(free_port)
TLS_PORT=$(free_port)
printf '{"httpPort": %s, "tlsPort": %s}\n' "$HTTP_PORT" "$TLS_PORT" >"$T/cobble.json"

# ---- helpers ----------------------------------------------------------------------------------
ncerts() { grep -c -- '-----BEGIN CERTIFICATE-----' "$1" 2>/dev/null || echo 0; }
sans_of() {
	openssl x509 -noout -ext subjectAltName -in "$1" | tail -n +2 | tr ',' '\n' | sed 's/^ *//; /^$/d' | sort
}
# split_pem FILE DIR: the first certificate to DIR/leaf.pem, the rest to DIR/chain.pem.
split_pem() {
	mkdir -p "$2"
	rm -f "$2/leaf.pem" "$2/chain.pem"
	awk -v d="$2" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (n == 1 ? d "/leaf.pem" : d "/chain.pem") }' "$1"
}
# the cobble log from $LOG_MARK on (the current cobble's lines)
log_now() { tail -n +"$((LOG_MARK + 1))" "$COBBLE_LOG"; }

# client_run LABEL CMD...: run one client (bounded by timeout); ok when it exits 0. Its output is
# in $T/out/LABEL (with spaces as _); the tail goes to the log on failure.
client_run() {
	local label=$1; shift
	OUT=$T/out/${label// /_}
	mkdir -p "$T/out"
	local rc=0
	timeout -k 5 "$TO" "$@" >"$OUT" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$label: the client succeeded"
	else
		notok "$label: the client succeeded (exit $rc$([ $rc = 124 ] && echo ", killed after $TO s"))"
		grep -v '^$' "$OUT" | tail -n 25 | sed 's/^/    # /'
	fi
	return $rc
}

# check_issued LABEL TYPE PEM CHAIN NAME...: PEM's first certificate is a leaf for exactly NAME...
# whose chain (CHAIN, or the rest of PEM when CHAIN is "-") verifies against /roots/0, and cobble
# logged a real, valid TYPE validation for each name.
check_issued() {
	local label=$1 type=$2 pem=$3 chain=$4; shift 4
	local d=$T/certs/${label// /_} want got n v
	if [ ! -s "$pem" ] || [ "$(ncerts "$pem")" -lt 1 ]; then
		notok "$label: a certificate was written ($pem)"
		return 1
	fi
	split_pem "$pem" "$d"
	[ "$chain" = - ] && chain=$d/chain.pem
	if v=$(openssl verify -purpose sslserver -CAfile "$T/root.pem" -untrusted "$chain" "$d/leaf.pem" 2>&1); then
		ok "$label: openssl verify -CAfile /roots/0 -untrusted <intermediates> <leaf>: OK"
	else
		notok "$label: openssl verify -CAfile /roots/0 -untrusted <intermediates> <leaf>: OK"
		echo "$v" | sed 's/^/    # /'
	fi
	want=$(printf 'DNS:%s\n' "$@" | sort)
	got=$(sans_of "$d/leaf.pem")
	if [ "$got" = "$want" ]; then
		ok "$label: the leaf names exactly $*"
	else
		notok "$label: the leaf names exactly $*"
		echo "$got" | sed 's/^/    # got: /'
	fi
	local missing=()
	for n in "$@"; do
		log_now | grep -qF "validation $type $n account=" &&
			log_now | grep -F "validation $type $n account=" | tail -1 | grep -qE -- '-> valid \(' ||
			missing+=("$n")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		ok "$label: cobble validated each name by $type for real"
	else
		notok "$label: cobble validated each name by $type for real"
		echo "    # no valid $type validation logged for: ${missing[*]}"
		log_now | grep -E 'validation ' | tail -5 | sed 's/^/    #   /'
	fi
}

# check_txt_gone LABEL NAME...: no _acme-challenge TXT is left at NAME... (the cleanup hook ran).
check_txt_gone() {
	local label=$1; shift
	local n left=""
	for n in "$@"; do
		[ -z "$(knot_dig +short "_acme-challenge.$n" TXT)" ] || left="$left _acme-challenge.$n"
	done
	if [ -z "$left" ]; then ok "$label: the cleanup hook removed the TXT records"; else notok "$label: the cleanup hook removed the TXT records (left:$left)"; fi
}

# check_hook_set LABEL COUNT FQDN: the hooks published COUNT TXT values at FQDN (knot-txt.sh's log).
check_hook_set() {
	local got
	got=$(grep -cE "^(set|present) ${3//./\\.}\. " "$T/hook.log" 2>/dev/null)
	check "$1: the hook published $2 TXT value(s) at $3 through knotc" test "${got:-0}" = "$2"
}

certbot_cmd() {
	CMD=(env REQUESTS_CA_BUNDLE="$CA_BUNDLE" certbot certonly --server "$DIR_URL" --non-interactive
		--agree-tos -m certbot@example.test --no-eff-email
		--config-dir "$CB" --work-dir "$CB/work" --logs-dir "$CB/logs" "$@")
}
lego_cmd() {
	CMD=(env LEGO_CA_CERTIFICATES="$CA_BUNDLE" lego --server "$DIR_URL" --accept-tos
		--email lego@example.test --path "$LG" "$@")
}
node_cmd() {
	local js=challenge-client.js
	[ "$1" = --count ] && js=nonce-rate.js
	CMD=(env NODE_EXTRA_CA_CERTS="$CA_BUNDLE" node "$NODE_DIR/$js" --directory "$DIR_URL" "$@")
}

# start_run N ENV...: cobble with real validation, the ports and Knot above, and ENV...
start_run() {
	local n=$1; shift
	LOG_MARK=$(cat "$T/cobble.log" 2>/dev/null | wc -l) # start_cobble appends to this log
	start_cobble COBBLE_VA_NOSLEEP=1 "$@" -- -dnsserver "127.0.0.1:$KNOT_PORT" -config "$T/cobble.json" ||
		{ notok "cobble starts (run $n)"; exit 1; }
	if log_now | grep -q ALWAYS_VALID; then notok "run $n: cobble validates for real"; exit 1; fi
	mgmt /roots/0 >"$T/root.pem" && grep -q 'BEGIN CERTIFICATE' "$T/root.pem" ||
		{ notok "run $n: the management listener gives /roots/0"; exit 1; }
	ok "run $n: cobble validates for real ($*; httpPort $HTTP_PORT, tlsPort $TLS_PORT, resolver 127.0.0.1:$KNOT_PORT)"
}

# conformance_artifact RUN: what each client's conformance report says (README "What real clients
# do"), kept as build/artifacts/conformance-matrix-RUN.{json,txt}, the findings per User-Agent in the log.
conformance_artifact() {
	local art=$ROOT/${COBBLE_BUILD:-build}/artifacts rc=0
	mkdir -p "$art"
	mgmt /conformance >"$T/conf-$1.json"
	cp "$T/conf-$1.json" "$art/conformance-matrix-$1.json"
	"$COBBLE_BIN" report "https://localhost:$MGMT_PORT" -ca-bundle "$CA_BUNDLE" >"$art/conformance-matrix-$1.txt" 2>&1 || rc=$?
	jq_ok "$1: the conformance report counts the requests of every client that ran" "conf-$1" \
		'[.userAgents[] | select(.requests > 0)] | length >= 1'
	check "$1: cobble report on it gives a verdict (exit 0 or 1), not an error" test "$rc" -le 1
	jq -r '.userAgents[] | "# \(.userAgent[0:60]): \(.requests) requests; " +
		([.findings[] | "\(.id) x\(.count)"] | join(", ") | if . == "" then "no finding" else . end)' \
		"$T/conf-$1.json" 2>/dev/null
}

# ================= run 1: every client, every method, no nonce refused =================
start_run 1 COBBLE_WFE_NONCEREJECT=0

# ---- certbot ----
if have certbot; then
	CB=$T/certbot
	certbot_cmd --cert-name http --standalone --http-01-address 127.0.0.1 --http-01-port "$HTTP_PORT" \
		-d cb-http.$Z -d www.cb-http.$Z
	client_run "certbot http-01 (standalone)" "${CMD[@]}" &&
		check_issued "certbot http-01" http-01 "$CB/live/http/cert.pem" "$CB/live/http/chain.pem" cb-http.$Z www.cb-http.$Z

	certbot_cmd --cert-name dns --manual --preferred-challenges dns \
		--manual-auth-hook "$HOOKS/certbot-dns.sh auth" --manual-cleanup-hook "$HOOKS/certbot-dns.sh cleanup" \
		-d "*.cb-dns.$Z" -d cb-dns.$Z
	if client_run "certbot dns-01 (manual hooks, knotc)" "${CMD[@]}"; then
		check_issued "certbot dns-01" dns-01 "$CB/live/dns/cert.pem" "$CB/live/dns/chain.pem" "*.cb-dns.$Z" cb-dns.$Z
		check_hook_set "certbot dns-01" 2 "_acme-challenge.cb-dns.$Z"
		check_txt_gone "certbot dns-01" cb-dns.$Z
	fi
else
	skip "certbot" "certbot is not installed"
fi

# ---- lego ----
if have lego; then
	LG=$T/lego
	lego_cmd -d lg-http.$Z -d www.lg-http.$Z --http --http.port "127.0.0.1:$HTTP_PORT" run
	client_run "lego http-01" "${CMD[@]}" &&
		check_issued "lego http-01" http-01 "$LG/certificates/lg-http.$Z.crt" "$LG/certificates/lg-http.$Z.issuer.crt" \
			lg-http.$Z www.lg-http.$Z

	lego_cmd -d lg-tls.$Z --tls --tls.port "127.0.0.1:$TLS_PORT" run
	client_run "lego tls-alpn-01" "${CMD[@]}" &&
		check_issued "lego tls-alpn-01" tls-alpn-01 "$LG/certificates/lg-tls.$Z.crt" "$LG/certificates/lg-tls.$Z.issuer.crt" lg-tls.$Z

	lego_cmd -d "*.lg-dns.$Z" -d lg-dns.$Z --dns exec --dns.resolvers "127.0.0.1:$KNOT_PORT" --dns.disable-cp run
	CMD=(env EXEC_PATH="$HOOKS/knot-txt.sh" EXEC_POLLING_INTERVAL=1 EXEC_PROPAGATION_TIMEOUT=30 EXEC_SEQUENCE_INTERVAL=1 "${CMD[@]}")
	if client_run "lego dns-01 (exec, knotc)" "${CMD[@]}"; then
		check_issued "lego dns-01" dns-01 "$LG/certificates/_.lg-dns.$Z.crt" "$LG/certificates/_.lg-dns.$Z.issuer.crt" \
			"*.lg-dns.$Z" lg-dns.$Z
		check_hook_set "lego dns-01" 2 "_acme-challenge.lg-dns.$Z"
		check_txt_gone "lego dns-01" lg-dns.$Z
	fi
else
	skip "lego" "lego is not installed"
fi

# ---- uacme ----
# uacme (libcurl-gnutls) has no option or variable for the CA bundle: it trusts the system store
# only. It runs in a private mount namespace where cobble's bundle is bind-mounted over
# /etc/ssl/certs/ca-certificates.crt, so TLS is verified against cobble's root and nothing
# outside changes. Needs CAP_SYS_ADMIN (as unshare -n does).
UA_TRUST=(unshare -m --propagation private sh -c
	'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && shift && exec "$@"' "$T/uacme-trust.pem")
if ! have uacme || ! have ualpn; then
	skip "uacme" "uacme/ualpn is not installed"
elif ! cp "$CA_BUNDLE" "$T/uacme-trust.pem" || ! "${UA_TRUST[@]}" _ true 2>/dev/null; then
	skip "uacme" "no private mount namespace here (unshare -m) to make uacme trust cobble's bundle"
else
	UA=$T/uacme
	ua() { CMD=("${UA_TRUST[@]}" _ uacme -v -c "$UA" -a "$DIR_URL" "$@"); }
	ua -y new uacme@example.test
	if client_run "uacme account" "${CMD[@]}"; then
		ua -h "$HOOKS/uacme.sh" issue ua-dns.$Z www.ua-dns.$Z
		if client_run "uacme dns-01 (hook, knotc)" env UACME_CHALLENGE=dns-01 "${CMD[@]}"; then
			check_issued "uacme dns-01" dns-01 "$UA/ua-dns.$Z/cert.pem" - ua-dns.$Z www.ua-dns.$Z
			check_hook_set "uacme dns-01" 1 "_acme-challenge.ua-dns.$Z"
			check_txt_gone "uacme dns-01" ua-dns.$Z www.ua-dns.$Z
		fi

		# ualpn: server mode on tlsPort (its proxy backend is an unused port: only acme-tls/1 is asked)
		ualpn -v -b "127.0.0.1@$TLS_PORT" -c "127.0.0.1@$(free_port)" -n 1 -s "$T/ualpn.sock" -S 600 \
			-p "$T/ualpn.pid" -l "$T/ualpn.log" >"$T/ualpn.out" 2>&1 &
		UALPN_PID=$!
		_pids+=("$UALPN_PID")
		if wait_for 10 test -S "$T/ualpn.sock" && wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$TLS_PORT"; then
			ua -h "$HOOKS/uacme.sh" issue ua-tls.$Z
			client_run "uacme tls-alpn-01 (ualpn)" env UACME_CHALLENGE=tls-alpn-01 UALPN_SOCK="$T/ualpn.sock" "${CMD[@]}" &&
				check_issued "uacme tls-alpn-01" tls-alpn-01 "$UA/ua-tls.$Z/cert.pem" - ua-tls.$Z
		else
			notok "ualpn listens on 127.0.0.1:$TLS_PORT"
			sed 's/^/    # /' "$T/ualpn.out" "$T/ualpn.log" 2>/dev/null | tail -10
		fi
		kill "$UALPN_PID" 2>/dev/null
		wait "$UALPN_PID" 2>/dev/null
	fi
fi

# ---- dehydrated ----
if have dehydrated; then
	DH=$T/dehydrated
	mkdir -p "$DH" "$T/dh-www/.well-known/acme-challenge"
	cat >"$DH/config" <<-EOF
	CA="$DIR_URL"
	BASEDIR="$DH"
	WELLKNOWN="$T/dh-www/.well-known/acme-challenge"
	CONTACT_EMAIL=dehydrated@example.test
	EOF
	dh() { CMD=(env CURL_CA_BUNDLE="$CA_BUNDLE" dehydrated --config "$DH/config" "$@"); }
	dh --register --accept-terms
	if client_run "dehydrated account" "${CMD[@]}"; then
		"$PY" -m http.server --bind 127.0.0.1 --directory "$T/dh-www" "$HTTP_PORT" >"$T/dh-httpd.log" 2>&1 &
		HTTPD_PID=$!
		_pids+=("$HTTPD_PID")
		if wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/"; then
			dh --cron --challenge http-01 -d dh-http.$Z
			client_run "dehydrated http-01 (WELLKNOWN, python3 -m http.server)" "${CMD[@]}" &&
				check_issued "dehydrated http-01" http-01 "$DH/certs/dh-http.$Z/cert.pem" "$DH/certs/dh-http.$Z/chain.pem" dh-http.$Z
		else
			notok "python3 -m http.server listens on 127.0.0.1:$HTTP_PORT"
		fi
		kill "$HTTPD_PID" 2>/dev/null
		wait "$HTTPD_PID" 2>/dev/null

		dh --cron --challenge dns-01 --hook "$HOOKS/dehydrated.sh" -d dh-dns.$Z -d www.dh-dns.$Z
		if client_run "dehydrated dns-01 (hook, knotc)" "${CMD[@]}"; then
			check_issued "dehydrated dns-01" dns-01 "$DH/certs/dh-dns.$Z/cert.pem" "$DH/certs/dh-dns.$Z/chain.pem" \
				dh-dns.$Z www.dh-dns.$Z
			check_hook_set "dehydrated dns-01" 1 "_acme-challenge.dh-dns.$Z"
			check_txt_gone "dehydrated dns-01" dh-dns.$Z www.dh-dns.$Z
		fi
	fi
else
	skip "dehydrated" "dehydrated is not installed"
fi

# ---- the npm acme-client ----
if have_node; then
	node_cmd --account-key "$T/node-acct.pem" --type http-01 --identifiers nd-http.$Z --http-port "$HTTP_PORT" \
		--cert-out "$T/node-http.pem"
	client_run "acme-client http-01" "${CMD[@]}" &&
		check_issued "acme-client http-01" http-01 "$T/node-http.pem" - nd-http.$Z

	node_cmd --account-key "$T/node-acct.pem" --type dns-01 --identifiers "*.nd-dns.$Z,nd-dns.$Z" \
		--dns-hook "$HOOKS/knot-txt.sh" --cert-out "$T/node-dns.pem"
	if client_run "acme-client dns-01 (knotc)" "${CMD[@]}"; then
		check_issued "acme-client dns-01" dns-01 "$T/node-dns.pem" - "*.nd-dns.$Z" nd-dns.$Z
		check_hook_set "acme-client dns-01" 2 "_acme-challenge.nd-dns.$Z"
		check_txt_gone "acme-client dns-01" nd-dns.$Z
	fi

	node_cmd --account-key "$T/node-acct.pem" --type tls-alpn-01 --identifiers nd-tls.$Z --tls-port "$TLS_PORT" \
		--cert-out "$T/node-tls.pem"
	client_run "acme-client tls-alpn-01" "${CMD[@]}" &&
		check_issued "acme-client tls-alpn-01" tls-alpn-01 "$T/node-tls.pem" - nd-tls.$Z
else
	skip "acme-client" "node or test/node/node_modules is missing (npm ci --prefix test/node)"
fi

conformance_artifact run1
stop_cobble

# ================= run 2: half the nonces refused =================
# RFC 8555 §6.5: a client retries a badNonce with the Replay-Nonce of the error. Each client
# gets one run: it must show that it retried and get its certificate. A client that gave up
# only because the refusals outnumbered its own retry limit (certbot retries a request once,
# acme-client five times, lego backs off for up to 20 s) is reported as a SKIP naming that
# limit, never rerun.
start_run 2 COBBLE_WFE_NONCEREJECT=50

# nonce_outcome LABEL RC RETRIED GAVEUP TYPE PEM CHAIN NAME...: the TAP lines of one 50% run.
# RETRIED and GAVEUP are commands: did the client retry a badNonce; did it end on one.
nonce_outcome() {
	local label=$1 rc=$2 retried=$3 gaveup=$4 type=$5 pem=$6 chain=$7; shift 7
	local refused
	refused=$(log_now | grep -c 'nonce refused on purpose')
	if eval "$retried" >/dev/null 2>&1; then
		ok "$label: retried after a deliberate badNonce"
	elif [ "$refused" -eq "${REFUSED_BEFORE:-0}" ]; then
		# at 50% a short run sees no refusal now and then (0.5^n): nothing to retry, nothing shown
		skip "$label: retried after a deliberate badNonce" "cobble refused none of this client's nonces by chance"
	else
		notok "$label: retried after a deliberate badNonce"
		grep -v '^$' "$OUT" | tail -n 15 | sed 's/^/    # /'
	fi
	if [ "$rc" -eq 0 ]; then
		ok "$label: the client succeeded"
		check_issued "$label" "$type" "$pem" "$chain" "$@"
	elif eval "$gaveup" >/dev/null 2>&1; then
		skip "$label: the client succeeded" "it gave up on a badNonce after its own retry limit ($LIMIT; cobble refused $(log_now | grep -c 'nonce refused on purpose') nonces so far)"
		grep -h 'badNonce' "$OUT" ${LAST_LOG:-} 2>/dev/null | tail -n 1 | cut -c1-300 | sed 's/^/    # last: /'
	else
		notok "$label: the client succeeded (exit $rc)"
		grep -v '^$' "$OUT" | tail -n 25 | sed 's/^/    # /'
	fi
}
run_quiet() {
	OUT=$T/out/$1; shift; mkdir -p "$T/out"
	REFUSED_BEFORE=$(log_now | grep -c 'nonce refused on purpose')
	local rc=0; timeout -k 5 "$TO" "$@" >"$OUT" 2>&1 || rc=$?; return $rc
}

if have lego; then
	LG=$T/lego50
	lego_cmd -d n50-lg.$Z --http --http.port "127.0.0.1:$HTTP_PORT" run
	rc=0; run_quiet lego50 "${CMD[@]}" || rc=$?
	LIMIT="exponential backoff from 0.2 s, 20 s per request, acme/api/api.go retrievablePost"
	nonce_outcome "lego at 50% badNonce" "$rc" "grep -q 'retry due to: .*badNonce' $OUT" \
		"tail -n 3 $OUT | grep -q badNonce" \
		http-01 "$LG/certificates/n50-lg.$Z.crt" "$LG/certificates/n50-lg.$Z.issuer.crt" n50-lg.$Z
fi
if have certbot; then
	CB=$T/certbot50
	certbot_cmd --cert-name n50 --standalone --http-01-address 127.0.0.1 --http-01-port "$HTTP_PORT" -d n50-cb.$Z
	rc=0; run_quiet certbot50 "${CMD[@]}" || rc=$?
	# When it gives up, certbot 2.1.0 on Python 3.11 prints "AttributeError: can't set attribute"
	# (josepy's immutable acme.messages.Error under contextlib); the real error is in its log.
	LIMIT="1 retry of a request, acme/client.py ClientNetwork.post" LAST_LOG=$CB/logs/letsencrypt.log
	nonce_outcome "certbot at 50% badNonce" "$rc" "grep -q 'Retrying request after error' $CB/logs/letsencrypt.log" \
		"grep 'acme.messages.Error: ' $CB/logs/letsencrypt.log | tail -n 1 | grep -q badNonce" \
		http-01 "$CB/live/n50/cert.pem" "$CB/live/n50/chain.pem" n50-cb.$Z
fi
if have_node; then
	node_cmd --account-key "$T/node50-acct.pem" --type http-01 --identifiers n50-nd.$Z --http-port "$HTTP_PORT" \
		--cert-out "$T/node50.pem"
	rc=0; run_quiet node50 "${CMD[@]}" || rc=$?
	LIMIT="5 retries of a request, HttpClient.maxBadNonceRetries" LAST_LOG=
	nonce_outcome "acme-client at 50% badNonce" "$rc" "jq -e '.badNonceRetries > 0' $OUT" \
		"jq -e '(.error.type // \"\") == \"urn:ietf:params:acme:error:badNonce\" or ((.error.message // \"\") | test(\"badNonce|nonce refused\"))' $OUT" \
		http-01 "$T/node50.pem" - n50-nd.$Z
fi
echo "# run 2: the clients' runs: cobble refused $(log_now | grep -c 'nonce refused on purpose') of $(log_now | grep -c 'acme POST') POSTs for a bad nonce on purpose"
conformance_artifact run2 # before the nonce-rate measure below, which never retries on purpose

# The knob's meaning (Pebble: the percentage of valid nonces refused): 2000 fresh nonces, no
# retry; 50% ± 4 points is more than 3.5 standard deviations (1.1 points) either way.
if have_node; then
	node_cmd --count 2000
	if run_quiet nonce-rate "${CMD[@]}" && jq -e '.rate >= 0.46 and .rate <= 0.54' "$OUT" >/dev/null; then
		ok "COBBLE_WFE_NONCEREJECT=50 refuses 50% of valid nonces ($(jq -r '"\(.refused) of \(.count)"' "$OUT"))"
	else
		notok "COBBLE_WFE_NONCEREJECT=50 refuses 50% of valid nonces (46-54% of 2000)"
		sed 's/^/    # /' "$OUT" | head -5
	fi
fi
stop_cobble
