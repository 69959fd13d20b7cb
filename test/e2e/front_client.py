#!/usr/bin/python3
# front_client.py: raw HTTP/1.1 against cobble's listeners (server/http_front.c, http_head.c), TAP
# lines out. Every head that breaks RFC 9112 or a limit must get an RFC 8555 problem document
# (application/problem+json, type malformed, status as HTTP, a detail saying what to fix), never
# libmicrohttpd's HTML; heads just inside the limits get cobble's own answer; a pipelined bad request
# is answered after the good one before it; a client that never finishes its TLS handshake, or
# drips it, is closed at the handshake deadline.
# Usage: front_client.py NAME HOST PORT tls|plain CAFILE [deadline]
import json
import socket
import ssl
import sys
import time

name, host, port, mode, cafile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
part = sys.argv[6] if len(sys.argv) > 6 else "heads"
FAILED = 0


def tap(good, what, *why):
    global FAILED
    print(("ok - " if good else "not ok - ") + "%s: %s" % (name, what))
    if not good:
        FAILED += 1
        for w in why:
            for line in str(w)[:1500].splitlines():
                print("    # " + line)


def connect():
    s = socket.create_connection((host, port), timeout=10)
    if mode == "tls":
        ctx = ssl.create_default_context(cafile=cafile)
        s = ctx.wrap_socket(s, server_hostname="localhost")
    return s


def exchange(raw):
    """Send raw bytes, read until the server closes (each case ends with a refused head or
    Connection: close), 10 s at most; the bytes read."""
    s = connect()
    s.sendall(raw)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (socket.timeout, ConnectionResetError, ssl.SSLError) as e:
        out += b"\n<<" + str(e).encode() + b">>"
    s.close()
    return out


def responses(out):
    """Split a byte stream of HTTP/1.1 responses (framed by Content-Length) into (status, headers, body)."""
    res = []
    while out.startswith(b"HTTP/1."):
        head, sep, rest = out.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        hdrs = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        res.append((int(lines[0].split()[1]), hdrs, rest[:n]))
        out = rest[n:]
    return res


def problem_case(what, raw, status, detail_words):
    out = exchange(raw)
    rs = responses(out)
    r = rs[-1] if rs else None
    doc = None
    try:
        doc = json.loads(r[2]) if r else None
    except ValueError:
        pass
    good = (r is not None and r[0] == status and r[1].get("content-type") == "application/problem+json"
            and isinstance(doc, dict) and doc.get("type") == "urn:ietf:params:acme:error:malformed"
            and doc.get("status") == status and all(w in doc.get("detail", "") for w in detail_words)
            and b"<html" not in out.lower())
    tap(good, "%s: %d problem document saying %s" % (what, status, " / ".join(detail_words)), out[:1200])
    return r


def heads():
    h = b"Host: localhost\r\n"
    hc = h + b"Connection: close\r\n"
    big = lambda n: b"GET /" + b"a" * n + b" HTTP/1.1\r\n" + hc + b"\r\n"
    problem_case("RFC 9112 §3: a request line over 8192 bytes", big(9000), 414, ["8192 bytes"])
    problem_case("a header block over 16384 bytes", b"GET /dir HTTP/1.1\r\n" + h +
                 b"".join(b"X-Pad-%d: %s\r\n" % (i, b"v" * 200) for i in range(90)) + b"\r\n", 431, ["16384"])
    problem_case("more than 100 header fields", b"GET /dir HTTP/1.1\r\n" + h +
                 b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n", 431, ["100 header fields"])
    problem_case("a request line without a version", b"GET /dir\r\n" + h + b"\r\n", 400,
                 ["malformed request line", "HTTP/1.1"])
    problem_case("a request line with two spaces", b"GET  /dir HTTP/1.1\r\n" + h + b"\r\n", 400,
                 ["malformed request line"])
    problem_case("RFC 9112 §5.1: whitespace before a header field's colon", b"GET /dir HTTP/1.1\r\n" + h +
                 b"X-Bad : 1\r\n\r\n", 400, ["no space", "before the colon"])
    problem_case("a header line without a colon", b"GET /dir HTTP/1.1\r\n" + h + b"NoColonHere\r\n\r\n", 400,
                 ["malformed header field line"])
    problem_case("RFC 9112 §5.2: obs-fold", b"GET /dir HTTP/1.1\r\n" + h + b"X-A: 1\r\n  folded\r\n\r\n", 400,
                 ["obs-fold"])
    problem_case("RFC 9112 §3.2: HTTP/1.1 without Host", b"GET /dir HTTP/1.1\r\nAccept: */*\r\n\r\n", 400,
                 ["Host"])
    problem_case("RFC 9112 §3.2: two Host fields", b"GET /dir HTTP/1.1\r\n" + h + h + b"\r\n", 400,
                 ["more than one Host"])
    problem_case("RFC 9110 §8.6: a Content-Length that is not a number", b"POST /x HTTP/1.1\r\n" + h +
                 b"Content-Length: 12abc\r\n\r\n", 400, ["Content-Length"])
    problem_case("RFC 9110 §15.6.6: HTTP/2.0", b"GET /dir HTTP/2.0\r\n" + h + b"\r\n", 505, ["HTTP/2.0", "HTTP/1.1"])
    problem_case("HTTP/1.2", b"GET /dir HTTP/1.2\r\n" + h + b"\r\n", 505, ["HTTP/1.2"])
    problem_case("the HTTP/2 connection preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, ["HTTP/2.0"])
    problem_case("RFC 9110 §15.5.14: a declared body of 10^12 bytes, none of it sent",
                 b"POST /acme/new-order HTTP/1.1\r\n" + h + b"Content-Type: application/jose+json\r\n"
                 b"Content-Length: 1000000000000\r\n\r\n", 413, ["1000000000000 bytes", "65536"])
    problem_case("a declared body of 70000 bytes", b"POST /acme/new-order HTTP/1.1\r\n" + h +
                 b"Content-Length: 70000\r\n\r\n" + b"x" * 1000, 413, ["70000 bytes"])

    # just inside every limit: cobble itself answers (a 404 problem), not libmicrohttpd
    for what, raw in (("a request line of 8190 bytes", big(8170)),
                      ("100 header fields, 16000 bytes", b"GET /nothing HTTP/1.1\r\n" + hc +
                       b"".join(b"X-%02d: %s\r\n" % (i, b"v" * 154) for i in range(98)) + b"\r\n")):
        rs = responses(exchange(raw))
        tap(len(rs) == 1 and rs[0][0] == 404 and rs[0][1].get("content-type") == "application/problem+json",
            "%s (inside the limits) reaches cobble's routes: 404 problem" % what, rs)
    # pipelined: the good request is answered first, then the bad one, then the connection closes
    rs = responses(exchange(b"GET /nothing HTTP/1.1\r\n" + h + b"\r\nGET /dir HTTP/9.9\r\n" + h + b"\r\n"))
    tap([r[0] for r in rs] == [404, 505] and all(r[1].get("content-type") == "application/problem+json" for r in rs),
        "a pipelined bad request is answered after the good one before it (404, then 505)", rs)
    # keep-alive with a body: framing followed, both answered on one connection
    rs = responses(exchange(b"POST /nothing HTTP/1.1\r\n" + h + b"Content-Length: 5\r\n\r\nhelloGET /nothing HTTP/1.1\r\n"
                            + h + b"Connection: close\r\n\r\n"))
    tap([r[0] for r in rs] in ([404, 404], [405, 404]), "two requests on one connection, the first with a body",
        rs)


def handshake_deadline(limit):
    # connected, no ClientHello at all; and a ClientHello dripped a byte every 0.4 s
    for what, drip in (("a client that never sends a ClientHello", False),
                       ("a client dripping its ClientHello", True)):
        s = socket.create_connection((host, port), timeout=limit + 10)
        t0 = time.monotonic()
        closed = None
        hello = bytes.fromhex("16030100c8010000c40303") + b"\x00" * 190
        i = 0
        while time.monotonic() - t0 < limit + 8:
            try:
                if drip and i < len(hello):
                    s.send(hello[i:i + 1])
                    i += 1
                s.settimeout(0.4)
                b = s.recv(100)
                if not b:
                    closed = time.monotonic() - t0
                    break
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                closed = time.monotonic() - t0
                break
        s.close()
        tap(closed is not None and limit - 0.5 <= closed <= limit + 2.0,
            "%s is closed at the %.0f s handshake deadline" % (what, limit),
            "closed after %s s" % (None if closed is None else round(closed, 2)))


if part == "heads":
    heads()
else:
    handshake_deadline(float(part))
sys.exit(1 if FAILED else 0)
