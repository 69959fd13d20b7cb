#!/usr/bin/env bash
# check_record: `cobble check-record` live, against a private Knot serving example.com: verdicts,
# exit statuses, DNS failures, raw TXT octets, and the record it tells the user to publish
# (published as printed, it must then validate).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/knot.sh"

knot_start example.com || { notok "knotd serves example.com"; exit 1; }
cr() { "$COBBLE_BIN" check-record --resolver "127.0.0.1:$KNOT_PORT" "$@"; }
A=https://ca.example/acme/acct/1
TP=NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs

# expect NAME STATUS PATTERN CMD...: CMD exits STATUS and its output matches PATTERN (grep -E).
expect() {
	local name=$1 want=$2 pat=$3 rc=0; shift 3
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" -eq "$want" ] && cat "$T/out" "$T/err" | grep -qE -- "$pat"; then
		ok "$name"
	else
		notok "$name (status $rc, want $want)"
		sed 's/^/    # /' "$T/out" "$T/err" | head -20
	fi
}
# publish: the "publish" zone line of the last --json answer, set in the zone as printed.
publish() {
	local owner rdata
	owner=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["publish"]["name"])' <"$T/out") &&
		rdata=$(python3 -c 'import json,sys; z=json.load(sys.stdin)["publish"]["zone"]; print(z.split(" IN TXT ", 1)[1])' <"$T/out") &&
		knot_set example.com "$owner." 300 TXT "$rdata"
}

expect "no record: NXDOMAIN is a dns problem" 1 '"type":"dns".*NXDOMAIN' \
	cr --identifier example.com --account-url "$A" --json
expect "the answer shows the record to publish" 1 \
	'"zone":"_validation-persist.example.com. IN TXT \\"cobble.test; accounturi=https://ca.example/acme/acct/1\\""' \
	cr --identifier example.com --account-url "$A" --json
publish && expect "the record it printed validates once published" 0 '^Verdict: valid' \
	cr --identifier example.com --account-url "$A"

expect "a wildcard identifier needs policy=wildcard" 1 'policy=wildcard required for \*\.example\.com' \
	cr --identifier '*.example.com' --account-url "$A" --json
expect "the record to publish for a wildcard carries policy=wildcard" 1 \
	'"rdata":"cobble.test; accounturi=https://ca.example/acme/acct/1; policy=wildcard"' \
	cr --identifier '*.example.com' --account-url "$A" --json
publish && expect "the wildcard record validates once published" 0 '"status":"valid","type":null' \
	cr --identifier '*.example.com' --account-url "$A" --json

# A TAB octet (zone-file \009) reaches the parser as a TAB: WSP around parameters, not "\009".
knot_set example.com _validation-persist.tab 300 TXT '"cobble.test;\009accounturi=https://ca.example/acme/acct/1\009"'
expect "a TAB octet is WSP" 0 '^Verdict: valid' cr --identifier tab.example.com --account-url "$A"
knot_set example.com _validation-persist.tab2 300 TXT '"cobble.test; accounturi=https://ca.example/acme/acct/1\009x"'
expect "a TAB octet inside a value is malformed" 1 'character 0x09 not allowed' \
	cr --identifier tab2.example.com --account-url "$A"

# Character-strings of one RR join with no separator; RDATA over 255 octets is split on output.
knot_set example.com _validation-persist.split 300 TXT '"cobble.test; accounturi=https://ca.exa"' '"mple/acme/acct/1"'
expect "strings of one RR are joined with no separator" 0 '^Verdict: valid' \
	cr --identifier split.example.com --account-url "$A"
long="https://ca.example/acme/acct/$(printf 'x%.0s' $(seq 1 300))"
expect "a long record is printed as 255-octet strings" 1 '\\" \\"' \
	cr --identifier long.example.com --account-url "$long" --json
publish && expect "the split long record validates once published" 0 '^Verdict: valid' \
	cr --identifier long.example.com --account-url "$long"

expect "another issuer's record is unauthorized and named" 1 'found issuer names \\"cobble.test\\".*; this CA accepts other.test' \
	cr --identifier example.com --account-url "$A" --issuer other.test --json
knot_set example.com _validation-persist.nodata 300 A 192.0.2.1
expect "NOERROR with no TXT is unauthorized" 1 \
	'"type":"unauthorized","detail":"no TXT record at _validation-persist.nodata.example.com"' \
	cr --identifier nodata.example.com --account-url "$A" --json

# Draft 02: the hashed record it prints validates once published; d="*" is offered too.
expect "draft 02: the hashed record to publish" 1 'sha-256/' \
	cr --identifier h.example.com --account-url "$A" --draft 02 --thumbprint "$TP" --hash-prefix https://ca.example/h/ --json
publish && expect "draft 02: the hashed record validates once published" 0 '^Verdict: valid' \
	cr --identifier h.example.com --account-url "$A" --draft 02 --thumbprint "$TP" --hash-prefix https://ca.example/h/
expect "draft 02: after key rollover the earlier key still matches" 0 '^Verdict: valid' \
	cr --identifier h.example.com --account-url "$A" --draft 02 --thumbprint AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \
	--thumbprint "$TP" --hash-prefix https://ca.example/h/

# Every verdict names the house rule behind it (docs/dns-persist-01.md), in words and in --json.
knot_set example.com _validation-persist.rule 300 TXT '"cobble.test; accounturi=https://ca.example/acme/acct/1"'
expect "the verdict names its rule: a wildcard without policy=wildcard is rule 2.5b" 1 \
	'^Rule 2\.5b: a wildcard identifier needs policy=wildcard \(docs/dns-persist-01\.md, rule 2\.5b\)\.$' \
	cr --identifier '*.rule.example.com' --account-url "$A"
expect "--json names the rule with its title and document" 1 \
	'"rule":\{"id":"2\.5a","title":"accounturi must name the requesting account","doc":"docs/dns-persist-01\.md"\}' \
	cr --identifier rule.example.com --account-url "$A/other" --json
expect "a valid verdict names rule 2.6" 0 '^Rule 2\.6: ' cr --identifier rule.example.com --account-url "$A"
expect "a failed lookup names rule 2.2" 1 '"rule":\{"id":"2\.2"' \
	cr --identifier nothing-here.example.com --account-url "$A" --json

# A resolver that does not answer is a dns problem, not a hang.
dead=$(free_port)
expect "no answer from the resolver is a dns problem" 1 '"type":"dns"' \
	"$COBBLE_BIN" check-record --resolver "127.0.0.1:$dead" --identifier example.com --account-url "$A" --json

expect "missing --account-url is a usage error with the usage" 2 '^usage: cobble check-record' \
	cr --identifier example.com
expect "--draft 03 is a usage error" 2 'draft must be 01 or 02' cr --identifier example.com --account-url "$A" --draft 03
expect "--draft 02 without --thumbprint is a usage error" 2 'needs --hash-prefix and at least one --thumbprint' \
	cr --identifier example.com --account-url "$A" --draft 02 --hash-prefix https://ca.example/h/
expect "an identifier that is no domain name is a usage error" 2 'is not a domain name' cr --identifier 'a b.example' --account-url "$A"
expect "--time must be a number" 2 'UNIX seconds' cr --identifier example.com --account-url "$A" --time tomorrow
