#!/usr/bin/env bash
# End-to-end: the listeners' front end (server/http_front.c, http_head.c). On the TLS ACME and
# management listeners and the plain-HTTP CRL listener, every request head that breaks RFC 9112 or
# a limit (414, 431, 400, 505, an early 413) gets an RFC 8555 problem document and never
# libmicrohttpd's HTML; heads just inside the limits reach cobble's routes; a pipelined bad request
# is answered in order. A client that never sends its ClientHello, or drips it, is closed at the
# 5 s handshake deadline (test/e2e/front_client.py does the talking).
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

command -v python3 >/dev/null || { skip "front end-to-end" "python3 is not installed"; exit 0; }
[ -x "$COBBLE_BIN" ] || { notok "cobble binary $COBBLE_BIN exists"; exit 1; }
CRL_PORT=$(free_port)
echo "{\"crlListenAddress\": \"127.0.0.1:$CRL_PORT\"}" >"$T/front.json"
start_cobble -- -config "$T/front.json" || { notok "cobble starts"; exit 1; }
ok "cobble listens on $ACME_PORT (ACME, TLS), $MGMT_PORT (management, TLS) and $CRL_PORT (CRL, plain HTTP)"

client() { python3 "$ROOT/test/e2e/front_client.py" "$@" || _fails=$((_fails + 1)); }
client acme localhost "$ACME_PORT" tls "$CA_BUNDLE"
client management localhost "$MGMT_PORT" tls "$CA_BUNDLE"
client crl 127.0.0.1 "$CRL_PORT" plain "$CA_BUNDLE"
client acme 127.0.0.1 "$ACME_PORT" tls "$CA_BUNDLE" 5 # HTTP_FRONT_HANDSHAKE_SECONDS
if grep -q "no TLS handshake within 5 s" "$COBBLE_LOG"; then ok "the handshake deadline is logged"
else notok "the handshake deadline is logged"; fi
if grep -q "acme listener: 414 to 127.0.0.1 before the request reached a handler" "$COBBLE_LOG"; then
	ok "a refused head is logged with the listener, status and client address"
else
	notok "a refused head is logged with the listener, status and client address"
fi
# a client that sends half a request and goes: nothing of it stays open (the front end closes its
# relay, and libmicrohttpd its end, at once rather than at a timeout)
fds() { ls "/proc/$COBBLE_PID/fd" | wc -l; }
before=$(fds)
for _ in $(seq 20); do
	python3 - "$ACME_PORT" "$CA_BUNDLE" <<'PY'
import socket, ssl, sys
c = ssl.create_default_context(cafile=sys.argv[2])
s = c.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5), server_hostname="localhost")
s.sendall(b"POST /acme/new-order HTTP/1.1\r\nHost: localhost\r\nContent-Length: 500\r\n\r\n{\"protected\":")
s.close()
PY
done
sleep 1
after=$(fds)
if [ "$after" -le $((before + 2)) ]; then ok "20 clients that left in mid-request hold no descriptors ($before -> $after)"
else notok "20 clients that left in mid-request hold no descriptors ($before -> $after)"; fi
stop_cobble

# the listeners keys: a 2 s handshake deadline, and a limit of 3 connections per address
echo '{"listeners": {"handshakeSeconds": 2, "perAddress": 3, "reserve": 0}}' >"$T/limits.json"
start_cobble -- -config "$T/limits.json" || { notok "cobble starts with listeners keys"; exit 1; }
client acme-2s 127.0.0.1 "$ACME_PORT" tls "$CA_BUNDLE" 2
held=$(python3 - "$ACME_PORT" <<'PY'
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) for _ in range(6)]
time.sleep(0.5)
alive = 0
for s in socks:
    s.setblocking(False)
    try:
        alive += s.recv(1) != b""
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print(alive)
PY
)
if [ "$held" = 3 ]; then ok "listeners.perAddress 3: three of six connections from one address stay open"
else notok "listeners.perAddress 3: three of six connections from one address stay open (got $held)"; fi
stop_cobble
finish
