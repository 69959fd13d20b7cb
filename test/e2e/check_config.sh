#!/usr/bin/env bash
# End-to-end: `cobble check-record --config FILE -dnsserver ...` agrees with the server run on the
# same configuration and the same records (issue 10 item 4): for each case the acme-client driver
# gets the server's verdict (valid, or the challenge's problem type) and check-record gives its
# own; both must equal the expected one. Cases: a name, a wildcard, a parent's policy=wildcard
# record with dnsPersist.subdomains on, draft -02 hashed records (and a short hash), CAA refusals.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/persist.sh"

knot_start cc.test || { notok "knotd serves cc.test"; exit 1; }

# agree NAME TAG IDENTIFIER WANT [CHECK-RECORD ARGS...]: the server's verdict on IDENTIFIER (an
# order by $KEY) and check-record's under the same config both equal WANT ("valid" or an ACME
# error name such as "caa").
agree() {
	local name=$1 tag=$2 ident=$3 want=$4; shift 4
	local expect=valid; [ "$want" = valid ] || expect=invalid
	order "$tag" "$KEY" --identifiers "$ident" --expect "$expect"
	local server
	server=$(jq -r 'if .outcome == "valid" then "valid" else
		(.authorizations[0].error.type // .error.type // "none" | sub("^urn:ietf:params:acme:error:"; "")) end' \
		"$T/$tag.json")
	"$COBBLE_BIN" check-record --config "$CFG" -dnsserver "127.0.0.1:$KNOT_PORT" -listen "127.0.0.1:$ACME_PORT" \
		--identifier "$ident" --account-url "$ACCT" "$@" --json >"$T/$tag.cr.json" 2>"$T/$tag.cr.err"
	local rc=$? want_rc=1 tool
	[ "$want" = valid ] && want_rc=0
	tool=$(jq -r 'if .status == "valid" then "valid" else (.type // "none" | sub("^urn:ietf:params:acme:error:"; "")) end' \
		"$T/$tag.cr.json" 2>/dev/null)
	[ "$rc" -eq "$want_rc" ] || tool="$tool (exit status $rc, wanted $want_rc)"
	if [ "$server" = "$want" ] && [ "$tool" = "$want" ]; then
		ok "$name: server and check-record --config both say $want"
	else
		notok "$name: server says $server, check-record says $tool, expected $want"
		show "$T/$tag.json" "$T/$tag.err" "$T/$tag.cr.json" "$T/$tag.cr.err"
	fi
}

# ---- draft 01 with subdomains on ------------------------------------------------------------
cobble_up sub01 '{"dnsPersist": {"subdomains": true}}' || { notok "cobble starts (draft 01, subdomains)"; exit 1; }
CFG=$T/cfg-sub01.json KEY=$T/acct1.key
ACCT=$(account "$KEY")
pub cc.test _validation-persist.name 300 "$ISSUER; accounturi=$ACCT"
agree "a name" name name.cc.test valid
pub cc.test _validation-persist.w 300 "$ISSUER; accounturi=$ACCT; policy=wildcard"
agree "a wildcard" wild '*.w.cc.test' valid
pub cc.test _validation-persist.nowild 300 "$ISSUER; accounturi=$ACCT"
agree "a wildcard without policy=wildcard" nowild '*.nowild.cc.test' unauthorized
pub cc.test _validation-persist.par 300 "$ISSUER; accounturi=$ACCT; policy=wildcard"
agree "a name covered only by its parent's policy=wildcard record (subdomains on)" deep deep.par.cc.test valid
pub cc.test _validation-persist.other 300 "$ISSUER; accounturi=$ACCT/other"
agree "a record for another account" other other.cc.test unauthorized
knot_set cc.test caa 300 CAA '0 issue "otherca.example"'
pub cc.test _validation-persist.caa 300 "$ISSUER; accounturi=$ACCT"
agree "a good record under a CAA record naming another CA" caa caa.cc.test caa
# without --config check-record reports the CAA verdict beside the record's, too
out=$("$COBBLE_BIN" check-record --identifier caa.cc.test --account-url "$ACCT" --resolver "127.0.0.1:$KNOT_PORT" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && grep -q '^Verdict: valid' <<<"$out" && grep -q '^CAA: forbidden: CAA records at caa.cc.test' <<<"$out" &&
	grep -q '^Verdict with CAA: invalid (caa)' <<<"$out"; then
	ok "check-record without --config: the record's verdict (valid) and the CAA verdict (forbidden) side by side, exit 1"
else
	notok "check-record without --config shows the CAA verdict (exit $rc)"; echo "$out" | sed 's/^/    # /'
fi
knot_set cc.test caam 300 CAA '0 issue "cobble.test; validationmethods=dns-01"'
pub cc.test _validation-persist.caam 300 "$ISSUER; accounturi=$ACCT"
agree "a good record under CAA validationmethods=dns-01" caam caam.cc.test caa
agree "no record at all (NXDOMAIN climbs with subdomains on)" none none.cc.test unauthorized

# ---- draft 02 -------------------------------------------------------------------------------
cobble_up d02 '{"dnsPersist": {"draft": "02"}}' || { notok "cobble starts (draft 02)"; exit 1; }
CFG=$T/cfg-d02.json KEY=$T/acct2.key
ACCT=$(account "$KEY")
PREFIX=$(curl -sS --cacert "$CA_BUNDLE" "$DIR_URL" | jq -r '.meta.accountHashPrefix')
TP=$(client hash --prefix "$PREFIX" --domain x --account-key "$KEY" --account-url "$ACCT" | jq -r .thumbprint)
hash() { client hash --prefix "$PREFIX" --domain "$1" --account-key "$KEY" --account-url "$ACCT" | jq -r .accounturi; }
pub cc.test _validation-persist.h02 300 "$ISSUER; accounturi=$(hash h02.cc.test)"
agree "draft 02: a hashed accounturi" h02 h02.cc.test valid --thumbprint "$TP"
short=$(hash short02.cc.test); short=${short%?}
pub cc.test _validation-persist.short02 300 "$ISSUER; accounturi=$short"
agree "draft 02: a hash one character short" short02 short02.cc.test malformed --thumbprint "$TP"
pub cc.test _validation-persist.plain02 300 "$ISSUER; accounturi=$ACCT"
agree "draft 02: the plain account URL" plain02 plain02.cc.test malformed --thumbprint "$TP"
knot_set cc.test caa02 300 CAA "0 issue \"cobble.test; accounturi=$ACCT\""
pub cc.test _validation-persist.caa02 300 "$ISSUER; accounturi=$(hash caa02.cc.test)"
agree "draft 02: CAA accounturi is the plain account URL, not the hash" caa02 caa02.cc.test valid --thumbprint "$TP"

# check-record --config refuses what the server would refuse to start with
echo '{"caaIdentities": ["other.test"]}' >"$T/bad.json"
out=$("$COBBLE_BIN" check-record --config "$T/bad.json" --identifier a.cc.test --account-url "$ACCT" 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && [[ "$out" == *"caaIdentities: lacks"* ]]; then
	ok "check-record --config refuses a configuration the server refuses (exit 2, names the key)"
else
	notok "check-record --config refuses a bad configuration (exit $rc)"; echo "$out" | sed 's/^/    # /'
fi
