#!/usr/bin/env bash
# soak.sh [SECONDS]: concurrent real ACME flows against one cobble for SECONDS (default 120;
# SOAK_SECONDS too), with faults injected all the while: 10% of nonces refused (badNonce), TLS
# connections dropped mid-request, a resolver answering SERVFAIL for some names, an http-01
# responder that is slow for some. Every order must end valid or invalid with a reason, cobble
# must answer no serverInternal, and its RSS and open descriptors must stay flat after the
# first fifth (warm-up). Used by `make soak` and, for 20 s, by test/e2e/soak.sh. Prints TAP.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib/acme_case.sh"
acme_need soak jq curl python3
SECONDS_TOTAL=${1:-${SOAK_SECONDS:-120}}
LOOPS=${SOAK_LOOPS:-4}

DNS_PORT=$(free_port) HTTP_PORT=$(free_port)
mkdir -p "$T/txt" "$T/www/.well-known/acme-challenge"
bg python3 "$ROOT/test/lib/hostile_dns.py" "$DNS_PORT" "$T/txt"
# the http-01 responder: serves $T/www; a name with "slow" in it waits 3 s before answering
cat >"$T/httpd.py" <<'PY'
import http.server, os, sys, time
root, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if "slow" in (self.headers.get("Host") or ""):
            time.sleep(3)
        p = os.path.join(root, self.path.lstrip("/"))
        body = open(p, "rb").read() if os.path.isfile(p) else b""
        self.send_response(200 if body else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
bg python3 "$T/httpd.py" "$T/www" "$HTTP_PORT"
printf '{"httpPort": %s}\n' "$HTTP_PORT" >"$T/cobble.json"
start_cobble COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=10 -- \
	-dnsserver "127.0.0.1:$DNS_PORT" -config "$T/cobble.json" || { notok "cobble starts"; exit 1; }
ok "cobble runs for ${SECONDS_TOTAL} s of $LOOPS concurrent flows with faults injected"

# one flow: an http-01 order for a name that works, is slow, or whose resolver says SERVFAIL
flow() {
	local loop=$1 i=$2 kind name tag
	case $((i % 4)) in 0 | 1) kind=ok ;; 2) kind=slow ;; 3) kind=servfail ;; esac
	name="f$loop-$i.$kind.soak.test" tag="l$loop-$i"
	if ! acme_start "$tag" http-01 "$name" --timeout 20; then
		echo "gaveup $tag $(tail -1 "$T/$tag/err" | cut -c1-160)" >>"$T/results"
		return
	fi
	acme_field "$tag" key_authz >"$T/www/.well-known/acme-challenge/$(acme_field "$tag" token)"
	acme_go "$tag"
	acme_wait "$tag"
	local order err
	order=$(jq -r '.order // empty' "$T/$tag.json")
	err=$(jq -r '.challenge.error.type // empty' "$T/$tag.json")
	if [ -z "$order" ]; then
		echo "gaveup $tag $(tail -1 "$T/$tag/err" | cut -c1-160)" >>"$T/results"
	else
		echo "order $tag $kind $order ${err:-none}" >>"$T/results"
	fi
	rm -rf "${T:?}/$tag"
}

# a client that drops its connection in the middle of a request, again and again
dropper() {
	while :; do
		python3 - "$ACME_PORT" <<'PY' 2>/dev/null
import socket, ssl, sys
c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
s = c.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2), server_hostname="localhost")
s.sendall(b"POST /acme/new-order HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/jose+json\r\nContent-Length: 500\r\n\r\n{\"protected\":")
s.close()
PY
		sleep 0.2
	done
}
sample() { # RSS (kB) and open descriptors of cobble
	echo "$(awk '/^VmRSS/ {print $2}' "/proc/$COBBLE_PID/status") $(ls "/proc/$COBBLE_PID/fd" | wc -l)"
}

bg dropper
start=$(date +%s) end=$(( $(date +%s) + SECONDS_TOTAL )) warm="" loops=()
for loop in $(seq 1 "$LOOPS"); do
	( i=0; while [ "$(date +%s)" -lt "$end" ]; do flow "$loop" "$i"; i=$((i + 1)); done ) &
	loops+=($!)
done
while [ "$(date +%s)" -lt "$end" ]; do
	sleep 1
	[ -z "$warm" ] && [ $(( $(date +%s) - start )) -ge $(( SECONDS_TOTAL / 5 )) ] && warm=$(sample)
done
for p in "${loops[@]}"; do wait "$p" 2>/dev/null; done # the flow loops finish their last flow
sleep 1
last=$(sample)

orders=$(grep -c '^order ' "$T/results" 2>/dev/null || echo 0)
valid=$(grep -c '^order .* valid none$' "$T/results" 2>/dev/null || echo 0)
lost=$(awk '$1 == "order" && !(($4 == "valid" && $5 == "none") || ($4 == "invalid" && $5 != "none"))' "$T/results" | wc -l)
gaveup=$(grep -c '^gaveup ' "$T/results" 2>/dev/null || echo 0)
internal=$(grep -c 'problem urn:ietf:params:acme:error:serverInternal\|problem serverInternal' "$COBBLE_LOG" || true)
echo "# $orders orders ($valid valid, $((orders - valid)) invalid with a reason), $gaveup client runs gave up before an order ended; RSS/fds after warm-up $warm, at the end $last"
grep '^gaveup' "$T/results" | head -3 | sed 's/^/#   /'
if [ "$orders" -gt 0 ] && [ "$lost" -eq 0 ]; then ok "every order ended valid, or invalid with a reason ($orders orders)"
else notok "every order ended valid, or invalid with a reason ($lost of $orders did not)"; grep '^order' "$T/results" | head; fi
if [ "$internal" -eq 0 ]; then ok "no serverInternal"; else notok "no serverInternal ($internal)"; grep serverInternal "$COBBLE_LOG" | head -5 | sed 's/^/    # /'; fi
read -r rss0 fd0 <<<"$warm"; read -r rss1 fd1 <<<"$last"
if [ -n "${fd0:-}" ] && [ "$fd1" -le $(( fd0 + 16 )) ]; then ok "open descriptors flat after warm-up ($fd0 -> $fd1)"
else notok "open descriptors flat after warm-up (${fd0:-?} -> $fd1)"; fi
# flat: at most 20% or 16 MB more (allocator noise). AddressSanitizer keeps freed memory in a
# quarantine of up to 256 MB on purpose, so its RSS says nothing about leaks (LSan does).
if nm "$COBBLE_BIN" 2>/dev/null | grep -q __asan_init; then
	skip "RSS flat after warm-up" "an AddressSanitizer build (RSS $rss0 -> $rss1 kB; its quarantine grows by design)"
elif [ -n "${rss0:-}" ] && [ "$rss1" -le $(( rss0 + rss0 / 5 > rss0 + 16384 ? rss0 + rss0 / 5 : rss0 + 16384 )) ]; then
	ok "RSS flat after warm-up ($rss0 -> $rss1 kB)"
else
	notok "RSS flat after warm-up (${rss0:-?} -> $rss1 kB)"
fi
stop_cobble
