#!/usr/bin/env bash
# End-to-end: the management listener's status page as a person sees it, in headless Chromium
# (Debian's). After one dns-persist-01 issuance and one failed validation, the page shows the
# CA's identity, the roots, both validations with their verdicts and reasons, and the client
# conformance report. The screenshot
# is kept in build/artifacts/ (status-page-<build>.png). The browser trusts exactly cobble's TLS
# key (--ignore-certificate-errors-spki-list), no other certificate error is ignored.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/persist.sh"
command -v chromium >/dev/null || { skip "status page in Chromium" "chromium is not installed"; exit 0; }

knot_start s.test || { notok "knotd serves s.test"; exit 1; }
cobble_up status || { notok "cobble starts"; exit 1; }
K=$T/acct.key
ACCT=$(account "$K")
pub s.test _validation-persist.good 300 "$ISSUER; accounturi=$ACCT"
order good "$K" --identifiers good.s.test
issued "a certificate by dns-persist-01 to show on the page" good good.s.test
pub s.test _validation-persist.bad 300 "other-ca.example; accounturi=$ACCT"
order bad "$K" --identifiers bad.s.test --expect invalid
refused "a failed validation to show on the page" bad unauthorized 'contains("other-ca.example")'

SPKI=$(openssl s_client -connect "127.0.0.1:$MGMT_PORT" -servername localhost </dev/null 2>/dev/null |
	openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
ART=$ROOT/${COBBLE_BUILD:-build}/artifacts
mkdir -p "$ART"
PNG=$ART/status-page.png
browser() {
	timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$T/chromium" --ignore-certificate-errors-spki-list="$SPKI" "$@" \
		"https://localhost:$MGMT_PORT/" 2>>"$T/chromium.err"
}
browser --dump-dom >"$T/dom.html"
check "Chromium loads the page over TLS (cobble's key pinned)" grep -q '<h1>cobble: ACME test CA</h1>' "$T/dom.html"
check "the page names the issuer domain name and the draft" grep -q 'draft -01; issuer domain names: <code>cobble.test</code>' "$T/dom.html"
check "the page links the root and the intermediate" grep -q 'href="/roots/0"' "$T/dom.html"
check "the valid validation is listed with its verdict" \
	grep -Eq '<tr class="valid">.*dns-persist-01 good.s.test.*<td>valid</td>' "$T/dom.html"
check "the failed validation is listed with its reason" \
	grep -Eq '<tr class="invalid">.*dns-persist-01 bad.s.test.*<td>invalid</td>.*other-ca.example' "$T/dom.html"
check "the issued certificate is listed" grep -Eq '<tr class="issued">.*good.s.test' "$T/dom.html"
check "the page counts validation workers and those the watchdog abandoned (none here)" \
	grep -Eq '<li id="va">Validation workers: [1-9][0-9]*, [0-9]+ jobs? queued or running; <span id="va-abandoned">0</span> abandoned by the watchdog' "$T/dom.html"
check "the page has the client conformance section" grep -q '<h2 id="conformance">Client conformance</h2>' "$T/dom.html"
check "...listing the account's finding (a record without persistUntil) with its reference" \
	grep -Eq "<tr class=\"sev-info\"><td>account ${ACCT##*/}</td><td>info</td><td><b>persist-no-persist-until</b>.*draft-ietf-acme-dns-persist" "$T/dom.html"
check "the page needs no script" sh -c "! grep -qi '<script' '$T/dom.html'"
rm -f "$PNG"
browser --screenshot="$PNG" --window-size=1280,1600 >/dev/null
if [ -s "$PNG" ] && [ "$(stat -c %s "$PNG")" -gt 20000 ] && head -c 8 "$PNG" | grep -q PNG; then
	ok "screenshot kept at ${PNG#$ROOT/}"
else
	notok "screenshot of the status page"; show "$T/chromium.err"
fi
