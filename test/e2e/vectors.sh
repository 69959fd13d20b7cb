#!/usr/bin/env bash
# vectors: every line of test/vectors/dns-persist-01.jsonl through `cobble check-record
# --vectors`, one TAP line per vector id (spec/dns-persist-01.md sections 1-3), the repository's
# copy held equal to ../shared/vectors/ when that is present, and the command's answer to a
# malformed input line.
. "$(dirname "$0")/../lib/common.sh"

VEC=$ROOT/test/vectors/dns-persist-01.jsonl

# same_vectors A B: exit 0 when the two vector files are the same; else print every vector id
# that differs (and which keys), exit 1.
same_vectors() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
def load(p):
    with open(p, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]
a, b = load(sys.argv[1]), load(sys.argv[2])
ia, ib = {v.get("id"): v for v in a}, {v.get("id"): v for v in b}
bad = []
for i in sorted(set(ia) | set(ib), key=str):
    if i not in ia:
        bad.append("%s (only in %s)" % (i, sys.argv[2]))
    elif i not in ib:
        bad.append("%s (only in %s)" % (i, sys.argv[1]))
    elif ia[i] != ib[i]:
        keys = sorted(k for k in set(ia[i]) | set(ib[i]) if ia[i].get(k) != ib[i].get(k))
        bad.append("%s (%s differ)" % (i, ", ".join(keys)))
if len(ia) != len(a) or len(ib) != len(b):
    bad.append("an id is used twice")
if not bad and open(sys.argv[1], "rb").read() != open(sys.argv[2], "rb").read():
    bad.append("the same vectors, but the bytes differ (order or spelling)")
print("; ".join(bad))
sys.exit(1 if bad else 0)
EOF
}

# The repository's copy must be the shared one (issue 13): when ../shared/vectors is beside the
# repository (or COBBLE_SHARED points at one), every vector id that differs is named.
SHARED_VEC=$SHARED/vectors/dns-persist-01.jsonl
if [ -f "$SHARED_VEC" ]; then
	if same_vectors "$VEC" "$SHARED_VEC" >"$T/same"; then
		ok "test/vectors/dns-persist-01.jsonl is the same as $SHARED_VEC"
	else
		notok "test/vectors/dns-persist-01.jsonl is the same as $SHARED_VEC"
		echo "    # vectors that differ: $(cat "$T/same")"
		echo "    # copy the shared file to test/vectors/ (and say why in the commit)"
	fi
else
	echo "# no ../shared/vectors beside the repository: nothing to compare the repository's vectors with"
fi
# The comparison itself, on scratch copies (so it is proven even where ../shared is absent): an
# identical copy passes; a copy with one vector's expectation changed fails naming that id.
cp "$VEC" "$T/copy.jsonl"
python3 -c '
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
v = json.loads(lines[6])
v["expect"] = "valid" if v["expect"] != "valid" else "unauthorized"
lines[6] = json.dumps(v)
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(lines) + "\n")
' "$VEC" "$T/changed.jsonl"
changed_id=$(sed -n 7p "$VEC" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
if same_vectors "$VEC" "$T/copy.jsonl" >/dev/null && ! same_vectors "$VEC" "$T/changed.jsonl" >"$T/diff" &&
	grep -q "^$changed_id (expect differ)$" "$T/diff"; then
	ok "the copy check passes an identical copy and names the changed vector $changed_id"
else
	notok "the copy check passes an identical copy and names the changed vector $changed_id"
	echo "    # said: $(cat "$T/diff")"
fi

rc=0
"$COBBLE_BIN" check-record --vectors "$VEC" >"$T/out.jsonl" 2>"$T/err" || rc=$?
if [ "$rc" -eq 0 ]; then
	ok "check-record --vectors reads every line and exits 0"
else
	notok "check-record --vectors reads every line and exits 0 (status $rc)"
	sed 's/^/    # /' "$T/err" | head -40
fi

# Every vector, one TAP line each, by the script other implementations use too (README.md there).
n=$(grep -c . "$VEC")
python3 "$ROOT/test/vectors/compare.py" "$VEC" "$T/out.jsonl" >"$T/cmp"
cat "$T/cmp"
if [ "$(grep -cE '^(ok|not ok) - vector ' "$T/cmp")" -eq "$n" ] && [ "$n" -ge 53 ]; then
	ok "all $n vectors compared"
else
	notok "all $n vectors compared (compare.py failed, or the file has fewer than the 53 public vectors)"
fi
if grep -q '"rule":"' "$T/out.jsonl" && ! grep -v '"rule":"' "$T/out.jsonl" | grep -q .; then
	ok "every verdict names the rule behind it"
else
	notok "every verdict names the rule behind it"
fi

# docs/dns-persist-01.md explains every rule a verdict can name, and maps every vector to a rule.
DOC=$ROOT/docs/dns-persist-01.md
missing=""
for id in $(sed -n 's/^#define PERSIST_RULE_[A-Z]* "\([^"]*\)".*/\1/p' "$ROOT/common/persist.h"); do
	grep -qF "### Rule $id: " "$DOC" || missing="$missing $id"
done
if [ -z "$missing" ] && grep -q '^#define PERSIST_RULE_' "$ROOT/common/persist.h"; then
	ok "every rule id a verdict can name has its section in docs/dns-persist-01.md"
else
	notok "every rule id a verdict can name has its section in docs/dns-persist-01.md (missing:$missing)"
fi
unmapped=$(python3 -c '
import json, re, sys
table = open(sys.argv[2], encoding="utf-8").read().split("## Rules and their proofs", 1)[-1]
ids = [json.loads(l)["id"] for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
print(" ".join(i for i in ids if not re.search(r"\b%s\b" % re.escape(i), table)))
' "$VEC" "$DOC")
if [ -z "$unmapped" ]; then
	ok "every vector is listed under its rule in docs/dns-persist-01.md"
else
	notok "every vector is listed under its rule in docs/dns-persist-01.md (not listed: $unmapped)"
fi

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
