#!/usr/bin/env bash
# End-to-end: dns-persist-01 under draft 01 (spec/dns-persist-01.md §1-§4), the real cobble, a
# private Knot on loopback and a real ACME client library (acme-client, driven by
# test/node/persist-client.js). Every issued chain is checked with `openssl verify` against the
# root from the management listener; every failure for its problem type and a detail that says
# what to fix. Draft 02, JIT, subdomains and DNSSEC are in persist02.sh; the helpers both use are
# in test/lib/persist.sh.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/persist.sh"

knot_start p.test || { notok "knotd serves p.test"; exit 1; }
cobble_up draft01 || { notok "cobble starts with the default dnsPersist config"; exit 1; }
ok "knotd on 127.0.0.1:$KNOT_PORT and cobble on $ACME_PORT (draft 01)"

K1=$T/acct1.key K2=$T/acct2.key
ACCT=$(account "$K1"); ACCT2=$(account "$K2")
if [[ "$ACCT" =~ ^https://localhost:$ACME_PORT/acme/acct/[0-9a-f]{16}$ && "$ACCT2" != "$ACCT" &&
	"$ACCT2" =~ ^https://localhost:$ACME_PORT/acme/acct/ ]]; then
	ok "two accounts: $ACCT and $ACCT2"
else
	notok "two accounts (got '$ACCT' and '$ACCT2')"; show "$T/client.err"; exit 1
fi

# (1) plain name
pub p.test _validation-persist.plain 300 "$ISSUER; accounturi=$ACCT"
order plain "$K1" --identifiers plain.p.test
issued "plain name: valid, chain verifies" plain plain.p.test
jq_ok "draft 01 challenge object: accounturi and issuer-domain-names, no token" plain \
	'.authorizations[0].challenge | .type == "dns-persist-01" and .accounturi == $a and
	 ."issuer-domain-names" == ["cobble.test"] and (has("token") | not) and (has("issuerDomainNames") | not)' \
	--arg a "$ACCT"
jq_ok "validationRecord names the queried name and the resolver" plain \
	'.authorizations[0].challenge.validationRecord | any(.[]; .hostname == "_validation-persist.plain.p.test"
	 and (.resolver | test("127\\.0\\.0\\.1")))'

# (2) wildcard with policy=wildcard, the record at the base name
pub p.test _validation-persist.wild 300 "$ISSUER; accounturi=$ACCT; policy=wildcard"
order wild "$K1" --identifiers '*.wild.p.test'
issued "*.name with policy=wildcard at _validation-persist.name: valid, chain verifies" wild '*.wild.p.test'

# (3) wildcard without policy=wildcard
pub p.test _validation-persist.nowild 300 "$ISSUER; accounturi=$ACCT"
order nowild "$K1" --identifiers '*.nowild.p.test' --expect invalid
refused "*.name without policy=wildcard: unauthorized, detail asks for policy=wildcard" nowild unauthorized \
	'test("policy=wildcard") and contains("_validation-persist.nowild.p.test")'

# (4) a record for another account
pub p.test _validation-persist.acct 300 "$ISSUER; accounturi=$ACCT2"
order acct "$K1" --identifiers acct.p.test --expect invalid
refused "record naming another account: unauthorized, detail shows both URLs" acct unauthorized \
	'contains($theirs) and contains($ours) and test("accounturi")' --arg theirs "$ACCT2" --arg ours "$ACCT"

# (5) only another CA's record
pub p.test _validation-persist.otherca 300 "other.example; accounturi=$ACCT"
order otherca "$K1" --identifiers otherca.p.test --expect invalid
refused "only another CA's record: unauthorized, detail lists found and accepted issuers" otherca unauthorized \
	'contains("other.example") and contains("cobble.test") and contains("_validation-persist.otherca.p.test")'

# (6) persistUntil in the past (2026-01-01T00:00:00Z)
pub p.test _validation-persist.expired 300 "$ISSUER; accounturi=$ACCT; persistUntil=1767225600"
order expired "$K1" --identifiers expired.p.test --expect invalid
refused "expired persistUntil: unauthorized, detail gives persistUntil and the validation time" expired \
	unauthorized 'contains("persistUntil") and contains("1767225600") and contains("2026-01-01")'

# (7) one RR, several character-strings: joined with no separator
pub p.test _validation-persist.split 300 "$ISSUER; accou" "nturi=${ACCT:0:20}" "${ACCT:20}"
order split "$K1" --identifiers split.p.test
issued "a record split into several character-strings validates" split split.p.test

# (8) TAB is WSP (the raw octet, not \009)
pub p.test _validation-persist.tab 300 "$ISSUER;\\009accounturi=$ACCT\\009;\\009policy=wildcard"
order tab "$K1" --identifiers tab.p.test
issued "a TAB-separated record validates" tab tab.p.test

# (9) CNAME at the owner name
pub p.test holder 300 "$ISSUER; accounturi=$ACCT"
knot_set p.test _validation-persist.cname 300 CNAME holder.p.test.
order cname "$K1" --identifiers cname.p.test
issued "_validation-persist.name CNAME to a name with the TXT: valid" cname cname.p.test

# (10) lookup failure: a zone Knot does not serve answers REFUSED
order servfail "$K1" --identifiers x.unserved.test --expect invalid
refused "SERVFAIL-class answer (REFUSED): dns problem naming the lookup" servfail dns \
	'contains("_validation-persist.x.unserved.test") and test("REFUSED")'

# (11) reuse under draft 01: below the record's TTL only. 15 s leaves room for two client runs
# on a loaded machine (with 3 s, a slow start of the second client alone outlived the TTL).
pub p.test _validation-persist.reuse 15 "$ISSUER; accounturi=$ACCT"
order reuse1 "$K1" --identifiers reuse.p.test --no-finalize --expect ready
order reuse2 "$K1" --identifiers reuse.p.test
v1=$(jq -r '.authorizations[0].challenge.validated // empty' "$T/reuse1.json")
jq_ok "reuse: an order within the record's TTL gets the same authz already valid, no challenge POST" reuse2 \
	'.authorizations[0] | .url == $u and .statusAtCreation == "valid"' \
	--arg u "$(jq -r '.authorizations[0].url' "$T/reuse1.json")"
jq_ok "reuse: that order was ready at once and nothing was validated again" reuse2 \
	'.order.created.status == "ready" and .challengePosts == 0'
issued "reuse: the order with the reused authz gets a certificate" reuse2 reuse.p.test
# wait until the TTL has passed since the validation
if [ -n "$v1" ]; then
	until [ $(($(date +%s) - $(date -d "$v1" +%s))) -ge 16 ]; do sleep 0.2; done
fi
order reuse3 "$K1" --identifiers reuse.p.test
jq_ok "reuse: after the TTL a new order gets a new pending authz" reuse3 \
	'.authorizations[0] | .url != $u and .statusAtCreation == "pending"' \
	--arg u "$(jq -r '.authorizations[0].url' "$T/reuse1.json")"
issued "reuse: that new authz validates again" reuse3 reuse.p.test

# (11b) dnsPersist.reuse false: never reused, whatever the TTL
cobble_up noreuse '{"dnsPersist": {"reuse": false}}' || { notok "cobble starts with dnsPersist.reuse false"; exit 1; }
ACCT=$(account "$K1")
pub p.test _validation-persist.noreuse 300 "$ISSUER; accounturi=$ACCT"
order noreuse1 "$K1" --identifiers noreuse.p.test
issued "reuse false: first order valid" noreuse1 noreuse.p.test
order noreuse2 "$K1" --identifiers noreuse.p.test
jq_ok "reuse false: the second order gets a new pending authz" noreuse2 \
	'.authorizations[0] | .url != $u and .statusAtCreation == "pending"' \
	--arg u "$(jq -r '.authorizations[0].url' "$T/noreuse1.json")"
issued "reuse false: the second order validates again" noreuse2 noreuse.p.test
