#!/usr/bin/env bash
# End-to-end: failed-validation limits for dns-persist-01 (spec/dns-persist-01.md §4a, draft -02
# §9.3.1) with the real cobble, a private Knot and a raw ACME client (acme_protocol.py's classes):
# past the limit a challenge POST is answered rateLimited 429 with Retry-After and a detail that
# names the limit, the count and the config key; the window frees the slot; the status page
# shows the counters.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/knot.sh"

for tool in knotd knotc kdig jq curl; do
	command -v "$tool" >/dev/null || { skip "failed-validation limits" "$tool is not installed"; exit 0; }
done
/usr/bin/python3 -c 'import requests, cryptography' 2>/dev/null ||
	{ skip "failed-validation limits" "python3-requests or python3-cryptography is not installed"; exit 0; }

knot_start l.test || { notok "knotd serves l.test"; exit 1; }
echo '{"dnsPersist": {"failedValidationLimits": {"perIdentifier": 2, "perAccount": 3, "windowSeconds": 6}}}' \
	>"$T/cfg.json"
start_cobble COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 -- -dnsserver "127.0.0.1:$KNOT_PORT" \
	-config "$T/cfg.json" || { notok "cobble starts with failedValidationLimits"; exit 1; }

# attempts.py IDENT...: one account; for each identifier one order and one dns-persist-01
# challenge POST (no record is published, so each validation fails); prints one JSON line per
# attempt: {ident, status, type, detail, retryAfter, authz}.
cat >"$T/attempts.py" <<'EOF'
import json, sys, time
sys.path.insert(0, sys.argv[1])
from acme_protocol import Conn, new_account, idents
conn = Conn(sys.argv[2], sys.argv[3])
acct, _ = new_account(conn)
for name in sys.argv[4:]:
    order = acct.post(conn.dir["newOrder"], {"identifiers": idents(name)})
    authz_url = order.json()["authorizations"][0]
    authz = acct.fetch(authz_url)
    chal = next(c for c in authz["challenges"] if c["type"] == "dns-persist-01")
    r = acct.post(chal["url"], {})
    body = r.json() if r.headers.get("Content-Type", "").startswith("application/") else {}
    deadline = time.time() + 20
    while r.status_code == 200 and time.time() < deadline:
        a = acct.fetch(authz_url)
        if a["status"] not in ("pending", "processing"):
            break
        time.sleep(0.1)
    print(json.dumps({"ident": name, "status": r.status_code, "type": body.get("type"),
                      "detail": body.get("detail"), "retryAfter": r.headers.get("Retry-After"),
                      "authz": acct.fetch(authz_url)["status"]}), flush=True)
EOF
attempts() { /usr/bin/python3 "$T/attempts.py" "$ROOT/test/e2e" "$DIR_URL" "$CA_BUNDLE" "$@"; }

attempts a.l.test a.l.test a.l.test >"$T/ident.jsonl" 2>"$T/ident.err"
jq -s '.' "$T/ident.jsonl" >"$T/ident.json" 2>/dev/null || echo '[]' >"$T/ident.json"
jq_ok "two failed validations of a.l.test run (perIdentifier 2)" ident \
	'.[0].status == 200 and .[0].authz == "invalid" and .[1].status == 200 and .[1].authz == "invalid"'
jq_ok "the third challenge POST for a.l.test: rateLimited 429 with Retry-After 1..6" ident \
	'.[2].status == 429 and .[2].type == "urn:ietf:params:acme:error:rateLimited" and
	 (.[2].retryAfter | tonumber) >= 1 and (.[2].retryAfter | tonumber) <= 6 and .[2].authz == "pending"'
jq_ok "  its detail names the limit, the count and the config key" ident \
	'.[2].detail | contains("2 for identifier a.l.test") and contains("the limit is 2") and
	 contains("dnsPersist.failedValidationLimits.perIdentifier")'

mgmt / >"$T/status.html"
if grep -q 'Failed dns-persist-01 validations' "$T/status.html" &&
	grep -q '<code>a.l.test</code></td><td>2</td><td>2</td>' "$T/status.html" &&
	grep -q '<span id="fails-refused">1</span>' "$T/status.html"; then
	ok "the status page shows the counters (a.l.test 2 of 2, one refusal)"
else
	notok "the status page shows the counters"; grep -A8 'Failed dns' "$T/status.html" | sed 's/^/    # /'
fi

# per account: a new account fails on b, c, d; the fourth identifier meets the account limit
attempts b.l.test c.l.test d.l.test e.l.test >"$T/acct.jsonl" 2>"$T/acct.err"
jq -s '.' "$T/acct.jsonl" >"$T/acct.json" 2>/dev/null || echo '[]' >"$T/acct.json"
jq_ok "per account (perAccount 3): the fourth identifier's challenge POST is rateLimited" acct \
	'[.[0:3][] | .status == 200] == [true, true, true] and .[3].status == 429 and
	 (.[3].detail | contains("for account") and contains("perAccount"))'

# the window moves on: once it has passed, a.l.test may be validated again
sleep "$(jq -r '.[2].retryAfter // 6' "$T/ident.json")"
attempts a.l.test >"$T/again.jsonl" 2>"$T/again.err"
jq -s '.' "$T/again.jsonl" >"$T/again.json" 2>/dev/null || echo '[]' >"$T/again.json"
jq_ok "after Retry-After seconds the window frees a slot: a.l.test is validated again" again \
	'.[0].status == 200 and .[0].authz == "invalid"'

# the server refuses a bad limits object, naming the key
echo '{"dnsPersist": {"failedValidationLimits": {"perIdentifier": -1}}}' >"$T/bad.json"
out=$("$COBBLE_BIN" -config "$T/bad.json" --check-config 2>&1)
if [ $? -ne 0 ] && [[ "$out" == *dnsPersist.failedValidationLimits* ]]; then
	ok "--check-config refuses a negative limit, naming dnsPersist.failedValidationLimits"
else
	notok "--check-config refuses a negative limit"; echo "    # $out"
fi
