#!/usr/bin/env bash
# End-to-end: one client cannot make a listener unavailable (issue 9 item 2). About 1000 hostile
# connections from 20 loopback addresses (half idle TCP, half TLS sending a header line every
# 2 s, test/lib/slowloris.py) against the ACME listener and 1000 idle ones against the management
# listener;
# an honest client from another address still gets /dir in under 1 s, the hostile connections
# are closed when their request deadline passes, and one address cannot hold more than its
# share. Loopback only, bounded in count and time.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

for tool in curl python3; do
	command -v "$tool" >/dev/null || { skip "listeners end-to-end" "$tool is not installed"; exit 0; }
done
[ -x "$COBBLE_BIN" ] || { notok "cobble binary $COBBLE_BIN exists"; exit 1; }
start_cobble COBBLE_VA_NOSLEEP=1 || { notok "cobble starts"; exit 1; }
ok "cobble listens on $ACME_PORT (ACME) and $MGMT_PORT (management)"

# honest NAME URL: /dir (or URL) from 127.0.0.2 within 1 s; its time in ms is printed.
honest() {
	local name=$1 url=$2 t
	if t=$(curl -sf -o /dev/null --interface 127.0.0.2 --max-time 5 -w '%{time_total}' --cacert "$CA_BUNDLE" "$url") &&
		awk -v t="$t" 'BEGIN { exit !(t < 1.0) }'; then
		ok "$name ($(awk -v t="$t" 'BEGIN { printf "%.0f", t * 1000 }') ms)"
	else
		notok "$name (took ${t:-more than 5 s}, curl exit $?)"
	fi
}

# RFC 9110 §15.5.14: a declared Content-Length over 64 KiB gets 413 before the body is sent
code=$(curl -s -o "$T/413.json" -w '%{http_code} %{content_type}' --max-time 5 --cacert "$CA_BUNDLE" \
	-H 'Content-Type: application/jose+json' -H 'Content-Length: 1000000000000' --data-binary x \
	"https://localhost:$ACME_PORT/acme/new-order")
if [ "${code%% *}" = 413 ] && [ "${code#* }" = application/problem+json ]; then
	ok "a declared body of 10^12 bytes gets an early 413 problem document"
else
	notok "a declared body of 10^12 bytes gets an early 413 problem document (got $code)"
	show "$T/413.json"
fi

S=$ROOT/test/lib/slowloris.py
bg python3 "$S" "$ACME_PORT" 1000 50 10 16 "$T/acme.status"
bg python3 "$S" "$MGMT_PORT" 1000 50 40 16 "$T/mgmt.status" idle
wait_for 60 grep -q opened "$T/acme.status" && wait_for 60 grep -q opened "$T/mgmt.status" ||
	{ notok "the hostile clients opened their connections"; exit 1; }
echo "# acme: $(cat "$T/acme.status"); management: $(cat "$T/mgmt.status")"
honest "with ~1000 hostile connections open, an honest client gets ACME /dir in under 1 s" "$DIR_URL"
honest "with ~1000 hostile connections open, an honest client gets management /roots/0 in under 1 s" \
	"https://localhost:$MGMT_PORT/roots/0"
sleep 3
honest "3 s later, still under 1 s" "$DIR_URL"

# the request deadline (10 s, whole, not per byte) closed the hostile connections
wait_for 30 grep -q closed "$T/acme.status"
read -r _ closed _ opened < <(grep closed "$T/acme.status")
if [ "${opened:-0}" -gt 0 ] && [ "$closed" = "$opened" ]; then
	ok "every hostile connection was closed by its request deadline ($closed of $opened)"
else
	notok "every hostile connection was closed by its request deadline (${closed:-?} of ${opened:-?})"
fi
grep -m3 -E "listener: (closing|refused)" "$COBBLE_LOG" | sed 's/^/# /'
honest "afterwards, /dir in under 1 s" "$DIR_URL"
# one address may hold at most 256 connections (HTTP_GUARD_PER_ADDRESS)
bg python3 "$S" "$ACME_PORT" 400 400 3 4 "$T/one.status"
wait_for 30 grep -q opened "$T/one.status" || notok "the one-address client opened its connections"
held=$(ss -Htn state established "( dport = :$ACME_PORT and src 127.0.0.3 )" | wc -l)
if [ "$held" -le 256 ] && [ "$held" -gt 0 ]; then
	ok "one address holds at most 256 connections ($held of 400 stayed open)"
else
	notok "one address holds at most 256 connections ($held of 400 stayed open)"
fi

stop_cobble
