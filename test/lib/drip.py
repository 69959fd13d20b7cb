#!/usr/bin/python3
# drip.py: a TCP server on loopback that accepts every connection and then sends one byte every
# INTERVAL seconds (the start of a TLS ServerHello, or of an HTTP status line) and never
# finishes: a responder that would hold a validator whose timeout restarts at every byte.
# Usage: drip.py PORT INTERVAL (tls|http)
import socket
import sys
import threading
import time

port, interval, kind = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
START = b"\x16\x03\x03\x40\x00\x02\x00\x3f\xfc\x03\x03" + b"\x00" * 200 if kind == "tls" \
    else b"HTTP/1.1 200 OK\r\n" + b"X-Drip: " + b"." * 200


def drip(conn):
    try:
        conn.settimeout(0.05)
        for b in START:
            try:
                conn.recv(4096)  # read and ignore what the client sends
            except socket.timeout:
                pass
            conn.sendall(bytes([b]))
            time.sleep(interval)
    except OSError:
        pass
    finally:
        conn.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(64)
while True:
    c, _ = srv.accept()
    threading.Thread(target=drip, args=(c,), daemon=True).start()
