#!/usr/bin/env bash
# End-to-end: dns-persist-01 under draft 02 (hashed account URIs, key history), JIT validation,
# subdomain authorisation and DNSSEC (spec/dns-persist-01.md §3-§5), with the same real cobble,
# private Knot and acme-client driver as persist.sh (helpers in test/lib/persist.sh).
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/persist.sh"

knot_start p2.test j.test example.test || { notok "knotd serves the unsigned zones"; exit 1; }
knot_start_signed sec.test wrong.test || { notok "knotd serves the signed zones"; exit 1; }

# acct_hash KEYFILE D: the draft 02 accounturi for account $ACCT, key KEYFILE, d=D under $PREFIX.
acct_hash() { client hash --prefix "$PREFIX" --domain "$2" --account-key "$1" --account-url "$ACCT" | jq -r .accounturi; }

# ---- draft 02 -------------------------------------------------------------------------------
# config/dns-persist-02.json as it is (its resolver is replaced by -dnsserver)
cobble_up draft02 "$(cat "$ROOT/config/dns-persist-02.json")" ||
	{ notok "cobble starts on config/dns-persist-02.json (dnsPersist.draft 02)"; exit 1; }
curl -sS --cacert "$CA_BUNDLE" "$DIR_URL" >"$T/dir02.json"
jq_ok "draft 02 directory meta: accountHashPrefix (default) and issuerDomainNames" dir02 \
	'.meta.accountHashPrefix == $p and .meta.issuerDomainNames == ["cobble.test"]' \
	--arg p "https://localhost:$ACME_PORT/acme/account-hash/"
# spec §3 (draft -02 §4.5): URLs stay stable, so under 02 the Host header never shapes them
curl -sS --cacert "$CA_BUNDLE" -H "Host: other.example:8443" "$DIR_URL" >"$T/dirhost.json"
jq_ok "draft 02: every directory URL comes from https://localhost:<port> even with another Host" dirhost \
	'[.newAccount, .newOrder, .meta.accountHashPrefix] | all(startswith($b))' \
	--arg b "https://localhost:$ACME_PORT/"
PREFIX=$(jq -r '.meta.accountHashPrefix // empty' "$T/dir02.json")
[ -n "$PREFIX" ] || PREFIX="https://localhost:$ACME_PORT/acme/account-hash/"

KA=$T/acct02a.key KB=$T/acct02b.key
ACCT=$(account "$KA")

# (12) the hashed accounturi, d = the FQDN
pub p2.test _validation-persist.h 300 "$ISSUER; accounturi=$(acct_hash "$KA" h.p2.test)"
order h02 "$KA" --identifiers h.p2.test
issued "draft 02: hashed accounturi (d = FQDN) validates, chain verifies" h02 h.p2.test
jq_ok "draft 02 challenge object: issuerDomainNames, no accounturi, no token" h02 \
	'.authorizations[0].challenge | .type == "dns-persist-01" and .issuerDomainNames == ["cobble.test"] and
	 (has("accounturi") | not) and (has("token") | not) and (has("issuer-domain-names") | not)'

pub p2.test _validation-persist.star 300 "$ISSUER; accounturi=$(acct_hash "$KA" '*')"
order star02 "$KA" --identifiers star.p2.test
issued "draft 02: hashed accounturi with d = \"*\" validates" star02 star.p2.test

pub p2.test _validation-persist.plain 300 "$ISSUER; accounturi=$ACCT"
order plain02 "$KA" --identifiers plain.p2.test --expect invalid
refused "draft 02: the plain account URL is malformed, detail names the hash prefix" plain02 malformed \
	'contains($a) and contains($p) and test("sha-256")' --arg a "$ACCT" --arg p "$PREFIX"

pub p2.test _validation-persist.otherd 300 "$ISSUER; accounturi=$(acct_hash "$KA" elsewhere.p2.test)"
order otherd02 "$KA" --identifiers otherd.p2.test --expect invalid
refused "draft 02: a hash for another d is unauthorized, detail gives the value to publish" otherd02 \
	unauthorized 'contains($want) and contains($a)' --arg want "$(acct_hash "$KA" otherd.p2.test)" --arg a "$ACCT"

until=$(($(date +%s) + 86400))
pub p2.test _validation-persist.until 300 "$ISSUER; accounturi=$(acct_hash "$KA" until.p2.test); persistUntil=$until"
order until02 "$KA" --identifiers until.p2.test
issued "draft 02: a record with persistUntil validates" until02 until.p2.test
jq_ok "draft 02: the authz expires no later than the record's persistUntil" until02 \
	'(.authorizations[0].expires | fromdateiso8601) <= $u' --argjson u "$until"

# spec §4: under draft 02 the record's TTL plays no part in reuse
pub p2.test _validation-persist.ttl 3 "$ISSUER; accounturi=$(acct_hash "$KA" ttl.p2.test)"
order ttl1 "$KA" --identifiers ttl.p2.test --no-finalize --expect ready
v1=$(jq -r '.authorizations[0].challenge.validated // empty' "$T/ttl1.json")
if [ -n "$v1" ]; then
	until [ $(($(date +%s) - $(date -d "$v1" +%s))) -ge 4 ]; do sleep 0.2; done
fi
order ttl2 "$KA" --identifiers ttl.p2.test
jq_ok "draft 02: past the record's TTL the authz is still reused (TTL plays no part)" ttl2 \
	'.authorizations[0] | .url == $u and .statusAtCreation == "valid"' \
	--arg u "$(jq -r '.authorizations[0].url' "$T/ttl1.json")"

# key change: records hashed with the old and with the new key's thumbprint both validate
client keychange --account-key "$KA" --new-account-key "$KB" >"$T/keychange.json" 2>"$T/keychange.err"
jq_ok "keyChange (updateAccountKey) succeeds and keeps the account URL" keychange \
	'.status == "changed" and .accountUrl == $a and .oldThumbprint != .newThumbprint' --arg a "$ACCT"
pub p2.test _validation-persist.oldkey 300 "$ISSUER; accounturi=$(acct_hash "$KA" oldkey.p2.test)"
order oldkey02 "$KB" --identifiers oldkey.p2.test
issued "after keyChange a record hashed with the old key's thumbprint validates (key history)" oldkey02 \
	oldkey.p2.test
jq_ok "  (the order was made by the same account, signed with the new key)" oldkey02 \
	'.accountUrl == $a and .thumbprint == $tp' --arg a "$ACCT" \
	--arg tp "$(jq -r .newThumbprint "$T/keychange.json")"
pub p2.test _validation-persist.newkey 300 "$ISSUER; accounturi=$(acct_hash "$KB" newkey.p2.test)"
order newkey02 "$KB" --identifiers newkey.p2.test
issued "after keyChange a record hashed with the new key's thumbprint validates" newkey02 newkey.p2.test

# ---- issue 10 item 5: a client that speaks -02 (hash computed by the driver from the directory's
# accountHashPrefix), certificates and refusals; the key rollover case is the oldkey one above
pub p2.test _validation-persist.wild 300 "$ISSUER; accounturi=$(acct_hash "$KB" wild.p2.test); policy=wildcard"
order wild02 "$KB" --identifiers '*.wild.p2.test'
issued "draft 02: a wildcard with a hashed accounturi (d = wild.p2.test) and policy=wildcard" wild02 '*.wild.p2.test'

pub p2.test _validation-persist.dup 300 "$ISSUER; accounturi=$(acct_hash "$KB" dup.p2.test); foo=1; Foo=2"
order dup02 "$KB" --identifiers dup.p2.test --expect invalid
refused "draft 02: a duplicated tag (foo=1; Foo=2) is malformed (draft -02 §9.3.1)" dup02 malformed 'test("(?i)duplicate")'

short=$(acct_hash "$KB" short.p2.test); short=${short%?}
pub p2.test _validation-persist.short 300 "$ISSUER; accounturi=$short"
order short02 "$KB" --identifiers short.p2.test --expect invalid
refused "draft 02: a hash of 42 characters is malformed" short02 malformed 'test("43")'

knot_set p2.test caao 300 CAA '0 issue "otherca.example"'
pub p2.test _validation-persist.caao 300 "$ISSUER; accounturi=$(acct_hash "$KB" caao.p2.test)"
order caao02 "$KB" --identifiers caao.p2.test --expect invalid
refused "draft 02: a good record under a CAA record naming another CA is refused with caa" caao02 caa \
	'contains("caao.p2.test") and contains("otherca.example")'

knot_set p2.test caam 300 CAA '0 issue "cobble.test; validationmethods=dns-01"'
pub p2.test _validation-persist.caam 300 "$ISSUER; accounturi=$(acct_hash "$KB" caam.p2.test)"
order caam02 "$KB" --identifiers caam.p2.test --expect invalid
refused "draft 02: CAA validationmethods=dns-01 refuses dns-persist-01 with caa" caam02 caa \
	'contains("validationmethods=dns-01 does not include dns-persist-01")'

KD=$T/acct02d.key
ACCTD=$(account "$KD")
pub p2.test _validation-persist.deact 300 "$ISSUER; accounturi=$(ACCT=$ACCTD acct_hash "$KD" deact.p2.test)"
order deact1 "$KD" --identifiers deact.p2.test --no-challenge --no-finalize --expect pending
client deactivate --account-key "$KD" --then-post "$(jq -r '.authorizations[0].challenge.url' "$T/deact1.json")" \
	>"$T/deact.json" 2>"$T/deact.err"
jq_ok "draft 02: the account deactivates itself (RFC 8555 §7.3.6)" deact '.status == "deactivated"'
jq_ok "draft 02: then its challenge POST, with a good record published, is refused unauthorized" deact \
	'.thenPost.status == 401 and .thenPost.body.type == "urn:ietf:params:acme:error:unauthorized" and
	 (.thenPost.body.detail | test("deactivated"))'

# ---- JIT (draft 01) -------------------------------------------------------------------------
cobble_up jit '{"dnsPersist": {"jit": true}}' || { notok "cobble starts with dnsPersist.jit true"; exit 1; }
K1=$T/acct1.key
ACCT=$(account "$K1")
pub j.test _validation-persist.now 300 "$ISSUER; accounturi=$ACCT"
order jit1 "$K1" --identifiers now.j.test
jq_ok "JIT: with the record published, newOrder returns the authz valid and the order ready" jit1 \
	'.order.created.status == "ready" and .authorizations[0].statusAtCreation == "valid" and .challengePosts == 0'
issued "JIT: that order finalizes without any challenge POST, chain verifies" jit1 now.j.test

order jit2 "$K1" --identifiers later.j.test --no-challenge --no-finalize --expect pending
jq_ok "JIT: without the record the authz is an ordinary pending one" jit2 \
	'.order.created.status == "pending" and .authorizations[0].statusAtCreation == "pending" and
	 .authorizations[0].challenge.status == "pending" and (.authorizations[0].challenge | has("error") | not)'
pub j.test _validation-persist.later 300 "$ISSUER; accounturi=$ACCT"
order jit3 "$K1" --order-url "$(jq -r '.order.url' "$T/jit2.json")"
jq_ok "JIT: after publishing, the same order's challenge is POSTed once" jit3 \
	'.challengePosts == 1 and .order.url == $u' --arg u "$(jq -r '.order.url' "$T/jit2.json")"
issued "JIT: ... and the order works normally, chain verifies" jit3 later.j.test

# ---- subdomains (draft 01) ------------------------------------------------------------------
cobble_up subdomains '{"dnsPersist": {"subdomains": true}}' ||
	{ notok "cobble starts with dnsPersist.subdomains true"; exit 1; }
ACCT=$(account "$K1")
pub example.test _validation-persist 300 "$ISSUER; accounturi=$ACCT; policy=wildcard"
order sub1 "$K1" --identifiers a.b.example.test
issued "subdomains: policy=wildcard at _validation-persist.example.test authorises a.b.example.test" sub1 \
	a.b.example.test
jq_ok "subdomains: validationRecord shows the walk up to example.test" sub1 \
	'[.authorizations[0].challenge.validationRecord[].hostname] as $h |
	 ($h | index("_validation-persist.a.b.example.test")) != null and
	 ($h | index("_validation-persist.example.test")) != null'
knot_unset example.test _validation-persist TXT
pub example.test _validation-persist 300 "$ISSUER; accounturi=$ACCT"
order sub2 "$K1" --identifiers c.d.example.test --expect invalid
refused "subdomains: without policy=wildcard the ancestor's record does not authorise c.d.example.test" sub2 \
	unauthorized 'test("policy=wildcard") and contains("_validation-persist.example.test")'

# ---- subdomains under draft 02: d is the name where the record was found (spec §5) ------
cobble_up sub02 '{"dnsPersist": {"draft": "02", "subdomains": true}}' ||
	{ notok "cobble starts with draft 02 and subdomains"; exit 1; }
PREFIX=$(curl -sS --cacert "$CA_BUNDLE" "$DIR_URL" | jq -r '.meta.accountHashPrefix')
ACCT=$(account "$K1")
pub p2.test _validation-persist 300 "$ISSUER; accounturi=$(acct_hash "$K1" p2.test); policy=wildcard"
order sub02 "$K1" --identifiers x.y.p2.test
issued "draft 02 + subdomains: a record at _validation-persist.p2.test hashed with d=p2.test authorises x.y.p2.test" \
	sub02 x.y.p2.test

# ---- DNSSEC ---------------------------------------------------------------------------------
knot_trust_anchor sec.test "$T/sec.ds" || notok "keymgr gives sec.test's DS"
knot_trust_anchor wrong.test "$T/wrong.ds" || notok "keymgr gives wrong.test's DS"
sed 's/^wrong\.test\./sec.test./' "$T/wrong.ds" >"$T/otherkey.ds"
echo "sec.test. 3600 IN DS 4242 13 2 $(printf 'made up' | sha256sum | cut -c1-64)" >"$T/madeup.ds"

dnssec_cfg() { printf '{"dns": {"dnssec": "validate", "trustAnchor": "%s"}}' "$1"; }
cobble_up dnssec "$(dnssec_cfg "$T/sec.ds")" || { notok "cobble starts with dns.dnssec validate"; exit 1; }
ACCT=$(account "$K1")
pub sec.test _validation-persist.www 300 "$ISSUER; accounturi=$ACCT"
order sec1 "$K1" --identifiers www.sec.test
issued "DNSSEC validate with the zone's DS as anchor: valid, chain verifies" sec1 www.sec.test

for anchor in otherkey madeup; do
	cobble_up "dnssec-$anchor" "$(dnssec_cfg "$T/$anchor.ds")" ||
		{ notok "cobble starts with the $anchor trust anchor"; continue; }
	ACCT=$(account "$K1")
	knot_unset sec.test _validation-persist.www TXT
	pub sec.test _validation-persist.www 300 "$ISSUER; accounturi=$ACCT"
	order "sec-$anchor" "$K1" --identifiers www.sec.test --expect invalid
	refused "DNSSEC validate with a wrong anchor ($anchor DS): dns problem, detail says bogus" "sec-$anchor" dns \
		'contains("_validation-persist.www.sec.test") and test("DNSSEC|bogus")'
done
