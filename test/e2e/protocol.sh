#!/usr/bin/env bash
# End-to-end: every RFC 8555 resource through a raw-protocol client (test/e2e/acme_protocol.py,
# Debian's python3-cryptography and python3-requests): exact status codes, Content-Types and
# problem types, bad input that changes nothing, four clients in parallel. Then a second server
# that validates for real (and fails: nothing answers on loopback) after a pause, to see
# challenges while "processing" and the invalid path. Then external account binding (RFC 8555
# §7.3.4) required, with the raw client and with lego's --eab.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "$0")/../lib/common.sh"

PY=/usr/bin/python3 # Debian's interpreter, where python3-cryptography and python3-requests live
if ! "$PY" -c 'import cryptography, requests' 2>/dev/null; then
	skip "ACME protocol end-to-end" "python3-cryptography or python3-requests is not installed"
	exit 0
fi
[ -x "$COBBLE_BIN" ] || { notok "cobble binary $COBBLE_BIN exists"; exit 1; }

client() { py_tap acme_protocol.py "$@"; }

# Port 9 (discard) on loopback: nothing answers, so a real validation fails at once.
if start_cobble COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 COBBLE_AUTHZREUSE=0 \
	COBBLE_ALTERNATE_ROOTS=10 -- -dnsserver 127.0.0.1:9; then
	ok "cobble starts (every challenge valid, no nonce refused, no authorization reuse, ten alternate roots)"
	ALTERNATE_ROOTS=10 client main
	if kill -0 "$COBBLE_PID" 2>/dev/null; then ok "cobble is still running after the protocol checks"
	else notok "cobble is still running after the protocol checks"; tail -30 "$COBBLE_LOG" | sed 's/^/    # /'; fi
	stop_cobble
else
	notok "cobble starts"
fi

if start_cobble COBBLE_VA_SLEEPTIME=3 COBBLE_WFE_NONCEREJECT=0 COBBLE_AUTHZREUSE=0 -- -dnsserver 127.0.0.1:9; then
	ok "cobble starts (real validation after a random pause of up to 3 s)"
	client slow
	if kill -0 "$COBBLE_PID" 2>/dev/null; then ok "cobble is still running after the slow-validation checks"
	else notok "cobble is still running after the slow-validation checks"; tail -30 "$COBBLE_LOG" | sed 's/^/    # /'; fi
	stop_cobble
else
	notok "cobble starts for the slow-validation checks"
fi

if start_cobble COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 -- -strict; then
	ok "cobble starts with -strict"
	client strict
	stop_cobble
else
	notok "cobble starts with -strict"
fi

# External account binding required: config/eab.json, with the MAC keys of Pebble's
# test/config/pebble-config-external-account-bindings.json (48-byte keys, unpadded base64url).
EAB_CONFIG=$ROOT/config/eab.json
KID1=kid-1 KEY1=$(jq -r '.externalAccountMACKeys["kid-1"]' "$EAB_CONFIG")
KID2=kid-2 KEY2=$(jq -r '.externalAccountMACKeys["kid-2"]' "$EAB_CONFIG")
if start_cobble COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 -- -config "$EAB_CONFIG"; then
	ok "cobble starts on config/eab.json, requiring external account binding"
	client eab --eab-key "$KID1=$KEY1" --eab-key "$KID2=$KEY2"
	if command -v lego >/dev/null; then
		LG=$T/lego
		lego_eab() {
			env LEGO_CA_CERTIFICATES="$CA_BUNDLE" lego --server "$DIR_URL" --accept-tos --email eab@example.test \
				--path "$LG" --eab "$@" -d eab.example.test --http --http.port "127.0.0.1:$(free_port)" run \
				>"$T/lego.out" 2>&1
		}
		if ! lego_eab --kid "$KID1" --hmac "$KEY2" && grep -q 'unauthorized' "$T/lego.out" &&
			! ls "$LG"/accounts/*/*/account.json >/dev/null 2>&1; then
			ok "lego --eab with another kid's --hmac is refused (unauthorized), no account saved"
		else
			notok "lego --eab with another kid's --hmac is refused (unauthorized), no account saved"
			tail -5 "$T/lego.out" | sed 's/^/    # /'
		fi
		rm -rf "$LG"
		if lego_eab --kid "$KID2" --hmac "$KEY2"; then
			ok "lego --eab --kid $KID2 --hmac KEY: account and certificate"
			acct=$LG/accounts/localhost_$ACME_PORT/eab@example.test/account.json
			check "lego: its account shows the binding for $KID2" "$PY" -c '
import base64, json, sys
eab = json.load(open(sys.argv[1]))["registration"]["body"]["externalAccountBinding"]
prot = json.loads(base64.urlsafe_b64decode(eab["protected"] + "=" * (-len(eab["protected"]) % 4)))
sys.exit(0 if prot["kid"] == sys.argv[2] and prot["alg"] == "HS256" else 1)' "$acct" "$KID2"
			check "lego: the certificate is for eab.example.test" sh -c \
				"openssl x509 -noout -ext subjectAltName -in '$LG/certificates/eab.example.test.crt' | grep -q 'DNS:eab.example.test'"
		else
			notok "lego --eab --kid $KID2 --hmac KEY: account and certificate"; tail -25 "$T/lego.out" | sed 's/^/    # /'
		fi
	else
		skip "lego with --eab" "lego is not installed"
	fi
	stop_cobble
else
	notok "cobble starts requiring external account binding"
fi
