#!/usr/bin/env bash
# End-to-end: CAA for every validation (RFC 8659, RFC 8657, spec/dns-persist-01.md §5) with the
# real cobble, a private Knot and the acme-client driver (helpers in test/lib/persist.sh):
# tree climbing, issue/issuewild, accounturi, validationmethods, the critical flag, the
# `caa` problem, the CAA answer in validationRecord, the recheck at finalize of an authorization
# whose CAA check is over 7 h old (BR §3.2.2.8), and config `caa: false`.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/persist.sh"

knot_start c.test || { notok "knotd serves c.test"; exit 1; }
cobble_up caa || { notok "cobble starts with CAA on (the default)"; exit 1; }
K1=$T/acct1.key
ACCT=$(account "$K1")
[ -n "$ACCT" ] || { notok "an account on cobble"; show "$T/client.err"; exit 1; }

# caa_refused NAME TAG DETAIL-EXPR [JQ-ARGS...]: refused with problem caa (403 is the server's)
caa_refused() { refused "$1" "$2" caa "$3" "${@:4}"; }
# persist OWNER-LABEL [PARAMS]: this account's dns-persist-01 record under c.test
persist() { pub c.test "_validation-persist${1:+.$1}" 300 "$ISSUER; accounturi=$ACCT${2:-}"; }

# no CAA anywhere: the climb ends at the TLD (REFUSED by a Knot that does not serve "test")
persist none
order none "$K1" --identifiers none.c.test
issued "no CAA record anywhere: issued (Knot's REFUSED for the TLD means no CAA there)" none none.c.test
jq_ok "validationRecord keeps the CAA answer beside the TXT lookup" none \
	'.authorizations[0].challenge.validationRecord | any(.type == "CAA" and .caaVerdict == "permitted")
	 and any(.type == "TXT")'

# tree climbing: the apex's CAA decides for a name below it
knot_set c.test @ 300 CAA '0 issue "cobble.test"'
persist a.b
order climb "$K1" --identifiers a.b.c.test
issued "CAA issue \"cobble.test\" at the zone apex: a.b.c.test climbs to it and is issued" climb a.b.c.test
jq_ok "  its validationRecord names c.test and the property" climb \
	'.authorizations[0].challenge.validationRecord | any(.type == "CAA" and .hostname == "c.test" and
	 (.caa | index("0 issue cobble.test")) != null)'

# the closest RRset wins over the apex's
knot_set c.test other 300 CAA '0 issue "otherca.example"'
persist other
order other "$K1" --identifiers other.c.test --expect invalid
caa_refused "CAA naming another CA at the name itself: caa, detail names the owner and the property" other \
	'contains("other.c.test") and contains("0 issue \"otherca.example\"") and contains("names otherca.example")'

knot_set c.test meth 300 CAA '0 issue "cobble.test; validationmethods=dns-01"'
persist meth
order meth "$K1" --identifiers meth.c.test --expect invalid
caa_refused "CAA validationmethods=dns-01 refuses dns-persist-01 (RFC 8657 §4)" meth \
	'contains("meth.c.test") and contains("validationmethods=dns-01 does not include dns-persist-01")'

knot_set c.test methok 300 CAA '0 issue "cobble.test; validationmethods=dns-01,dns-persist-01"'
persist methok
order methok "$K1" --identifiers methok.c.test
issued "CAA validationmethods listing dns-persist-01 permits it" methok methok.c.test

knot_set c.test acct 300 CAA "0 issue \"cobble.test; accounturi=$ACCT\""
persist acct
order acct "$K1" --identifiers acct.c.test
issued "CAA accounturi equal to the plain account URL permits (RFC 8657 §3)" acct acct.c.test
K2=$T/acct2.key
ACCT2=$(account "$K2")
ACCT_SAVE=$ACCT ACCT=$ACCT2
persist acct
ACCT=$ACCT_SAVE
order acct2 "$K2" --identifiers acct.c.test --expect invalid
caa_refused "CAA accounturi of another account refuses, detail shows both URLs" acct2 \
	'contains("accounturi=" + $a + " is not this account (" + $b + ")")' --arg a "$ACCT" --arg b "$ACCT2"

knot_set c.test crit 300 CAA '128 tbs "x"'
knot_set c.test crit 300 CAA '0 issue "cobble.test"'
persist crit
order crit "$K1" --identifiers crit.c.test --expect invalid
caa_refused "an unknown critical property forbids issuance (RFC 8659 §4.1)" crit \
	'contains("crit.c.test") and contains("critical property 128 tbs")'

# issuewild
knot_set c.test w 300 CAA '0 issue "cobble.test"'
knot_set c.test w 300 CAA '0 issuewild ";"'
persist w "; policy=wildcard"
order wild "$K1" --identifiers '*.w.c.test' --expect invalid
caa_refused "a wildcard meets issuewild \";\": refused, detail names issuewild" wild \
	'contains("w.c.test") and contains("issuewild")'
order wplain "$K1" --identifiers w.c.test
issued "  while the plain name under the same RRset uses issue and is issued" wplain w.c.test

# CA/B Forum BR §3.2.2.8: a reused authorization whose CAA check is over 7 h old (cobble's clock,
# POST /clock) has CAA checked again at finalize. The record's 1-day TTL lets draft 01 reuse it.
clock() { curl -sS --cacert "$CA_BUNDLE" -d "{\"advance\": $1}" "https://localhost:$MGMT_PORT/clock" >/dev/null; }
same_authz() { jq_ok "$1" "$2" '.authorizations[0] | .url == $u and .statusAtCreation == "valid"' \
	--arg u "$(jq -r '.authorizations[0].url' "$T/re1.json")"; }
caa_now() { knot_unset c.test re CAA; knot_set c.test re 300 CAA "0 issue \"$1\""; }
knot_set c.test re 300 CAA '0 issue "cobble.test"'
pub c.test _validation-persist.re 86400 "$ISSUER; accounturi=$ACCT"
order re1 "$K1" --identifiers re.c.test
issued "recheck: validated with CAA permitting, issued" re1 re.c.test
caa_now otherca.example
order re2 "$K1" --identifiers re.c.test
same_authz "recheck: a second order reuses the valid authorization" re2
issued "  within 7 h of its CAA check it is not checked again: issued though CAA now names another CA" \
	re2 re.c.test
clock $((8 * 3600 + 60))
order re3 "$K1" --identifiers re.c.test --expect invalid
same_authz "recheck: 8 h later a new order still reuses the authorization" re3
jq_ok "  finalize checks CAA again: the order is invalid with caa, naming the name, the age and the record" re3 \
	'.order.status == "invalid" and .outcome == "invalid" and .certificate == null and
	 .order.error.type == $t and (.order.error.detail | contains("CAA checked again at issuance for re.c.test")
	 and contains("validation was 8 hours old") and contains("0 issue \"otherca.example\""))' --arg t "${P}caa"
check "  the log line says so" grep -q 'caa recheck at issuance: re.c.test .* -> refused' "$COBBLE_LOG"
caa_now cobble.test
order re4 "$K1" --identifiers re.c.test
issued "recheck: with CAA permitting again, the recheck at finalize lets the certificate through" re4 re.c.test
check "  the log line names the recheck and what permitted it" \
	grep -q 'caa recheck at issuance: re.c.test .* -> permitted' "$COBBLE_LOG"
mgmt / >"$T/status.html"
check "  the status page lists both rechecks among the validations" \
	bash -c 'grep -q "caa recheck re.c.test.*permitted" "$1" && grep -q "caa recheck re.c.test.*refused" "$1"' _ \
	"$T/status.html"
caa_now otherca.example
order re5 "$K1" --identifiers re.c.test
issued "  that permit refreshed the check: the next order within 7 h is issued without one" re5 re.c.test
# RFC 8659 §3: a recheck whose lookup fails forbids issuance too (Knot frozen: the lookup times out)
caa_now cobble.test
clock $((8 * 3600 + 60))
kill -STOP "$KNOT_PID"
order re6 "$K1" --identifiers re.c.test --expect invalid
kill -CONT "$KNOT_PID"
jq_ok "recheck: a lookup that fails at finalize (DNS server silent) makes the order invalid with caa" re6 \
	'.order.status == "invalid" and .certificate == null and .order.error.type == $t and
	 (.order.error.detail | contains("CAA checked again at issuance for re.c.test") and
	  contains("last CAA check was 8 hours old") and contains("CAA lookup for re.c.test"))' --arg t "${P}caa"

# config caa: false turns the check off
cobble_up nocaa '{"caa": false}' || { notok "cobble starts with caa false"; exit 1; }
ACCT=$(account "$K1")
knot_unset c.test _validation-persist.other TXT
persist other
order nocaa "$K1" --identifiers other.c.test
issued "config caa: false: the other CA's CAA record is not consulted" nocaa other.c.test

# caaIdentities: another identity of this CA
cobble_up ids '{"caaIdentities": ["cobble.test", "ca.c.test"]}' || { notok "cobble starts with caaIdentities"; exit 1; }
curl -sS --cacert "$CA_BUNDLE" "$DIR_URL" >"$T/dir.json"
jq_ok "the directory's caaIdentities come from config caaIdentities" dir \
	'.meta.caaIdentities == ["cobble.test", "ca.c.test"]'
ACCT=$(account "$K1")
knot_set c.test alias 300 CAA '0 issue "CA.c.test."'
persist alias
order alias "$K1" --identifiers alias.c.test
issued "CAA naming a configured caaIdentities entry (case and trailing dot ignored) permits" alias alias.c.test
