#!/usr/bin/python3
# slowloris.py: hostile connections to one TLS listener on loopback, bounded in count and time.
# Opens COUNT connections spread over the source addresses 127.0.0.FIRST.. (PER_ADDR each):
# every other one stays idle TCP (no TLS at all), the rest finish the TLS handshake and then send
# one header line every 2 s without ever ending the request. Writes "opened N" to STATUS once
# all are open, keeps them for SECONDS, then writes how many the server had closed and exits.
# With MODE "idle" (default "mixed") every connection stays idle TCP.
# Usage: slowloris.py PORT COUNT PER_ADDR FIRST SECONDS STATUS [MODE]
import socket
import ssl
import sys
import time

port, count, per_addr, first, seconds, status = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                                  int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
mode = sys.argv[7] if len(sys.argv) > 7 else "mixed"
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
conns, refused = [], 0
for i in range(count):
    src = "127.0.0.%d" % (first + i // per_addr)
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=(src, 0))
        if i % 2 and mode == "mixed":
            s = ctx.wrap_socket(s, server_hostname="localhost")
            s.sendall(b"GET /dir HTTP/1.1\r\nHost: localhost\r\n")
        s.setblocking(False)
        conns.append(s)
    except OSError:
        refused += 1
with open(status, "w") as f:
    f.write("opened %d refused %d\n" % (len(conns), refused))
end = time.time() + seconds
closed = set()
while time.time() < end:
    for n, s in enumerate(conns):
        if n in closed:
            continue
        try:
            if isinstance(s, ssl.SSLSocket):
                s.send(b"X-Slow: 1\r\n")
            data = s.recv(1)
            if data == b"":
                closed.add(n)
        except (ssl.SSLWantReadError, BlockingIOError):
            pass
        except OSError:
            closed.add(n)
    time.sleep(2)
with open(status, "a") as f:
    f.write("closed %d of %d\n" % (len(closed), len(conns)))
