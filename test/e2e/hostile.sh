#!/usr/bin/env bash
# End-to-end: validators against hostile peers (issue 9). A DNS server that answers another
# question, sends malformed replies or drags a CNAME chain out (test/lib/hostile_dns.py), and
# TLS/HTTP responders that drip one byte at a time (test/lib/drip.py). Each validation must end
# within its one 10 s deadline, DNS included, with the problem type and a detail naming the step
# that failed; no answer to another question may count.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/acme_case.sh"

acme_need hostile jq curl python3
E=urn:ietf:params:acme:error:

DNS_PORT=$(free_port) HTTP_PORT=$(free_port) TLS_PORT=$(free_port)
mkdir -p "$T/txt"
# each hop of a hopN chain answers after 1.5 s: 9 answers take 13.5 s, past the 10 s deadline
bg python3 "$ROOT/test/lib/hostile_dns.py" "$DNS_PORT" "$T/txt" 1.5 8
bg python3 "$ROOT/test/lib/drip.py" "$TLS_PORT" 1 tls
bg python3 "$ROOT/test/lib/drip.py" "$HTTP_PORT" 1 http
sleep 0.5
printf '{"httpPort": %s, "tlsPort": %s}\n' "$HTTP_PORT" "$TLS_PORT" >"$T/cobble.json"
start_cobble COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 -- \
	-dnsserver "127.0.0.1:$DNS_PORT" -config "$T/cobble.json" || { notok "cobble starts"; exit 1; }
ok "cobble validates against the hostile DNS server 127.0.0.1:$DNS_PORT and dripping responders"

# --- cobble dig: what the validators' DNS code makes of each hostile reply ----------------------
dig_case() {
	local name=$1 qname=$2 expr=$3
	"$COBBLE_BIN" dig --resolver "127.0.0.1:$DNS_PORT" TXT "$qname" >"$T/dig-$qname.json" 2>"$T/dig-$qname.err"
	if [ -s "$T/dig-$qname.json" ] && jq -e "$expr" "$T/dig-$qname.json" >/dev/null 2>&1 &&
		! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/dig-$qname.err"; then
		ok "$name"
	else
		notok "$name"
		echo "    # wanted: $expr"
		show "$T/dig-$qname.json" "$T/dig-$qname.err"
	fi
}
dig_case "RFC 5452 §9.1: a reply to another question (other.test) is discarded, never counted" \
	_validation-persist.otherq.x.test \
	'.result == "SERVFAIL" and (.txt | length) == 0 and (.detail | test("answered the question TXT other.test; it was discarded"))'
dig_case "a reply without a question (QDCOUNT 0) is a DNS failure, not an internal one" noq.x.test \
	'.result == "SERVFAIL" and (.detail | test("QDCOUNT 0"))'
dig_case "a TXT length octet past RDLENGTH is a DNS failure naming the malformed record" badtxt.x.test \
	'.result == "SERVFAIL" and (.detail | test("malformed TXT record in the answer from 127.0.0.1"))'
dig_case "a CNAME loop is a DNS failure naming the loop, not \"no TXT record\"" cnloop.x.test \
	'.result == "SERVFAIL" and (.detail | test("CNAME loop"))'
dig_case "a 4 KB UDP answer without TC is a DNS failure, not an internal one" big.x.test \
	'.result == "SERVFAIL" and (.txt | length) == 0'

# --- validations, all at once ------------------------------------------------------------------
acme_start otherq dns-01 otherq.x.test &&
	acme_field otherq dns_value >"$T/txt/_acme-challenge.otherq.x.test" || notok "dns-01 otherq: the order starts"
acme_start badtxt dns-01 badtxt.x.test || notok "dns-01 badtxt: the order starts"
acme_start slow http-01 hop0.slow.test || notok "http-01 slow CNAME chain: the order starts"
acme_start slowp dns-persist-01 hop0.slowp.test || notok "dns-persist-01 slow CNAME chain: the order starts"
acme_start tlsdrip tls-alpn-01 drip.x.test || notok "tls-alpn-01 drip: the order starts"
acme_start httpdrip http-01 httpdrip.x.test || notok "http-01 drip: the order starts"
for tag in otherq badtxt slow slowp tlsdrip httpdrip; do acme_go "$tag"; done
for tag in otherq badtxt slow slowp tlsdrip httpdrip; do acme_wait "$tag"; done

jq_ok "dns-01: a TXT answer to another question does not validate (dns problem naming other.test)" otherq \
	'.authz == "invalid" and .challenge.error.type == ($e + "dns") and
	 (.challenge.error.detail | test("other.test"))' --arg e "$E"
jq_ok "dns-01: a malformed TXT answer is a dns problem, not serverInternal" badtxt \
	'.authz == "invalid" and .challenge.error.type == ($e + "dns") and
	 (.challenge.error.detail | test("malformed TXT"))' --arg e "$E"
jq_ok "http-01: a CNAME chain slower than the deadline is a dns problem saying the deadline ran out" slow \
	'.authz == "invalid" and .challenge.error.type == ($e + "dns") and
	 (.challenge.error.detail | test("hop0.slow.test.*validation deadline"))' --arg e "$E"
jq_ok "dns-persist-01: a CNAME chain slower than the deadline is a dns problem saying the deadline ran out" slowp \
	'.authz == "invalid" and .challenge.error.type == ($e + "dns") and
	 (.challenge.error.detail | test("_validation-persist.hop0.slowp.test.*deadline"))' --arg e "$E"
jq_ok "tls-alpn-01: a responder dripping one byte a second fails as tls, naming the deadline" tlsdrip \
	'.authz == "invalid" and .challenge.error.type == ($e + "tls") and
	 (.challenge.error.detail | test("deadline passed"))' --arg e "$E"
jq_ok "http-01: a responder dripping one byte a second fails as connection" httpdrip \
	'.authz == "invalid" and .challenge.error.type == ($e + "connection")' --arg e "$E"

# every validation ended within its deadline (10 s, and a little for the worker's bookkeeping)
for subj in "http-01 hop0.slow.test" "dns-persist-01 hop0.slowp.test" "tls-alpn-01 drip.x.test" "http-01 httpdrip.x.test" "dns-01 otherq.x.test"; do
	ms=$(grep -E "validation $subj " "$COBBLE_LOG" | sed -nE 's/.*\(([0-9]+) ms\)$/\1/p' | tail -1)
	if [ -n "$ms" ] && [ "$ms" -le 10800 ]; then
		ok "$subj ended within the 10 s validation deadline ($ms ms)"
	else
		notok "$subj ended within the 10 s validation deadline (${ms:-no log line} ms)"
		grep -E "validation $subj " "$COBBLE_LOG" | sed 's/^/    # /'
	fi
done
stop_cobble
