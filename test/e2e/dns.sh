#!/usr/bin/env bash
# End-to-end: common/dns through `cobble dig` against a private Knot on loopback. Checks raw TXT
# octets, RR and string boundaries, TTLs, CNAMEs, every result class, TCP fallback and DNSSEC.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/knot.sh"

for tool in knotd knotc keymgr kdig jq; do
	command -v "$tool" >/dev/null || { skip "dns end-to-end" "$tool is not installed"; exit 0; }
done
[ -x "$COBBLE_BIN" ] || { notok "cobble binary $COBBLE_BIN exists"; exit 1; }

# dig_run ARGS...: cobble dig; its JSON in $T/dig.json, exit status in DIG_RC, time in DIG_MS.
# A sanitizer report on stderr (ASan build) is a failure of its own.
dig_run() {
	local start end
	start=$(date +%s%N)
	"$COBBLE_BIN" dig "$@" >"$T/dig.json" 2>"$T/dig.err"
	DIG_RC=$?
	end=$(date +%s%N)
	DIG_MS=$(( (end - start) / 1000000 ))
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/dig.err"; then
		notok "cobble dig $* ran clean under sanitizers"
		sed 's/^/    # /' "$T/dig.err" | head -60
	fi
}
R() { echo "--resolver" "127.0.0.1:$KNOT_PORT"; }

# expect NAME RC JQ-EXPR [JQ-ARGS...]: the last dig exited RC and EXPR holds on its JSON; the
# EXPR `true` asks for no JSON at all (a usage error prints none).
expect() {
	local name=$1 rc=$2 expr=$3; shift 3
	if [ "$DIG_RC" = "$rc" ] && { [ "$expr" = true ] || jq -e "$@" "$expr" "$T/dig.json" >/dev/null 2>&1; }; then
		ok "$name"
	else
		notok "$name"
		echo "    # wanted exit $rc and: $expr"
		echo "    # got exit $DIG_RC in $DIG_MS ms:"
		sed 's/^/    #   /' "$T/dig.json" "$T/dig.err" | head -60
	fi
}
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

knot_start plain.test other.test || { notok "knotd serves the unsigned zones"; exit 1; }
knot_start_signed signed.test wrong.test || { notok "knotd serves the signed zones"; exit 1; }
ok "knotd runs on 127.0.0.1:$KNOT_PORT with plain.test, other.test, signed.test, wrong.test"

# --- TXT octets and boundaries ---
knot_set plain.test _validation-persist.multi 300 TXT \
	'"cobble.test; accounturi=https://ca.example/acct/1" "; policy=wildcard"'
dig_run $(R) TXT _validation-persist.multi.plain.test
expect "one TXT RR with two character-strings keeps them apart, exact bytes" 0 \
	'.result == "NOERROR" and (.txt | length) == 1 and .txt[0].strings ==
	 ["cobble.test; accounturi=https://ca.example/acct/1", "; policy=wildcard"] and
	 .txt[0].hex == [$h1, $h2] and .txt[0].ttl == 300 and .min_ttl == 300' \
	--arg h1 "$(hex 'cobble.test; accounturi=https://ca.example/acct/1')" --arg h2 "$(hex '; policy=wildcard')"

knot_set plain.test tab 300 TXT '"cobble.test;\009accounturi=x" "nul\000byte" "high\255"'
dig_run $(R) TXT tab.plain.test
expect "TAB inside a string is byte 09 (not \\009), NUL and 0xff survive" 0 \
	'.txt[0].hex == ["636f62626c652e746573743b096163636f756e747572693d78", "6e756c0062797465", "68696768ff"]
	 and .txt[0].strings[0] == "cobble.test;\taccounturi=x" and .txt[0].strings[1] == "nul\u0000byte"'

knot_set plain.test several 123 TXT '"first record"'
knot_set plain.test several 123 TXT '"second" "record"'
dig_run $(R) TXT several.plain.test
expect "several TXT RRs stay separate records, each with its TTL" 0 \
	'.result == "NOERROR" and (.txt | length) == 2 and
	 ([.txt[] | .strings] | sort) == [["first record"], ["second", "record"]] and
	 ([.txt[].ttl] | unique) == [123] and .min_ttl == 123'

# --- CNAME ---
knot_set plain.test target 200 TXT '"at the target"'
knot_set plain.test _validation-persist.alias 60 CNAME target.plain.test.
dig_run $(R) TXT _validation-persist.alias.plain.test
expect "a CNAME at the owner is followed (in-zone chain)" 0 \
	'.result == "NOERROR" and .txt[0].strings == ["at the target"] and .txt[0].ttl == 200 and
	 .min_ttl == 60 and (.detail | test("CNAME"))'

knot_set other.test delegated 300 TXT '"in another zone"'
knot_set plain.test _validation-persist.away 60 CNAME delegated.other.test.
dig_run $(R) TXT _validation-persist.away.plain.test
expect "a CNAME into another zone the authoritative server does not chase is followed" 0 \
	'.result == "NOERROR" and .txt[0].strings == ["in another zone"] and (.txt | length) == 1'

knot_set plain.test _validation-persist.dangling 60 CNAME nowhere.plain.test.
dig_run $(R) TXT _validation-persist.dangling.plain.test
expect "a CNAME to a name that does not exist is NXDOMAIN" 1 '.result == "NXDOMAIN"'

# --- result classes ---
dig_run $(R) TXT _validation-persist.nothing.plain.test
expect "NXDOMAIN: the name does not exist (exit 1)" 1 \
	'.result == "NXDOMAIN" and .txt == [] and (.detail | test("does not exist"))'

knot_set plain.test hostonly 60 A 192.0.2.10
dig_run $(R) TXT hostonly.plain.test
expect "NODATA: the name exists without TXT (exit 0)" 0 '.result == "NODATA" and .txt == []'

dig_run $(R) TXT _validation-persist.example.com
expect "a name outside Knot's zones (REFUSED) is SERVFAIL-class, with the rcode in the detail" 1 \
	'.result == "SERVFAIL" and (.detail | test("REFUSED from 127\\.0\\.0\\.1:[0-9]+ for TXT"))'

dead=$(free_port)
dig_run --resolver "127.0.0.1:$dead" --timeout 1500 TXT _validation-persist.plain.test
if [ "$DIG_MS" -le 2500 ]; then
	expect "nothing listening on the resolver port: TIMEOUT within the timeout ($DIG_MS ms)" 1 \
		'.result == "TIMEOUT" and .resolver == $r and (.detail | test("no answer from"))' \
		--arg r "127.0.0.1:$dead"
else
	notok "nothing listening on the resolver port: TIMEOUT within the timeout (took $DIG_MS ms)"
fi

dig_run --resolver "127.0.0.1:$dead" --resolver "127.0.0.1:$KNOT_PORT" --timeout 4000 TXT several.plain.test
expect "a dead first resolver, then the live second one answers" 0 \
	'.result == "NOERROR" and (.txt | length) == 2'

# --- TCP fallback: 12 RRs of 2 x 255 octets, about 6 KB, far over 1232 ---
big_expect=()
for i in $(seq 10 21); do
	a=$(printf "%0255d" 0 | tr 0 "$(printf "\\x$(printf %x $((i + 55)))")")
	b=$(printf "%0255d" "$i")
	knot_set plain.test big 300 TXT "\"$a\" \"$b\"" || notok "knot_set big $i"
	big_expect+=("$(hex "$a")" "$(hex "$b")")
done
tc=$(knot_dig +ignore +notcp +bufsize=1232 big.plain.test TXT | grep -c 'Flags:.* tc')
[ "$tc" = 1 ] && ok "the big RRset is truncated over UDP (precondition)" || notok "the big RRset is truncated over UDP (precondition)"
dig_run $(R) TXT big.plain.test
expect "a TXT RRset over 1232 bytes arrives whole (TCP fallback)" 0 \
	'.result == "NOERROR" and (.txt | length) == 12 and
	 ([.txt[] | .strings | length] | unique) == [2] and
	 ([.txt[].hex[]] | sort) == ($want | split(" ") | sort) and
	 ([.txt[].strings[] | length] | unique) == [255]' \
	--arg want "${big_expect[*]}"

# --- A/AAAA and CAA ---
knot_set plain.test host 60 A 192.0.2.1
knot_set plain.test host 60 AAAA 2001:db8::1
dig_run $(R) A host.plain.test
expect "A asks A and AAAA: A first" 0 '.addrs == ["192.0.2.1", "2001:db8::1"]'
knot_set plain.test caa 60 CAA '0 issue "cobble.test; validationmethods=dns-persist-01"'
dig_run $(R) CAA caa.plain.test
expect "CAA comes back as flags tag value" 0 \
	'.caa == ["0 issue cobble.test; validationmethods=dns-persist-01"]'

# --- DNSSEC ---
knot_set signed.test _validation-persist 300 TXT '"cobble.test; accounturi=https://ca.example/acct/1"'
knot_trust_anchor signed.test "$T/signed.ds" || notok "keymgr gives signed.test's DS"
knot_trust_anchor wrong.test "$T/wrong.ds" || notok "keymgr gives wrong.test's DS"
sed 's/^wrong\.test\./signed.test./' "$T/wrong.ds" >"$T/other-key.ds"

dig_run $(R) --dnssec validate --trust-anchor "$T/signed.ds" TXT _validation-persist.signed.test
expect "validate with the zone's DS as anchor: secure" 0 \
	'.result == "NOERROR" and .secure == true and .txt[0].strings == ["cobble.test; accounturi=https://ca.example/acct/1"]'

# getdns races its DS and DNSKEY queries against an authoritative upstream; repeat to be sure.
bad=0
for i in $(seq 1 25); do
	dig_run $(R) --dnssec require --trust-anchor "$T/signed.ds" TXT _validation-persist.signed.test
	[ "$DIG_RC" = 0 ] && jq -e '.secure' "$T/dig.json" >/dev/null || bad=$((bad + 1))
done
[ "$bad" = 0 ] && ok "require with the right anchor is secure 25 times out of 25" \
	|| notok "require with the right anchor is secure 25 times out of 25 ($bad were not)"

dig_run $(R) --dnssec validate --trust-anchor "$T/signed.ds" TXT nothing.signed.test
expect "validate: a signed NXDOMAIN is secure" 1 '.result == "NXDOMAIN" and .secure == true'
dig_run $(R) --dnssec validate --trust-anchor "$T/signed.ds" TXT signed.test
expect "validate: a signed NODATA is secure" 0 '.result == "NODATA" and .secure == true'

dig_run $(R) --dnssec validate --trust-anchor "$T/other-key.ds" TXT _validation-persist.signed.test
expect "validate with another key's DS as anchor: BOGUS" 1 \
	'.result == "BOGUS" and .secure == false and (.detail | test("bogus"))'

knot_dig +noall +answer signed.test DNSKEY | grep -w DNSKEY >"$T/signed.dnskey"
dig_run $(R) --dnssec validate --trust-anchor "$T/signed.dnskey" TXT _validation-persist.signed.test
expect "validate with the zone's DNSKEY as anchor: secure" 0 '.result == "NOERROR" and .secure == true'

dig_run $(R) --dnssec require --trust-anchor "$T/signed.ds" TXT _validation-persist.multi.plain.test
expect "require against an unsigned zone: INSECURE" 1 '.result == "INSECURE" and .secure == false'
dig_run $(R) --dnssec validate --trust-anchor "$T/signed.ds" TXT _validation-persist.multi.plain.test
expect "validate against an unsigned zone: the answer, not secure" 0 \
	'.result == "NOERROR" and .secure == false and (.txt | length) == 1'

# --- usage ---
dig_run TXT
expect "a missing NAME is a usage error (exit 2)" 2 'true'
dig_run $(R) MX plain.test
expect "an unknown TYPE is a usage error (exit 2)" 2 'true'
dig_run --resolver not-an-ip:53 TXT plain.test
expect "a resolver that is not an IP address is a usage error (exit 2)" 2 'true'
dig_run $(R) --dnssec validate TXT plain.test
expect "dnssec validate without a trust anchor is a usage error (exit 2)" 2 'true'
echo "garbage here" >"$T/garbage.ds"
dig_run $(R) --dnssec validate --trust-anchor "$T/garbage.ds" TXT plain.test
expect "a trust anchor file without DS/DNSKEY is refused (exit 2)" 2 'true'
