#!/usr/bin/env bash
# End-to-end: dns-account-01 (draft-ietf-acme-dns-account-label-03) with the real cobble, a private
# Knot on loopback and the npm acme-client driven by test/node/persist-client.js, which computes
# each account's label and value itself; this script publishes them with Knot. A name, a wildcard
# with its base name, two accounts validating one name at once at their two labels, a record left
# at dns-01's plain _acme-challenge name (refused, and the detail says so), `cobble record`
# agreeing with the client, CAA validationmethods, and the `challenges` config. Every chain is checked with
# `openssl verify` (the helpers of test/lib/persist.sh).
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/persist.sh"

knot_start a.test || { notok "knotd serves a.test"; exit 1; }
cobble_up account || { notok "cobble starts with the default config"; exit 1; }
ok "knotd on 127.0.0.1:$KNOT_PORT and cobble on $ACME_PORT"

K1=$T/acct1.key K2=$T/acct2.key
ACCT1=$(account "$K1"); ACCT2=$(account "$K2")
[[ -n "$ACCT1" && -n "$ACCT2" && "$ACCT1" != "$ACCT2" ]] ||
	{ notok "two accounts (got '$ACCT1' and '$ACCT2')"; show "$T/client.err"; exit 1; }

# start TAG KEY NAMES: an order for NAMES, nothing answered yet ($T/TAG.json has the records the
# client computed); answer TAG KEY: POST its challenges and finish it into $T/TAG-done.json.
start() { order "$1" "$2" --challenge dns-account-01 --identifiers "$3" --no-challenge --expect pending; }
answer() {
	order "$1-done" "$2" --challenge dns-account-01 --order-url "$(jq -r .order.url "$T/$1.json")" \
		--expect "${3:-valid}"
}
# publish TAG [OWNER]: put each authorization's value at the owner the client computed (or OWNER).
publish() {
	local tag=$1 owner=${2:-} o v
	while read -r o v; do
		knot_set a.test "${owner:-$o}." 60 TXT "\"$v\"" || return 1
	done < <(jq -r '.authorizations[] | .record | "\(.owner) \(.value)"' "$T/$tag.json")
}

# (1) a name
start one "$K1" one.a.test
L1=$(jq -r '.authorizations[0].record.owner // empty' "$T/one.json")
jq_ok "dns-account-01 is offered by default, with a token" one \
	'.authorizations[0].challenge.type == "dns-account-01" and (.authorizations[0].challenge.token | length >= 22)'
# cobble record, from the account URL, the token and the account key, names the same record
TOKEN=$(jq -r '.authorizations[0].challenge.token' "$T/one.json")
"$COBBLE_BIN" record --challenge dns-account-01 --identifier one.a.test --account-url "$ACCT1" \
	--token "$TOKEN" --account-key "$K1" --zone a.test >"$T/record.out" 2>&1
check "cobble record --challenge dns-account-01 prints the owner and value the client computed" \
	grep -qxF "  owner: $L1." "$T/record.out"
check "... and the same value" grep -qxF "  value: $(jq -r '.authorizations[0].record.value' "$T/one.json")" \
	"$T/record.out"
# its knotc line, run as printed (pointed at this test's Knot), publishes the record
cmd=$(grep -A1 '^Knot DNS:' "$T/record.out" | tail -1 | sed 's/^ *//')
eval "${cmd//knotc /_knotc }" >"$T/knotc.out" 2>&1 || { notok "cobble record's knotc command runs"; show "$T/knotc.out"; }
wait_for 10 sh -c "kdig @127.0.0.1 -p $KNOT_PORT +short TXT $L1 | grep -q ." ||
	notok "the record cobble record printed is served"
answer one "$K1"
issued "a name: valid at $L1, chain verifies" one-done one.a.test
jq_ok "validationRecord names the account's label" one-done \
	'.authorizations[0].challenge.validationRecord | any(.[]; .name == $n)' --arg n "$L1"

# (2) a wildcard and its base name: both validated at _<label>._acme-challenge.<base>, two values
start wild "$K1" '*.wild.a.test,wild.a.test'
jq_ok "the wildcard's record stands at the base name's label" wild \
	'[.authorizations[].record.owner] | unique | length == 1 and .[0] == $o' \
	--arg o "$(jq -r .authorizations[0].record.owner "$T/one.json" | sed 's/one\.a\.test$/wild.a.test/')"
publish wild || notok "publish wild.a.test"
answer wild "$K1"
issued "*.wild and wild: valid, chain verifies" wild-done '*.wild.a.test' wild.a.test

# (3) two accounts, one name, at once: both records stand together, both validations run together
start both1 "$K1" both.a.test
start both2 "$K2" both.a.test
B1=$(jq -r '.authorizations[0].record.owner' "$T/both1.json")
B2=$(jq -r '.authorizations[0].record.owner' "$T/both2.json")
if [[ "$B1" == _*._acme-challenge.both.a.test && "$B2" == _*._acme-challenge.both.a.test && "$B1" != "$B2" ]]; then
	ok "two accounts, two labels: $B1 and $B2"
else
	notok "two accounts, two labels (got '$B1' and '$B2')"
fi
publish both1 && publish both2 || notok "publish both.a.test"
answer both1 "$K1" &
p1=$!
answer both2 "$K2" &
p2=$!
wait "$p1" "$p2"
issued "account 1 of 2 on the same name at the same time: valid, chain verifies" both1-done both.a.test
issued "account 2 of 2 on the same name at the same time: valid, chain verifies" both2-done both.a.test

# (4) the value at dns-01's plain name by habit: refused, and the detail says where and why
start plain "$K1" plain.a.test
LP=$(jq -r '.authorizations[0].record.owner' "$T/plain.json")
publish plain _acme-challenge.plain.a.test || notok "publish _acme-challenge.plain.a.test"
answer plain "$K1" invalid
refused "value at plain _acme-challenge: refused; the detail names the label, the account URL and the plain name" \
	plain-done dns 'contains($l) and contains($a) and contains("SHA-256") and
	 contains("IS published at _acme-challenge.plain.a.test") and contains("dns-01")' --arg l "$LP" --arg a "$ACCT1"

# (5) nothing published anywhere: refused, the label explained, no claim about the plain name
start none "$K2" none.a.test
answer none "$K2" invalid
refused "nothing published: refused; the detail names the label and the account URL only" none-done dns \
	'contains($l) and contains($a) and (contains("IS published") | not)' \
	--arg l "$(jq -r '.authorizations[0].record.owner' "$T/none.json")" --arg a "$ACCT2"

# (6) CAA (RFC 8657 §4): validationmethods names dns-account-01 by its type name
knot_set a.test meth 300 CAA '0 issue "cobble.test; validationmethods=dns-01"'
start meth "$K1" meth.a.test
publish meth || notok "publish meth.a.test"
answer meth "$K1" invalid
refused "CAA validationmethods=dns-01 refuses dns-account-01 even with the record in place" meth-done caa \
	'contains("validationmethods=dns-01 does not include dns-account-01")'
knot_set a.test methok 300 CAA '0 issue "cobble.test; validationmethods=dns-account-01"'
start methok "$K1" methok.a.test
publish methok || notok "publish methok.a.test"
answer methok "$K1"
issued "CAA validationmethods=dns-account-01 permits it" methok-done methok.a.test

# (7) `challenges` config: listed types only
cobble_up only01 '{"challenges": ["dns-01"]}' || notok "cobble starts with challenges [dns-01]"
ACCT3=$(account "$K1")
order off "$K1" --challenge dns-account-01 --identifiers off.a.test --no-challenge --expect pending
jq_ok "challenges [\"dns-01\"]: no dns-account-01 offered" off \
	'[.authorizations[0] | .challenge] == [null] and .outcome == "pending"'
[ -n "$ACCT3" ] || notok "account on the restarted cobble"
