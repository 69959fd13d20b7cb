#!/usr/bin/env bash
# vectors: every line of ../shared/vectors/dns-persist-01.jsonl through `cobble check-record
# --vectors`, one TAP line per vector id (spec/dns-persist-01.md sections 1-3), and the
# command's answer to a malformed input line.
. "$(dirname "$0")/../lib/common.sh"

if [ ! -d "$SHARED/vectors" ]; then
	skip "conformance vectors" "../shared not present"
	exit 0
fi
VEC=$SHARED/vectors/dns-persist-01.jsonl

rc=0
"$COBBLE_BIN" check-record --vectors "$VEC" >"$T/out.jsonl" 2>"$T/err" || rc=$?
if [ "$rc" -eq 0 ]; then
	ok "check-record --vectors reads every line and exits 0"
else
	notok "check-record --vectors reads every line and exits 0 (status $rc)"
	sed 's/^/    # /' "$T/err" | head -40
fi

# expect "valid" <-> status valid and type null; "malformed"/"unauthorized" <-> invalid and that
# type. One line per vector: PASS|FAIL, id, expect, what came back.
python3 - "$VEC" "$T/out.jsonl" >"$T/cmp" <<'EOF'
import json, sys
vecs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
got = {}
for l in open(sys.argv[2], encoding="utf-8"):
    if l.strip():
        o = json.loads(l)
        got[o.get("id")] = o
for v in vecs:
    o = got.get(v["id"])
    want = ("valid", None) if v["expect"] == "valid" else ("invalid", v["expect"])
    if o is None:
        print("FAIL\t%s\t%s\tno verdict" % (v["id"], v["expect"]))
        continue
    res = (o.get("status"), o.get("type"))
    note = "%s/%s: %s" % (res[0], res[1], o.get("detail", "")) if res != want else ""
    print("%s\t%s\t%s\t%s" % ("PASS" if res == want else "FAIL", v["id"], v["expect"], note.replace("\t", " ")))
EOF
while IFS=$'\t' read -r verdict id expect note; do
	if [ "$verdict" = PASS ]; then
		ok "vector $id is $expect"
	else
		notok "vector $id is $expect"
		echo "    # got $note"
	fi
done <"$T/cmp"
[ -s "$T/cmp" ] || notok "vectors compared (python3 failed or the file is empty)"

# A malformed input line is a usage error naming its line number, exit status 2.
bad_line() { # NAME LINE-NUMBER INPUT
	local rc=0
	printf '%s' "$3" | "$COBBLE_BIN" check-record --vectors - >"$T/bad.out" 2>"$T/bad.err" || rc=$?
	if [ "$rc" -eq 2 ] && grep -q "line $2:" "$T/bad.err" && grep -q '^usage:' "$T/bad.err"; then
		ok "$1"
	else
		notok "$1 (status $rc)"
		sed 's/^/    # /' "$T/bad.err" | head -10
	fi
}
good=$(head -n 1 "$VEC")
bad_line "a line that is not JSON exits 2 naming line 1" 1 $'{"id": "x", \n'
bad_line "a bad second line exits 2 naming line 2" 2 "$good"$'\n{"id": "y", "identifier": "example.com"}\n'
bad_line "records that are not arrays of strings exit 2" 1 \
	'{"id":"z","identifier":"example.com","account_url":"u","issuers":["a.example"],"time":1,"records":["a"]}'
bad_line "draft 02 without thumbprints exits 2" 1 \
	'{"id":"z","identifier":"example.com","account_url":"u","issuers":["a.example"],"time":1,"draft":"02","records":[]}'
if printf '%s\n\n%s\n' "$good" "$good" | "$COBBLE_BIN" check-record --vectors - >"$T/two.out" 2>&1 &&
	[ "$(grep -c '"status":"valid"' "$T/two.out")" -eq 2 ]; then
	ok "blank lines between vectors are skipped"
else
	notok "blank lines between vectors are skipped"
	sed 's/^/    # /' "$T/two.out" | head -10
fi
