#!/usr/bin/env bash
# End-to-end: the http-01, dns-01 and tls-alpn-01 validators (RFC 8555 §8.3, §8.4; RFC 8737;
# RFC 8738 for ip identifiers) with real validation: the real cobble against a private Knot on
# loopback, a small python3-acme client (test/e2e/acme_challenge.py) and real responders (a
# Python HTTP server, Knot TXT records, `openssl s_server -alpn acme-tls/1`). Every issued chain
# is checked with `openssl verify` against /roots/0; every failure for its problem type, a
# detail naming what was seen, and an invalid order.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/knot.sh"

PY=/usr/bin/python3 # Debian's interpreter: python3-acme is not in a pyenv
CLIENT=$ROOT/test/e2e/acme_challenge.py
for tool in knotd knotc kdig jq openssl curl "$PY"; do
	command -v "$tool" >/dev/null || { skip "validators end-to-end" "$tool is not installed"; exit 0; }
done
"$PY" -c 'import acme.client, josepy' 2>/dev/null ||
	{ skip "validators end-to-end" "python3-acme is not installed for $PY"; exit 0; }
[ -x "$COBBLE_BIN" ] || { notok "cobble binary $COBBLE_BIN exists"; exit 1; }

Z=va.test
E=urn:ietf:params:acme:error:

# --- DNS, ports, cobble ----------------------------------------------------------------------
knot_start "$Z" || { notok "knotd serves $Z"; exit 1; }
for h in www redir loop badport tohttps wrongbody tls tlsnoext tlsnoncrit tlswrongsan tlsnoalpn caa caameth; do
	knot_set "$Z" "$h" 60 A 127.0.0.1 || { notok "knot_set $h.$Z A"; exit 1; }
done
knot_set "$Z" v6 60 AAAA ::1 && knot_set "$Z" both 60 AAAA ::1 && knot_set "$Z" both 60 A 127.0.0.1 ||
	{ notok "knot_set v6/both AAAA"; exit 1; }
ok "knotd serves $Z on 127.0.0.1:$KNOT_PORT with the test names at 127.0.0.1 (v6: ::1, both: both)"

HTTP_PORT=$(free_port)
TLS_PORT=$(free_port)
printf '{"httpPort": %s, "tlsPort": %s}\n' "$HTTP_PORT" "$TLS_PORT" >"$T/cobble.json"
start_cobble COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 -- \
	-dnsserver "127.0.0.1:$KNOT_PORT" -config "$T/cobble.json" || { notok "cobble starts"; exit 1; }
if grep -q ALWAYS_VALID "$COBBLE_LOG"; then notok "cobble runs with real validation"; exit 1; fi
mgmt /roots/0 >"$T/root.pem" && grep -q 'BEGIN CERTIFICATE' "$T/root.pem" ||
	{ notok "the management listener gives /roots/0"; exit 1; }
ok "cobble validates for real (httpPort $HTTP_PORT, tlsPort $TLS_PORT, resolver 127.0.0.1:$KNOT_PORT)"

# --- the http-01 responder -------------------------------------------------------------------
# Serves $T/www/<path>; <path>.redirect holds a Location to answer 302 with instead. Each
# request's Host header is appended to $T/http-hosts. One listener on 127.0.0.1, one on ::1.
mkdir -p "$T/www/.well-known/acme-challenge"
cat >"$T/httpd.py" <<'EOF'
import http.server, os, socket, sys
root, addr, port, hosts = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(hosts, "a") as f:
            f.write("%s %s\n" % (self.headers.get("Host"), self.path))
        p = os.path.join(root, self.path.split("?")[0].lstrip("/"))
        if os.path.isfile(p + ".redirect"):
            self.send_response(302)
            self.send_header("Location", open(p + ".redirect").read().strip())
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif os.path.isfile(p):
            body = open(p, "rb").read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6 if ":" in addr else socket.AF_INET
S((addr, port), H).serve_forever()
EOF
bg "$PY" "$T/httpd.py" "$T/www" 127.0.0.1 "$HTTP_PORT" "$T/http-hosts"
bg "$PY" "$T/httpd.py" "$T/www" ::1 "$HTTP_PORT" "$T/http-hosts"
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/" && wait_for 10 curl -s -o /dev/null "http://[::1]:$HTTP_PORT/" ||
	{ notok "the http-01 responders start"; exit 1; }

# --- one ACME order ---------------------------------------------------------------------------
SRV_PID=
stop_srv() { [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null; SRV_PID=; }

# acme_case TAG TYPE IDENT SETUP [client args]: run acme_challenge.py for one order; once it has
# printed the challenge (TOKEN, KA, DNSV, DIGEST set), run "SETUP TAG IDENT" to put the answer
# in place, then let it answer. The outcome is $T/TAG.json; the chain $T/TAG/fullchain.pem.
acme_case() {
	local tag=$1 type=$2 ident=$3 setup=$4; shift 4
	local d=$T/$tag pid w
	mkdir -p "$d"
	mkfifo "$d/go"
	exec {w}<>"$d/go" # opened read-write, so neither side blocks on open
	"$PY" "$CLIENT" --dir "$DIR_URL" --ca "$CA_BUNDLE" --type "$type" --ident "$ident" --out "$d" "$@" \
		<"$d/go" >"$d/out" 2>"$d/err" &
	pid=$!
	local deadline=$(($(date +%s) + 30))
	until grep -q '"token"' "$d/out" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
			kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
			exec {w}>&-
			echo '{}' >"$T/$tag.json"
			return 1
		fi
		sleep 0.05
	done
	TOKEN=$(head -1 "$d/out" | jq -r .token)
	KA=$(head -1 "$d/out" | jq -r .key_authz)
	DNSV=$(head -1 "$d/out" | jq -r .dns_value)
	DIGEST=$(head -1 "$d/out" | jq -r .digest_hex)
	"$setup" "$tag" "$ident"
	echo go >&"$w"
	wait "$pid"
	exec {w}>&-
	stop_srv
	sed -n 2p "$d/out" >"$T/$tag.json"
	[ -s "$T/$tag.json" ] || echo '{}' >"$T/$tag.json"
}

# extra diagnostics for common.sh's jq_ok: the client's errors and the validation log lines
jq_ok_more() {
	show "$T/$1/err"
	grep -E "validation .*$1" "$COBBLE_LOG" | tail -3 | sed 's/^/    #   log: /'
}

# issued NAME TAG SAN: valid authz, challenge and order; the chain verifies against /roots/0 and
# the leaf names SAN.
issued() {
	local name=$1 tag=$2 san=$3 d=$T/$2
	jq_ok "$name: challenge, authorization and order valid" "$tag" \
		'.authz == "valid" and .challenge.status == "valid" and .order == "valid"'
	if [ ! -s "$d/fullchain.pem" ]; then
		notok "$name: certificate issued"
		return
	fi
	awk -v d="$d" '/BEGIN CERT/{n++} {print > (d "/cert" n ".pem")}' "$d/fullchain.pem"
	cat "$d"/cert[2-9].pem >"$d/chain.pem" 2>/dev/null
	local v
	if v=$(openssl verify -CAfile "$T/root.pem" -untrusted "$d/chain.pem" "$d/cert1.pem" 2>&1) &&
		openssl x509 -in "$d/cert1.pem" -noout -ext subjectAltName | grep -qF "$san"; then
		ok "$name: certificate issued for $san, chain verified against /roots/0"
	else
		notok "$name: certificate issued for $san, chain verified against /roots/0"
		echo "    # $v"
		openssl x509 -in "$d/cert1.pem" -noout -ext subjectAltName 2>&1 | sed 's/^/    #   /'
	fi
}

# refused NAME TAG TYPE DETAIL-REGEX: challenge and authorization invalid with that problem type,
# a detail matching the regex, and the order invalid.
refused() {
	local name=$1 tag=$2 type=$3 re=$4
	jq_ok "$name: invalid, $type, detail names what was seen" "$tag" \
		'.authz == "invalid" and .challenge.status == "invalid" and .challenge.error.type == $t and
		 (.challenge.error.detail | test($re))' --arg t "$E$type" --arg re "$re"
	jq_ok "$name: the order is invalid" "$tag" '.order == "invalid"'
}

# escape for a jq regex
rx() { printf '%s' "$1" | sed 's/[][\\.^$*+?(){}|/]/\\&/g'; }

# --- setups -------------------------------------------------------------------------------------
W=$T/www/.well-known/acme-challenge
serve_ka() { printf '%s\n' "$KA" >"$W/$TOKEN"; }
serve_wrong() { printf 'this is not it\x01\n' >"$W/$TOKEN"; }
serve_loop() { echo "/.well-known/acme-challenge/$TOKEN" >"$W/$TOKEN.redirect"; }
serve_redirect() {
	# an absolute URL on port 80, i.e. httpPort in a test CA, with another name and path
	mkdir -p "$T/www/moved"
	printf '%s' "$KA" >"$T/www/moved/$TOKEN"
	echo "http://www.$Z/moved/$TOKEN" >"$W/$TOKEN.redirect"
}
serve_badport() { echo "http://www.$Z:1/x" >"$W/$TOKEN.redirect"; }
serve_https() {
	# http → https (tlsPort), served by `openssl s_server -WWW` from a self-signed certificate
	mkdir -p "$T/$1/srv/.well-known/acme-challenge"
	printf '%s' "$KA" >"$T/$1/srv/.well-known/acme-challenge/$TOKEN"
	echo "https://tohttps.$Z/.well-known/acme-challenge/$TOKEN" >"$W/$TOKEN.redirect"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=selfsigned" \
		-keyout "$T/$1/k.pem" -out "$T/$1/c.pem" 2>/dev/null
	(cd "$T/$1/srv" && exec openssl s_server -quiet -accept "127.0.0.1:$TLS_PORT" -cert "$T/$1/c.pem" \
		-key "$T/$1/k.pem" -WWW </dev/null >"$T/$1/s_server.log" 2>&1) &
	SRV_PID=$!
	wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$TLS_PORT"
}
set_txt() { knot_set "$Z" "_acme-challenge.${2#\*.}." 60 TXT "\"$DNSV\""; }
set_wrong_txt() { knot_set "$Z" "_acme-challenge.$2." 60 TXT '"not-the-digest"' '"split"'; }
nothing() { :; }

# tls_server TAG SAN EXT [ALPN]: openssl s_server on tlsPort with a self-signed certificate for
# SAN and the acmeIdentifier extension EXT ("critical", "noncritical" or "none").
tls_server() {
	local tag=$1 san=$2 ext=$3 alpn=${4:-acme-tls/1} d=$T/$1 args=()
	args=(-addext "subjectAltName=$san")
	case $ext in
	critical) args+=(-addext "1.3.6.1.5.5.7.1.31=critical,DER:04:20:$DIGEST") ;;
	noncritical) args+=(-addext "1.3.6.1.5.5.7.1.31=DER:04:20:$DIGEST") ;;
	esac
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=acme-tls-alpn-01" \
		-keyout "$d/k.pem" -out "$d/c.pem" "${args[@]}" 2>"$d/req.err" || echo "# openssl req failed: $(cat "$d/req.err")"
	local alpnargs=()
	[ "$alpn" = none ] || alpnargs=(-alpn "$alpn")
	openssl s_server -quiet -accept "127.0.0.1:$TLS_PORT" -cert "$d/c.pem" -key "$d/k.pem" "${alpnargs[@]}" \
		-www </dev/null >"$d/s_server.log" 2>&1 &
	SRV_PID=$!
	wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$TLS_PORT"
}
tls_good() { tls_server "$1" "DNS:$2" critical; }
tls_ip() { tls_server "$1" "IP:$2" critical; }
tls_noext() { tls_server "$1" "DNS:$2" none; }
tls_noncrit() { tls_server "$1" "DNS:$2" noncritical; }
tls_wrongsan() { tls_server "$1" "DNS:$2,DNS:other.$Z" critical; }
tls_noalpn() { tls_server "$1" "DNS:$2" critical none; }

# --- http-01 ------------------------------------------------------------------------------------
acme_case http-ok http-01 "www.$Z" serve_ka
issued "http-01 www.$Z" http-ok "DNS:www.$Z"
jq_ok "http-01: the validation record names the URL, port, addresses, the address used and the CAA answer" http-ok \
	'.challenge.validationRecord == [{url: $u, hostname: $h, port: $p, addressesResolved: ["127.0.0.1"],
	  addressUsed: "127.0.0.1", resolverAddrs: [$r]}, {type: "CAA", hostname: $h, resolver: $r, caa: [],
	  caaVerdict: "permitted"}]' \
	--arg u "http://www.$Z:$HTTP_PORT/.well-known/acme-challenge/$TOKEN" --arg h "www.$Z" \
	--arg p "$HTTP_PORT" --arg r "127.0.0.1:$KNOT_PORT"
if grep -qxF "www.$Z:$HTTP_PORT /.well-known/acme-challenge/$TOKEN" "$T/http-hosts"; then
	ok "http-01: the request reached 127.0.0.1 with Host www.$Z:$HTTP_PORT (the address came from Knot)"
else
	notok "http-01: the request reached 127.0.0.1 with Host www.$Z:$HTTP_PORT"; show "$T/http-hosts"
fi

acme_case http-ip http-01 127.0.0.1 serve_ka --ip
issued "http-01 ip 127.0.0.1 (RFC 8738)" http-ip "IP Address:127.0.0.1"

acme_case http-v6 http-01 "v6.$Z" serve_ka
issued "http-01 v6.$Z (AAAA only)" http-v6 "DNS:v6.$Z"
jq_ok "http-01 v6.$Z: fetched from ::1, pinned from the AAAA answer" http-v6 \
	'.challenge.validationRecord[0] | .addressesResolved == ["::1"] and .addressUsed == "::1"'

acme_case http-ip6 http-01 ::1 serve_ka --ip
issued "http-01 ip ::1 (RFC 8738)" http-ip6 "IP Address:0:0:0:0:0:0:0:1"
jq_ok "http-01 ip ::1: the URL has the address in brackets" http-ip6 \
	'.challenge.validationRecord[0].url == $u' --arg u "http://[::1]:$HTTP_PORT/.well-known/acme-challenge/$TOKEN"

acme_case http-redir http-01 "redir.$Z" serve_redirect
issued "http-01 redirected to http://www.$Z/moved/… (port 80 is httpPort)" http-redir "DNS:redir.$Z"
jq_ok "http-01 redirect: one validation record per hop, the second fetched from httpPort" http-redir \
	'[.challenge.validationRecord[] | select(.type != "CAA") | .url] == [$a, $b]' \
	--arg a "http://redir.$Z:$HTTP_PORT/.well-known/acme-challenge/$TOKEN" \
	--arg b "http://www.$Z:$HTTP_PORT/moved/$TOKEN"

acme_case http-https http-01 "tohttps.$Z" serve_https
issued "http-01 redirected to https (tlsPort, certificate not verified)" http-https "DNS:tohttps.$Z"

acme_case http-wrong http-01 "wrongbody.$Z" serve_wrong
refused "http-01 wrong body" http-wrong incorrectResponse \
	"$(rx "http://wrongbody.$Z:$HTTP_PORT/.well-known/acme-challenge/$TOKEN").*received \"this is not it\\\\x01\\\\n\".*expected \"$(rx "$KA")\""

acme_case http-loop http-01 "loop.$Z" serve_loop
refused "http-01 redirect loop" http-loop connection "too many redirects.*$(rx "/.well-known/acme-challenge/$TOKEN").*at most 10"
jq_ok "http-01 redirect loop: 11 hops recorded" http-loop '(.challenge.validationRecord | length) == 11'

acme_case http-badport http-01 "badport.$Z" serve_badport
refused "http-01 redirect to port 1" http-badport connection "redirected to $(rx "http://www.$Z:1/x").*port 1 are not followed"

acme_case http-nx http-01 "nx.$Z" nothing
refused "http-01 NXDOMAIN" http-nx dns "no A/AAAA records for nx\\.$Z.*NXDOMAIN.*does not exist"

acme_case http-404 http-01 "www.$Z" nothing
refused "http-01 nothing served" http-404 unauthorized "$(rx "http://www.$Z:$HTTP_PORT/.well-known/acme-challenge/$TOKEN").*HTTP 404"

# --- dns-01 -------------------------------------------------------------------------------------
acme_case dns-ok dns-01 "dns.$Z" set_txt
issued "dns-01 dns.$Z" dns-ok "DNS:dns.$Z"

acme_case dns-wild dns-01 "*.wild.$Z" set_txt
issued "dns-01 *.wild.$Z (TXT at _acme-challenge.wild.$Z)" dns-wild "DNS:*.wild.$Z"

acme_case dns-wrong dns-01 "dnswrong.$Z" set_wrong_txt
refused "dns-01 wrong TXT" dns-wrong incorrectResponse \
	"_acme-challenge\\.dnswrong\\.$Z.*expected \"$(rx "$DNSV")\".*found \"not-the-digestsplit\""

acme_case dns-nx dns-01 "dnsnx.$Z" nothing
refused "dns-01 no record (NXDOMAIN)" dns-nx dns "_acme-challenge\\.dnsnx\\.$Z.*NXDOMAIN.*expected a TXT record \"$(rx "$DNSV")\""

# --- CAA for every method (RFC 8659, RFC 8657; spec/dns-persist-01.md §5) ---------------------
knot_set "$Z" caa 60 CAA '0 issue "otherca.example"'
acme_case http-caa http-01 "caa.$Z" serve_ka
refused "http-01 under a CAA record naming another CA" http-caa caa \
	"CAA records at caa\\.$Z.*0 issue \"otherca\\.example\".*names otherca\\.example"
knot_set "$Z" caameth 60 CAA '0 issue "cobble.test; validationmethods=http-01"'
acme_case dns-caa dns-01 "caameth.$Z" set_txt
refused "dns-01 under CAA validationmethods=http-01" dns-caa caa \
	"caameth\\.$Z.*validationmethods=http-01 does not include dns-01"
acme_case http-caaok http-01 "caameth.$Z" serve_ka
issued "http-01 under CAA validationmethods=http-01" http-caaok "DNS:caameth.$Z"
jq_ok "http-01 ip 127.0.0.1: no CAA lookup for an IP identifier" http-ip \
	'[.challenge.validationRecord[] | select(.type == "CAA")] == []'

# --- tls-alpn-01 --------------------------------------------------------------------------------
acme_case tls-ok tls-alpn-01 "tls.$Z" tls_good
issued "tls-alpn-01 tls.$Z" tls-ok "DNS:tls.$Z"
jq_ok "tls-alpn-01: the validation record names the port and the address used" tls-ok \
	'.challenge.validationRecord[0] | .hostname == $h and .port == $p and .addressUsed == "127.0.0.1"' \
	--arg h "tls.$Z" --arg p "$TLS_PORT"

acme_case tls-ip tls-alpn-01 127.0.0.1 tls_ip --ip
issued "tls-alpn-01 ip 127.0.0.1 (RFC 8738 §6)" tls-ip "IP Address:127.0.0.1"

acme_case tls-both tls-alpn-01 "both.$Z" tls_good
issued "tls-alpn-01 both.$Z: ::1 refused, then 127.0.0.1 (IPv6 first, Boulder)" tls-both "DNS:both.$Z"
jq_ok "tls-alpn-01 both.$Z: both addresses resolved, 127.0.0.1 used" tls-both \
	'.challenge.validationRecord[0] | (.addressesResolved | sort) == ["127.0.0.1", "::1"] and .addressUsed == "127.0.0.1"'

acme_case tls-noext tls-alpn-01 "tlsnoext.$Z" tls_noext
refused "tls-alpn-01 without acmeIdentifier" tls-noext incorrectResponse \
	"SAN DNS:\"tlsnoext\\.$Z\".*no acmeIdentifier extension \\(1\\.3\\.6\\.1\\.5\\.5\\.7\\.1\\.31\\)"

acme_case tls-noncrit tls-alpn-01 "tlsnoncrit.$Z" tls_noncrit
refused "tls-alpn-01 non-critical acmeIdentifier" tls-noncrit incorrectResponse "acmeIdentifier extension.*not marked critical"

acme_case tls-wrongsan tls-alpn-01 "tlswrongsan.$Z" tls_wrongsan
refused "tls-alpn-01 two SANs" tls-wrongsan incorrectResponse \
	"2 entries \\(DNS:\"tlswrongsan\\.$Z\", DNS:\"other\\.$Z\"\\).*exactly one, DNS:tlswrongsan\\.$Z"

acme_case tls-noalpn tls-alpn-01 "tlsnoalpn.$Z" tls_noalpn
refused "tls-alpn-01 server without acme-tls/1" tls-noalpn tls "negotiated ALPN protocol none, expected \"acme-tls/1\""

acme_case tls-refused tls-alpn-01 "tls.$Z" nothing
refused "tls-alpn-01 nothing listening" tls-refused connection "connecting to 127\\.0\\.0\\.1 port $TLS_PORT.*refused"

stop_cobble
