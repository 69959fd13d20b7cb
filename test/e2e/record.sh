#!/usr/bin/env bash
# End-to-end: what a newcomer does first. `cobble record` prints the record; its knotc command,
# run as printed (against this test's Knot), publishes it and a real client gets a certificate.
# Then the first mistakes of the README's troubleshooting list, each answered by a detail that
# names the mistake: the wildcard record at _validation-persist.*.<name>, missing
# policy=wildcard, an account URL under another host name, another CA's issuer name.
# Run inside a private network namespace (test/run.sh does).
. "$(dirname "${BASH_SOURCE[0]}")/../lib/persist.sh"

knot_start r.test || { notok "knotd serves r.test"; exit 1; }
cobble_up record || { notok "cobble starts"; exit 1; }
K=$T/acct.key
ACCT=$(account "$K")
[[ "$ACCT" == https://localhost:$ACME_PORT/acme/acct/* ]] || { notok "account created (got '$ACCT')"; show "$T/client.err"; exit 1; }

# ---- cobble record → knotc → certificate ----
"$COBBLE_BIN" record --identifier '*.www.r.test' --account-url "$ACCT" --zone r.test >"$T/record.out" 2>&1
check "cobble record names the owner without \"*.\" and adds policy=wildcard" \
	grep -q "owner: _validation-persist.www.r.test.\$" "$T/record.out"
check "cobble record's value: issuer, the account URL, policy=wildcard" \
	grep -qF "value: cobble.test; accounturi=$ACCT; policy=wildcard" "$T/record.out"
# the Knot DNS line, run as printed, pointed at this test's server
cmd=$(grep -A1 '^Knot DNS:' "$T/record.out" | tail -1 | sed 's/^ *//')
if [[ "$cmd" == "knotc zone-begin r.test && knotc zone-set r.test _validation-persist.www.r.test. 300 TXT "* ]]; then
	ok "cobble record prints a knotc command for zone r.test"
else
	notok "cobble record prints a knotc command for zone r.test"; show "$T/record.out"
fi
eval "${cmd//knotc /_knotc }" >"$T/knotc.out" 2>&1 || { notok "the printed knotc command runs"; show "$T/knotc.out"; }
wait_for 10 sh -c "kdig @127.0.0.1 -p $KNOT_PORT +short TXT _validation-persist.www.r.test | grep -q policy=wildcard" &&
	ok "the printed knotc command published the record" || notok "the printed knotc command published the record"
order rec "$K" --identifiers '*.www.r.test,www.r.test'
issued "a wildcard and its base name by the record cobble record printed" rec '*.www.r.test' www.r.test

# ---- the first mistakes, each named by the detail ----
# 1. the wildcard's record at _validation-persist.*.<name>
pub r.test '_validation-persist.*.w1' 300 "$ISSUER; accounturi=$ACCT; policy=wildcard"
order m1 "$K" --identifiers '*.w1.r.test'
refused "record at _validation-persist.*.w1.r.test: unauthorized, the detail names the right owner" m1 \
	unauthorized 'contains("must stand at _validation-persist.w1.r.test")'
# 2. policy=wildcard missing
pub r.test _validation-persist.w2 300 "$ISSUER; accounturi=$ACCT"
order m2 "$K" --identifiers '*.w2.r.test'
refused "wildcard without policy=wildcard: unauthorized, the detail says policy=wildcard is required" m2 \
	unauthorized 'contains("policy=wildcard")'
# 3. the account URL under another host name (127.0.0.1 instead of localhost)
pub r.test _validation-persist.h3 300 "$ISSUER; accounturi=${ACCT/localhost/127.0.0.1}"
order m3 "$K" --identifiers h3.r.test
refused "account URL under another host: unauthorized, the detail says the host differs" m3 \
	unauthorized 'contains("another scheme, host or port") and contains($a)' --arg a "$ACCT"
# 4. another CA's issuer name
pub r.test _validation-persist.i4 300 "letsencrypt.org; accounturi=$ACCT"
order m4 "$K" --identifiers i4.r.test
refused "another CA's issuer name: unauthorized, the detail lists found and accepted issuers" m4 \
	unauthorized 'contains("letsencrypt.org") and contains("cobble.test")'
