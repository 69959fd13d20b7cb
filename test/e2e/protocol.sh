#!/usr/bin/env bash
# End-to-end: every RFC 8555 resource through a raw-protocol client (test/e2e/acme_protocol.py,
# Debian's python3-cryptography and python3-requests): exact status codes, Content-Types and
# problem types, bad input that changes nothing, four clients in parallel. Then a second server
# that validates for real (and fails: nothing answers on loopback) after a pause, to see
# challenges while "processing" and the invalid path.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "$0")/../lib/common.sh"

PY=/usr/bin/python3 # Debian's interpreter, where python3-cryptography and python3-requests live
HERE=$(cd "$(dirname "$0")" && pwd)
if ! "$PY" -c 'import cryptography, requests' 2>/dev/null; then
	skip "ACME protocol end-to-end" "python3-cryptography or python3-requests is not installed"
	exit 0
fi
[ -x "$COBBLE_BIN" ] || { notok "cobble binary $COBBLE_BIN exists"; exit 1; }

# client PART: run the Python client against the running cobble; its TAP lines go to our output.
client() {
	"$PY" "$HERE/acme_protocol.py" --part "$1" "$DIR_URL" "$CA_BUNDLE" "https://localhost:$MGMT_PORT"
	local rc=$?
	# 1 = some check printed "not ok"; anything else non-zero is a crash without a TAP line
	[ "$rc" -eq 0 ] || _fails=$((_fails + 1))
	[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || notok "acme_protocol.py --part $1 ran to the end (exit $rc)"
}

# Port 9 (discard) on loopback: nothing answers, so a real validation fails at once.
if start_cobble COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 COBBLE_AUTHZREUSE=0 \
	COBBLE_ALTERNATE_ROOTS=1 -- -dnsserver 127.0.0.1:9; then
	ok "cobble starts (every challenge valid, no nonce refused, no authorization reuse, one alternate root)"
	client main
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
