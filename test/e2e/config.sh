#!/usr/bin/env bash
# End-to-end: configuration as a user meets it. --check-config on good and bad files (each error
# names the key), Pebble's own config file loading unchanged, a configured TLS certificate and
# directory meta, the COBBLE_/PEBBLE_ environment knobs, and JSON logs.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

cc() { "$COBBLE_BIN" --check-config "$@"; }

check "--check-config with no file: the embedded default is valid" cc
# check_fails NAME WANT-IN-MESSAGE JSON: --check-config exits 1 and names the problem.
check_fails() {
	local name=$1 want=$2
	printf '%s\n' "$3" >"$T/bad.json"
	local out rc=0
	out=$(cc -config "$T/bad.json" 2>&1) || rc=$?
	if [ "$rc" -eq 1 ] && grep -qF -- "$want" <<<"$out"; then ok "$name"; else
		notok "$name (exit $rc)"; echo "$out" | sed 's/^/    # /'; fi
}
check_fails "unknown key is an error that names it" 'unknown key "listenAdress"' '{"listenAdress": "127.0.0.1:1"}'
check_fails "unknown key inside dnsPersist is named with its section" 'unknown key "dnsPersist.jitt"' '{"dnsPersist": {"jitt": true}}'
check_fails "a wrong type names the key" 'httpPort: expected an integer' '{"httpPort": "5002"}'
check_fails "invalid JSON gives file, line and column" "bad.json:2:0: string or '}' expected" '{"httpPort": 5002,'
check_fails "draft must be 01 or 02" 'dnsPersist.draft: expected "01" or "02"' '{"dnsPersist": {"draft": "03"}}'
check_fails "issuer names must be canonical" 'is not a lowercase A-label' '{"dnsPersist": {"issuerDomainNames": ["CA.Example."]}}'
check_fails "reuse is capped at 10 days" 'reuseMaxDays: expected 0 to 10' '{"dnsPersist": {"reuseMaxDays": 11}}'
check_fails "DNSSEC needs a trust anchor file" 'dns.trustAnchor' '{"dns": {"dnssec": "validate"}}'
check_fails "unknown challenge type" 'challenges: unknown type "http-02"' '{"challenges": ["http-02"]}'
check_fails "externalAccountBindingRequired without MAC keys names both keys" \
	'externalAccountBindingRequired is true but externalAccountMACKeys is empty' '{"externalAccountBindingRequired": true}'
check_fails "externalAccountMACKeys must be an object" 'externalAccountMACKeys: expected an object' \
	'{"externalAccountMACKeys": ["kid-1"]}'
check_fails "an EAB MAC key that is not base64url names its kid" 'externalAccountMACKeys.kid-1: expected the MAC key as a base64url string' \
	'{"externalAccountMACKeys": {"kid-1": "not base64url!"}}'
check_fails "a padded EAB MAC key is refused, as by Pebble" 'externalAccountMACKeys.kid-1: expected the MAC key as a base64url string' \
	'{"externalAccountMACKeys": {"kid-1": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY0="}}'
check_fails "an EAB MAC key under 32 bytes is refused (RFC 7518 §3.2)" 'externalAccountMACKeys.kid-1: the key is 16 bytes' \
	'{"externalAccountMACKeys": {"kid-1": "MDEyMzQ1Njc4OWFiY2RlZg"}}'
check_fails "an empty EAB key id is refused" 'externalAccountMACKeys: a key id must be 1 to 127 characters' \
	'{"externalAccountMACKeys": {"": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}}'
# draft -02 §3.1-3.2 and spec §3, §5: accountHashPrefix and caaIdentities
for bad in 'http://ca.test/h/' 'https://ca.test/h;x/' 'https://ca.test/h=/' 'https://ca.test/a b/' 'https:///h/'; do
	check_fails "accountHashPrefix \"$bad\" is refused (absolute https, no ;, = or white space)" \
		'dnsPersist.accountHashPrefix' "{\"dnsPersist\": {\"accountHashPrefix\": \"$bad\"}}"
done
check "accountHashPrefix https://ca.test:14000/acme/account-hash/ passes" \
	cc -config <(echo '{"dnsPersist": {"draft": "02", "accountHashPrefix": "https://ca.test:14000/acme/account-hash/"}}')
check_fails "every issuer domain name must be a CAA identity" \
	'caaIdentities: lacks "ca.test" from dnsPersist.issuerDomainNames' \
	'{"caaIdentities": ["cobble.test"], "dnsPersist": {"issuerDomainNames": ["cobble.test", "ca.test"]}}'
check_fails "caaIdentities must be canonical" 'caaIdentities: "Cobble.Test"' '{"caaIdentities": ["Cobble.Test"]}'
check "caaIdentities may hold more names than the issuer domain names" \
	cc -config <(echo '{"caaIdentities": ["cobble.test", "other.test"], "caa": true}')
check_fails "caa must be true or false" 'caa: expected true or false' '{"caa": "on"}'
out=$(COBBLE_WFE_NONCEREJECT=abc "$COBBLE_BIN" --check-config 2>&1); rc=$?
[ "$rc" -eq 1 ] && grep -q 'COBBLE_WFE_NONCEREJECT' <<<"$out" && ok "a bad environment knob is named" ||
	{ notok "a bad environment knob is named"; echo "$out" | sed 's/^/    # /'; }

# config/: every file passes --check-config as it is
for f in "$ROOT"/config/*.json; do
	check "--check-config accepts config/$(basename "$f")" cc -config "$f"
done

# config/pebble.json is Pebble's test configuration, as Pebble users have it: its certificate
# and key are read relative to the working directory, as Pebble reads them
mkdir -p "$T/pebble/test/certs/localhost"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$T/pebble/test/certs/localhost/key.pem" \
	-out "$T/pebble/test/certs/localhost/cert.pem" 2>/dev/null
cp "$T/pebble/test/certs/localhost/cert.pem" "$T/cert.pem"
ACME_PORT=$(free_port) MGMT_PORT=$(free_port)
# Pebble's test/config/pebble-config-external-account-bindings.json, keys as Pebble has them
cat >"$T/pebble-eab.json" <<JSON
{
  "pebble": {
    "listenAddress": "0.0.0.0:14000",
    "managementListenAddress": "0.0.0.0:15000",
    "httpPort": 5002,
    "tlsPort": 5001,
    "ocspResponderURL": "",
    "retryAfter": {"authz": 3, "order": 5},
    "externalAccountBindingRequired": true,
    "externalAccountMACKeys": {
      "kid-1": "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W",
      "kid-2": "b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH",
      "kid-3": "HjudV5qnbreN-n9WyFSH-t4HXuEx_XFen45zuxY-G1h6fr74V3cUM_dVlwQZBWmc"
    },
    "certificateValidityPeriod": 157766400
  }
}
JSON
check "Pebble's external account binding configuration (required, three MAC keys) passes --check-config" \
	cc -config "$T/pebble-eab.json"
COBBLE_LOG=$T/cobble.log
(cd "$T/pebble" && PEBBLE_VA_NOSLEEP=1 exec "$COBBLE_BIN" -config "$ROOT/config/pebble.json" -log-format json \
	-listen "127.0.0.1:$ACME_PORT" -management "127.0.0.1:$MGMT_PORT") >"$COBBLE_LOG" 2>&1 &
COBBLE_PID=$!; _pids+=($COBBLE_PID)
CA_BUNDLE=$T/cert.pem
if wait_for 20 curl -sf --cacert "$T/cert.pem" "https://localhost:$ACME_PORT/dir"; then
	ok "cobble serves with the configured certificate (clients trust cert.pem)"
else
	notok "cobble serves with the configured certificate"; sed 's/^/    # /' "$COBBLE_LOG"
fi
curl -s --cacert "$T/cert.pem" "https://localhost:$ACME_PORT/dir" >"$T/dir.json"
check "directory meta lists both profiles" jq -e '.meta.profiles | has("default") and has("shortlived")' "$T/dir.json"
check "directory meta: caaIdentities are the issuer names, EAB not required" \
	jq -e '.meta.caaIdentities == ["cobble.test"] and .meta.externalAccountRequired == false' "$T/dir.json"
check "management listener on the configured address" sh -c "curl -sf --cacert $T/cert.pem https://localhost:$MGMT_PORT/roots/0 | grep -q 'BEGIN CERTIFICATE'"
check "status page is HTML naming the issuer" sh -c "curl -sf --cacert $T/cert.pem https://localhost:$MGMT_PORT/ | grep -q '<code>cobble.test</code>'"
check "-log-format json: every log line is a JSON object" sh -c "grep -v '^cobble is running\|^  ' '$COBBLE_LOG' | jq -e . >/dev/null"
check "the request log line names method, path, status and duration" \
	sh -c "grep '\"msg\"' '$COBBLE_LOG' | jq -r .msg | grep -Eq '^acme GET /dir -> 200 [0-9.]+ms\$'"
stop_cobble

# cobble starts on each of the other files in config/ (listeners and bundle moved to free ports)
# config_serves FILE NAME JQ: cobble starts on config/FILE and its directory satisfies JQ.
config_serves() {
	rm -f "$T/cobble.log"
	if start_cobble COBBLE_VA_NOSLEEP=1 -- -config "$ROOT/config/$1"; then
		curl -sf --cacert "$CA_BUNDLE" "$DIR_URL" >"$T/dir.json"
		check "cobble serves on config/$1: $2" env ACME_PORT="$ACME_PORT" jq -e "$3" "$T/dir.json"
	else
		notok "cobble starts on config/$1"
	fi
	stop_cobble
}
config_serves cobble.json "the defaults: issuer name cobble.test, no EAB, one profile" \
	'.meta.caaIdentities == ["cobble.test"] and .meta.externalAccountRequired == false and (.meta.profiles | keys) == ["default"]'
config_serves eab.json "external account binding required" '.meta.externalAccountRequired == true'
config_serves dns-persist-02.json "draft -02's account hash prefix under baseURL" \
	'.meta.accountHashPrefix == "https://localhost:\(env.ACME_PORT)/acme/account-hash/"'
config_serves ci.json "the directory names newOrder" '.newOrder | endswith("/acme/new-order")'
check "config/ci.json: every log line is a JSON object" sh -c "grep -v '^cobble is running\|^  ' '$COBBLE_LOG' | jq -e . >/dev/null"
