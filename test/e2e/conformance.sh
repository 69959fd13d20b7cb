#!/usr/bin/env bash
# End-to-end: the client conformance report (server/conformance.c). Raw-protocol clients
# (test/e2e/conformance_client.py) break one rule each and the report on the management listener
# names each broken rule with its count, first occurrence and reference, while a client that
# follows every rule gets an empty report; dns-persist-01 records that pass only thanks to
# cobble's leniency, or name stale accounts, are flagged (real Knot, acme-client); `cobble report`
# prints the table and exits 1 exactly when a MUST was broken.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/persist.sh"

PY=/usr/bin/python3
"$PY" -c 'import cryptography, requests' 2>/dev/null ||
	{ skip "conformance report" "python3-cryptography or python3-requests is not installed"; exit 0; }

echo '{"retryAfter": {"authz": 1, "order": 1}}' >"$T/fast.json"
if start_cobble COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 COBBLE_AUTHZREUSE=0 \
	COBBLE_ALTERNATE_ROOTS=1 -- -dnsserver 127.0.0.1:9 -config "$T/fast.json"; then
	py_tap conformance_client.py fast --save "$T/report.json"
	read -r GOOD BAD <"$T/report.json.ids" 2>/dev/null || GOOD=none BAD=none
	URL=https://localhost:$MGMT_PORT
	"$COBBLE_BIN" report "$URL" -ca-bundle "$CA_BUNDLE" >"$T/rep.out" 2>&1
	check "cobble report URL: exit 1 when a client broke a MUST" test $? -eq 1
	check "...and the table names the broken MUST with its reference" \
		grep -Eq '^  MUST +jws-content-type +1x +RFC 8555 §6\.2' "$T/rep.out"
	check "...and ends on the verdict" grep -q '^FAIL: a client broke a MUST' "$T/rep.out"
	TMPDIR=$T "$COBBLE_BIN" report "$URL/conformance/$GOOD" >"$T/good.out" 2>&1
	check "cobble report URL/conformance/<good account> (default CA bundle): exit 0" test $? -eq 0
	check "...and says so" grep -q 'no deviation seen' "$T/good.out"
	"$COBBLE_BIN" report "$T/report.json" >"$T/file.out" 2>&1
	check "cobble report FILE (a saved report): exit 1, the same table" \
		sh -c "test $? -eq 1 && grep -q 'badnonce-not-retried' '$T/file.out'"
	"$COBBLE_BIN" report "$URL" -ca-bundle /dev/null >"$T/nobundle.out" 2>&1
	check "cobble report with a bundle that does not trust cobble: exit 2 and why" \
		sh -c "test $? -eq 2 && grep -q 'cobble report: https://' '$T/nobundle.out'"
	curl -sS --cacert "$CA_BUNDLE" "$URL/conformance/$BAD" >"$T/bad.json" 2>"$T/bad.err"
	jq_ok "curl /conformance/<account id>: that account's findings as JSON" bad \
		'.account != null and (.findings | length) >= 7 and .mustBroken == true'
	stop_cobble
else
	notok "cobble starts (always valid, one alternate root)"
fi

if start_cobble COBBLE_VA_SLEEPTIME=3 COBBLE_WFE_NONCEREJECT=0 COBBLE_AUTHZREUSE=0 -- -dnsserver 127.0.0.1:9; then
	py_tap conformance_client.py slow
	stop_cobble
else
	notok "cobble starts (real validation after a pause)"
fi

# dns-persist-01 records, validated for real against a private Knot by acme-client
command -v knotd >/dev/null || { skip "dns-persist-01 conformance checks" "knotd is not installed"; exit 0; }
knot_start c.test || { notok "knotd serves c.test"; exit 1; }
cobble_up persist || { notok "cobble starts against Knot"; exit 1; }
K=$T/acct.key
ACCT=$(account "$K")
ID=${ACCT##*/}
FAR=4102444800 # 2100-01-01
pub c.test _validation-persist.upper 300 "COBBLE.TEST.; accounturi=$ACCT"
order upper "$K" --identifiers upper.c.test
issued "a record with the issuer in upper case and a trailing dot validates" upper upper.c.test
pub c.test _validation-persist.split 300 "cobble.test; accounturi=" "$ACCT; persistUntil=$FAR"
order split "$K" --identifiers split.c.test
issued "a record split into two strings validates" split split.c.test
pub c.test _validation-persist.wild 300 "cobble.test; accounturi=$ACCT; policy=wildcard; persistUntil=$FAR"
order wild "$K" --identifiers wild.c.test
issued "a policy=wildcard record validates a plain name" wild wild.c.test
pub c.test _validation-persist.stale 300 "cobble.test; accounturi=$ACCT; persistUntil=$FAR"
pub c.test _validation-persist.stale 300 "cobble.test; accounturi=${ACCT%/*}/nosuchaccount; persistUntil=$FAR"
order stale "$K" --identifiers stale.c.test
issued "a name with one record for this account and one for an unknown account validates" stale stale.c.test

mgmt "/conformance/$ID" >"$T/persist.json"
f() { printf '.findings | map(select(.id == "%s")) | .[0] | %s' "$1" "$2"; }
jq_ok "persist-lenient-match: both lenient records counted, the first named with what was lenient" persist \
	"$(f persist-lenient-match '.count == 2 and (.first.detail | contains("not lower case") and contains("trailing dot"))
		and .first.url == "_validation-persist.upper.c.test"')"
jq_ok "persist-no-persist-until: the one validating record without persistUntil" persist \
	"$(f persist-no-persist-until '.count == 1 and (.first.detail | contains("COBBLE.TEST."))')"
jq_ok "persist-wildcard-unused: policy=wildcard where no wildcard was ordered" persist \
	"$(f persist-wildcard-unused '.count == 1 and (.first.detail | contains("policy=wildcard"))')"
jq_ok "persist-stale-account: the record naming an unknown account" persist \
	"$(f persist-stale-account '.count == 1 and (.first.detail | contains("an unknown account nosuchaccount"))')"
order wildcard "$K" --identifiers '*.wild.c.test'
issued "the account then orders the wildcard the record allows" wildcard '*.wild.c.test'
mgmt "/conformance/$ID" >"$T/persist2.json"
jq_ok "...and persist-wildcard-unused is gone from its report" persist2 \
	'(.findings | map(.id) | index("persist-wildcard-unused")) == null and (.findings | length) >= 3'

# cobble's clock (POST /clock) judges persistUntil: a record good for 1000 s fails once it is moved on
UNTIL=$(($(date +%s) + 1000))
pub c.test _validation-persist.until1 300 "cobble.test; accounturi=$ACCT; persistUntil=$UNTIL"
pub c.test _validation-persist.until2 300 "cobble.test; accounturi=$ACCT; persistUntil=$UNTIL"
order until1 "$K" --identifiers until1.c.test
issued "a record with persistUntil 1000 s ahead validates" until1 until1.c.test
curl -sS --cacert "$CA_BUNDLE" -d '{"advance": 2000}' "https://localhost:$MGMT_PORT/clock" >"$T/clock.json"
jq_ok "POST /clock {\"advance\": 2000}" clock '.offset == 2000'
order until2 "$K" --identifiers until2.c.test --expect invalid
refused "...and with the clock 2000 s on, the same persistUntil is in the past" until2 unauthorized \
	'contains("persistUntil '"$UNTIL"'")'
