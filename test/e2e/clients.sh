#!/usr/bin/env bash
# clients: real ACME clients from Debian (lego, certbot) against cobble in always-valid mode.
# Each registers an account, gets a three-name certificate (http-01) and a wildcard one (dns-01),
# verifies the chain against the root of the management listener with openssl, checks the SANs,
# revokes, and sees the revocation and its reason at /cert-status-by-serial. Run 1 keeps the default
# 5% badNonce rejection (clients must retry); run 2 has none, 3 intermediates and an alternate root,
# and takes the alternate chain with each client's --preferred-chain.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "$0")/../lib/common.sh"

for tool in lego certbot openssl jq curl; do
	command -v "$tool" >/dev/null || { skip "ACME clients end-to-end" "$tool is not installed"; exit 0; }
done
[ -x "$COBBLE_BIN" ] || { notok "cobble binary $COBBLE_BIN exists"; exit 1; }
PY=/usr/bin/python3 # Debian's, the one certbot runs on

MULTI=(a.example.test b.example.test c.example.test)
WILD=("*.example.test" example.test)

# A DNS responder for lego's pre-check (--dns.resolvers): answers every query NOERROR, no records.
# With --dns.disable-cp lego only needs an answer; cobble, always valid, asks no DNS at all.
cat >"$T/stubdns.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    q, a = s.recvfrom(4096)
    i = 12  # the question: labels up to the root, then type and class
    while i < len(q) and q[i]:
        i += 1 + q[i]
    if len(q) < i + 5 or q[4:6] != b"\0\1":
        continue
    # same id and question; QR AA (RD copied) RA; NOERROR; no records
    s.sendto(q[:2] + bytes([0x84 | (q[2] & 1), 0x80, 0, 1, 0, 0, 0, 0, 0, 0]) + q[12:i + 5], a)
EOF
# The DNS hooks record what they are asked to publish (lego exec: "present FQDN VALUE").
cat >"$T/lego-hook.sh" <<EOF
#!/bin/sh
echo "\$*" >>"$T/lego-hook.log"
EOF
cat >"$T/certbot-hook.sh" <<EOF
#!/bin/sh
echo "\$CERTBOT_DOMAIN \$CERTBOT_VALIDATION" >>"$T/certbot-hook.log"
EOF
chmod +x "$T/lego-hook.sh" "$T/certbot-hook.sh"
DNS_PORT=$(free_port)
bg "$PY" "$T/stubdns.py" "$DNS_PORT"

# ---- helpers ----

# run_logged NAME CMD...: ok when CMD exits 0; its output in $T/cmd.out, the tail in the log on failure.
run_logged() {
	local name=$1; shift
	if "$@" >"$T/cmd.out" 2>&1; then
		ok "$name"
	else
		notok "$name"
		grep -v '^$' "$T/cmd.out" | tail -n 25 | sed 's/^/    # /'
		return 1
	fi
}

# certbot_run NAME ARGS...: certbot against the running cobble, trusting only its bundle. certbot
# retries a badNonce once (acme.client.ClientV2.post); with 5% of nonces refused on purpose, two
# refusals in a row (0.25% of requests) end a run: then, and only then, run it once more.
certbot_run() {
	local name=$1; shift
	local cmd=(env REQUESTS_CA_BUNDLE="$CA_BUNDLE" certbot "$@" --server "$DIR_URL" --non-interactive
		--config-dir "$CB" --work-dir "$CB/work" --logs-dir "$CB/logs")
	local rc=0
	"${cmd[@]}" >"$T/cmd.out" 2>&1 || rc=$?
	# certbot 2.1.0 on Python 3.11 can hide the real error behind "AttributeError: can't set
	# attribute" (certbot #9539, fixed in 2.2.0): its own log of this run has the real one
	if [ "$rc" -ne 0 ] && grep -q 'nonce refused on purpose' "$T/cmd.out" "$CB/logs/letsencrypt.log" 2>/dev/null; then
		echo "# $name: certbot gave up after two deliberate badNonce refusals in a row; once more"
		rc=0
		"${cmd[@]}" >"$T/cmd.out" 2>&1 || rc=$?
	fi
	if [ "$rc" -eq 0 ]; then
		ok "$name"
	else
		notok "$name"
		grep -v '^$' "$T/cmd.out" | tail -n 25 | sed 's/^/    # /'
		return 1
	fi
}

# lego_run NAME ARGS...: lego against the running cobble, trusting only its bundle.
lego_run() {
	local name=$1; shift
	run_logged "$name" env LEGO_CA_CERTIFICATES="$CA_BUNDLE" EXEC_PATH="$T/lego-hook.sh" \
		EXEC_PROPAGATION_TIMEOUT=20 EXEC_POLLING_INTERVAL=1 EXEC_SEQUENCE_INTERVAL=1 \
		lego --server "$DIR_URL" --accept-tos --email lego@example.test --path "$LG" "$@"
}

serial_of() { openssl x509 -noout -serial -in "$1" | sed 's/^serial=//'; }
ncerts() { grep -c -- '-----BEGIN CERTIFICATE-----' "$1"; }
# The SAN entries of a certificate, one a line, sorted.
sans_of() {
	openssl x509 -noout -ext subjectAltName -in "$1" | tail -n +2 | tr ',' '\n' | sed 's/^ *//; /^$/d' |
		sort
}

# check_cert LABEL LEAF INTERMEDIATES ROOT NINTER NAME...: the chain has NINTER intermediates and
# verifies to ROOT for TLS servers, the SANs are exactly the names, cobble has it as Valid.
check_cert() {
	local label=$1 leaf=$2 inter=$3 root=$4 n=$5; shift 5
	local want got serial
	check "$label: leaf is a single certificate" test "$(ncerts "$leaf")" = 1
	check "$label: $n intermediate(s) in the chain" test "$(ncerts "$inter")" = "$n"
	check "$label: openssl verify against /roots/0" \
		openssl verify -purpose sslserver -CAfile "$root" -untrusted "$inter" "$leaf"
	want=$(printf 'DNS:%s\n' "$@" | sort)
	got=$(sans_of "$leaf")
	if [ "$got" = "$want" ]; then
		ok "$label: SANs are exactly $*"
	else
		notok "$label: SANs are exactly $*"
		echo "$got" | sed 's/^/    # got: /'
	fi
	serial=$(serial_of "$leaf")
	check "$label: /cert-status-by-serial/$serial says Valid" \
		bash -c '[ "$(curl -sS --cacert "$1" "$2" | jq -r .Status)" = Valid ]' _ "$CA_BUNDLE" \
		"https://localhost:$MGMT_PORT/cert-status-by-serial/$serial"
}

# check_revoked LABEL LEAF REASON: /cert-status-by-serial says Revoked, with REASON and a time.
check_revoked() {
	local label=$1 leaf=$2 reason=$3 serial
	serial=$(serial_of "$leaf")
	mgmt "/cert-status-by-serial/$serial" >"$T/status.json" 2>&1
	if jq -e --argjson r "$reason" '.Status == "Revoked" and .Reason == $r and (.RevokedAt | length) > 0' \
		"$T/status.json" >/dev/null 2>&1; then
		ok "$label: Revoked with reason $reason at /cert-status-by-serial/$serial"
	else
		notok "$label: Revoked with reason $reason at /cert-status-by-serial/$serial"
		sed 's/^/    # /' "$T/status.json" | grep -v Certificate | head -10
	fi
}

# split_pem FILE OUTDIR: first certificate to OUTDIR/leaf.pem, the rest to OUTDIR/chain.pem.
split_pem() {
	mkdir -p "$2"
	awk -v d="$2" '/-----BEGIN CERTIFICATE-----/ { n++ } { print > (n == 1 ? d "/leaf.pem" : d "/chain.pem") }' "$1"
}

# ================= run 1: default nonce rejection (5%), 1 intermediate =================
echo "# run 1: COBBLE_VA_ALWAYS_VALID=1, default COBBLE_WFE_NONCEREJECT (5%), one intermediate"
start_cobble COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 || { notok "cobble starts (run 1)"; exit 1; }
mgmt /roots/0 >"$T/root0.pem"
check "run 1: /roots/0 is a certificate" openssl x509 -noout -in "$T/root0.pem"
LG=$T/lego1 CB=$T/certbot1

# --- lego: three names over http-01 ---
d=(); for n in "${MULTI[@]}"; do d+=(-d "$n"); done
if lego_run "lego: account and certificate for ${MULTI[*]} (http-01)" \
	"${d[@]}" --http --http.port "127.0.0.1:$(free_port)" run; then
	acct=$LG/accounts/localhost_$ACME_PORT/lego@example.test/account.json
	check "lego: its account is valid, at an account URL of cobble" jq -e --arg u "https://localhost:$ACME_PORT/" \
		'.registration.body.status == "valid" and (.registration.uri | startswith($u))' "$acct"
	split_pem "$LG/certificates/a.example.test.crt" "$T/lego-multi"
	check "lego multi: .crt is leaf plus .issuer.crt" cmp -s "$T/lego-multi/chain.pem" "$LG/certificates/a.example.test.issuer.crt"
	check_cert "lego multi" "$T/lego-multi/leaf.pem" "$LG/certificates/a.example.test.issuer.crt" "$T/root0.pem" 1 "${MULTI[@]}"
	lego_run "lego: revoke --reason 1" -d a.example.test revoke --reason 1 --keep &&
		check_revoked "lego multi" "$T/lego-multi/leaf.pem" 1
fi

# --- lego: wildcard over dns-01 (exec provider) ---
rm -f "$T/lego-hook.log"
if lego_run "lego: certificate for ${WILD[*]} (dns-01, exec)" -d "${WILD[0]}" -d "${WILD[1]}" \
	--dns exec --dns.resolvers "127.0.0.1:$DNS_PORT" --dns.disable-cp run; then
	check "lego wildcard: the exec hook was asked to present _acme-challenge.example.test. twice" \
		test "$(grep -c '^present _acme-challenge\.example\.test\. ' "$T/lego-hook.log")" = 2
	split_pem "$LG/certificates/_.example.test.crt" "$T/lego-wild"
	check_cert "lego wildcard" "$T/lego-wild/leaf.pem" "$LG/certificates/_.example.test.issuer.crt" "$T/root0.pem" 1 "${WILD[@]}"
	lego_run "lego: revoke the wildcard --reason 4" -d "${WILD[0]}" revoke --reason 4 --keep &&
		check_revoked "lego wildcard" "$T/lego-wild/leaf.pem" 4
fi

# --- certbot: three names over http-01 (standalone) ---
d=(); for n in "${MULTI[@]}"; do d+=(-d "$n"); done
if certbot_run "certbot: account and certificate for ${MULTI[*]} (http-01 standalone)" certonly \
	--agree-tos -m certbot@example.test --no-eff-email --cert-name multi "${d[@]}" \
	--standalone --http-01-address 127.0.0.1 --http-01-port "$(free_port)"; then
	# show_account: POST to the account URL (RFC 8555 §7.3.3 without changes)
	certbot_run "certbot: show_account" show_account &&
		check "certbot: show_account names an account URL of cobble and the e-mail" \
			bash -c 'grep -q "Account URL: https://localhost:$1/" "$2" && grep -q "certbot@example.test" "$2"' \
			_ "$ACME_PORT" "$T/cmd.out"
	live=$CB/live/multi
	check "certbot multi: fullchain.pem is cert.pem plus chain.pem" \
		bash -c 'cat "$1/cert.pem" "$1/chain.pem" | cmp -s - "$1/fullchain.pem"' _ "$live"
	check_cert "certbot multi" "$live/cert.pem" "$live/chain.pem" "$T/root0.pem" 1 "${MULTI[@]}"
	certbot_run "certbot: revoke --reason keycompromise" revoke --cert-path "$live/cert.pem" \
		--reason keycompromise --no-delete-after-revoke &&
		check_revoked "certbot multi" "$live/cert.pem" 1
fi

# --- certbot: wildcard over dns-01 (manual, hook) ---
rm -f "$T/certbot-hook.log"
if certbot_run "certbot: certificate for ${WILD[*]} (dns-01 manual)" certonly --cert-name wild \
	-d "${WILD[0]}" -d "${WILD[1]}" --manual --preferred-challenges dns \
	--manual-auth-hook "$T/certbot-hook.sh"; then
	check "certbot wildcard: the auth hook ran for example.test twice" \
		test "$(grep -c '^example\.test ' "$T/certbot-hook.log")" = 2
	live=$CB/live/wild
	check_cert "certbot wildcard" "$live/cert.pem" "$live/chain.pem" "$T/root0.pem" 1 "${WILD[@]}"
	certbot_run "certbot: revoke the wildcard --reason keycompromise" revoke --cert-path "$live/cert.pem" \
		--reason keycompromise --no-delete-after-revoke &&
		check_revoked "certbot wildcard" "$live/cert.pem" 1
fi
echo "# run 1: cobble refused $(grep -c 'nonce refused on purpose' "$COBBLE_LOG") of $(grep -c 'acme POST' "$COBBLE_LOG") POSTs for a bad nonce on purpose"
stop_cobble

# ====== run 2: no nonce rejection, 3 intermediates, one alternate root ======
LOG_MARK=$(wc -l <"$COBBLE_LOG") # start_cobble appends to the same log
echo "# run 2: COBBLE_WFE_NONCEREJECT=0 COBBLE_CHAIN_LENGTH=3 COBBLE_ALTERNATE_ROOTS=1"
start_cobble COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 COBBLE_CHAIN_LENGTH=3 \
	COBBLE_ALTERNATE_ROOTS=1 || { notok "cobble starts (run 2)"; exit 1; }
mgmt /roots/0 >"$T/root0.pem"
mgmt /roots/1 >"$T/root1.pem"
check "run 2: /roots/1 (the alternate root) is a certificate" openssl x509 -noout -in "$T/root1.pem"
ALT_CN=$(openssl x509 -noout -subject -nameopt multiline -in "$T/root1.pem" | sed -n 's/^ *commonName *= //p')
check "run 2: the alternate root has its own name ($ALT_CN)" \
	bash -c '[ -n "$1" ] && ! openssl x509 -noout -subject -in "$2" | grep -qF "$1"' _ "$ALT_CN" "$T/root0.pem"
LG=$T/lego2 CB=$T/certbot2

# top_issuer_is CHAIN CN: the last certificate of CHAIN was issued by CN.
top_issuer_is() {
	awk '/-----BEGIN CERTIFICATE-----/ { b = "" } { b = b $0 "\n" } END { printf "%s", b }' "$1" |
		openssl x509 -noout -issuer -nameopt multiline | grep -qE "^ *commonName *= $2\$"
}

# --- lego: default chain (3 intermediates to root 0), then the alternate via --preferred-chain ---
d=(); for n in "${MULTI[@]}"; do d+=(-d "$n"); done
if lego_run "lego: certificate with a 3-intermediate chain" "${d[@]}" --http --http.port "127.0.0.1:$(free_port)" run; then
	split_pem "$LG/certificates/a.example.test.crt" "$T/lego-long"
	check_cert "lego 3-chain" "$T/lego-long/leaf.pem" "$T/lego-long/chain.pem" "$T/root0.pem" 3 "${MULTI[@]}"
	check "lego 3-chain: does not verify against the alternate root" \
		bash -c '! openssl verify -CAfile "$1" -untrusted "$2" "$3"' _ "$T/root1.pem" "$T/lego-long/chain.pem" "$T/lego-long/leaf.pem"
	lego_run "lego: revoke (reason unspecified)" -d a.example.test revoke --keep &&
		check_revoked "lego 3-chain" "$T/lego-long/leaf.pem" 0
fi
if lego_run "lego: certificate with --preferred-chain \"$ALT_CN\"" -d alt.example.test \
	--http --http.port "127.0.0.1:$(free_port)" run --preferred-chain "$ALT_CN"; then
	split_pem "$LG/certificates/alt.example.test.crt" "$T/lego-alt"
	check "lego alternate: the chain's top issuer is $ALT_CN" top_issuer_is "$T/lego-alt/chain.pem" "$ALT_CN"
	check "lego alternate: 3 intermediates" test "$(ncerts "$T/lego-alt/chain.pem")" = 3
	check "lego alternate: openssl verify against /roots/1" \
		openssl verify -purpose sslserver -CAfile "$T/root1.pem" -untrusted "$T/lego-alt/chain.pem" "$T/lego-alt/leaf.pem"
fi

# --- certbot: --preferred-chain; its debug log shows the Link rel="alternate" of the download ---
if certbot_run "certbot: certificate with --preferred-chain \"$ALT_CN\"" certonly \
	--agree-tos -m certbot@example.test --no-eff-email --cert-name alt -d alt.example.test \
	--standalone --http-01-address 127.0.0.1 --http-01-port "$(free_port)" --preferred-chain "$ALT_CN"; then
	live=$CB/live/alt
	check "certbot: the certificate download carried Link: <…/alternate/1>;rel=\"alternate\"" \
		grep -qE '^Link: .*<https://localhost:[0-9]+/[^>]*/alternate/1>; *rel="alternate"' "$CB/logs/letsencrypt.log"
	check "certbot alternate: the chain's top issuer is $ALT_CN" top_issuer_is "$live/chain.pem" "$ALT_CN"
	check "certbot alternate: 3 intermediates" test "$(ncerts "$live/chain.pem")" = 3
	check "certbot alternate: openssl verify against /roots/1" \
		openssl verify -purpose sslserver -CAfile "$T/root1.pem" -untrusted "$live/chain.pem" "$live/cert.pem"
	check "certbot alternate: and not against /roots/0" \
		bash -c '! openssl verify -CAfile "$1" -untrusted "$2" "$3"' _ "$T/root0.pem" "$live/chain.pem" "$live/cert.pem"
	certbot_run "certbot: revoke --reason keycompromise (run 2)" revoke --cert-path "$live/cert.pem" \
		--reason keycompromise --no-delete-after-revoke &&
		check_revoked "certbot alternate" "$live/cert.pem" 1
fi
check "run 2: no badNonce with COBBLE_WFE_NONCEREJECT=0" \
	bash -c '! tail -n +"$2" "$1" | grep badNonce' _ "$COBBLE_LOG" "$((LOG_MARK + 1))"
stop_cobble
