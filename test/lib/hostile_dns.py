#!/usr/bin/python3
# hostile_dns.py: a UDP DNS server on loopback that misbehaves on purpose, for the hardening
# suites. What it does depends on a label of the name asked:
#   otherq   answers with the question "other.test" (same type) and a TXT/A record owned by
#            other.test: an answer to a question nobody asked
#   noq      a reply with QDCOUNT 0 and one TXT record at the asked name
#   badtxt   a TXT record whose first length octet runs past RDLENGTH
#   big      a 4 KB UDP answer (40 TXT records) without the TC bit
#   cnloop   a CNAME loop in one answer: NAME -> x.NAME -> NAME
#   hopK     (K = 0..; the first such label) a CNAME to the same name with hop(K+1) after DELAY
#            seconds; hop HOPS answers the records
#   silent   never answers
#   servfail SERVFAIL
#   anything else: A 127.0.0.1 for A, the TXT value for TXT, NODATA for other types
# The TXT value for a question is the content of the file TXTDIR/<name asked, lowercase> when it
# exists (read at each query), else "x".
# Usage: hostile_dns.py PORT TXTDIR [DELAY [HOPS]]
import os
import socket
import struct
import sys
import threading
import time

port, txtdir = int(sys.argv[1]), sys.argv[2]
delay = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
hops = int(sys.argv[4]) if len(sys.argv) > 4 else 8
A, CNAME, TXT, AAAA = 1, 5, 16, 28


def enc_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def parse_question(pkt):
    off, labels = 12, []
    while pkt[off]:
        n = pkt[off]
        labels.append(pkt[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    qtype, qclass = struct.unpack("!HH", pkt[off + 1:off + 5])
    return ".".join(labels), qtype, pkt[12:off + 5]


def txt_value(asked):
    try:
        with open(os.path.join(txtdir, asked.lower().strip(".")), "rb") as f:
            return f.read().strip()
    except OSError:
        return b"x"


def rr(name, rtype, rdata, ttl=60):
    return enc_name(name) + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def txt_rdata(value):
    out = b""
    for i in range(0, max(len(value), 1), 255):
        chunk = value[i:i + 255]
        out += bytes([len(chunk)]) + chunk
    return out


def reply(qid, question, answers, qdcount=1, rcode=0):
    flags = 0x8400 | rcode  # QR, AA
    hdr = struct.pack("!HHHHHH", qid, flags, qdcount, len(answers), 0, 0)
    return hdr + (question if qdcount else b"") + b"".join(answers)


def answer_for(name, qtype, asked):
    if qtype == A:
        return rr(name, A, socket.inet_aton("127.0.0.1"))
    if qtype == TXT:
        return rr(name, TXT, txt_rdata(txt_value(asked)))
    return None


def handle(sock, pkt, peer):
    qid = struct.unpack("!H", pkt[:2])[0]
    name, qtype, question = parse_question(pkt)
    labels = name.lower().split(".")
    hop = next((i for i, l in enumerate(labels) if l.startswith("hop") and l[3:].isdigit()), None)
    if "silent" in labels:
        return
    if "servfail" in labels:
        out = reply(qid, question, [], rcode=2)
    elif "otherq" in labels:
        q = enc_name("other.test") + struct.pack("!HH", qtype, 1)
        a = answer_for("other.test", qtype, name)
        out = reply(qid, q, [a] if a else [])
    elif "noq" in labels:
        out = reply(qid, question, [rr(name, TXT, txt_rdata(b"x"))], qdcount=0)
    elif "badtxt" in labels:
        out = reply(qid, question, [rr(name, TXT, b"\x10abc")])
    elif "cnloop" in labels:
        out = reply(qid, question, [rr(name, CNAME, enc_name("x." + name)), rr("x." + name, CNAME, enc_name(name))])
    elif "big" in labels:
        out = reply(qid, question, [rr(name, TXT, txt_rdata(b"y" * 100)) for _ in range(40)])
    elif hop is not None:
        k = int(labels[hop][3:])
        time.sleep(delay)
        if k < hops:
            target = ".".join(labels[:hop] + ["hop%d" % (k + 1)] + labels[hop + 1:])
            out = reply(qid, question, [rr(name, CNAME, enc_name(target))])
        else:
            a = answer_for(name, qtype, name)
            out = reply(qid, question, [a] if a else [])
    else:
        a = answer_for(name, qtype, name)
        out = reply(qid, question, [a] if a else [])
    sock.sendto(out, peer)


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    while True:
        pkt, peer = sock.recvfrom(4096)
        try:
            threading.Thread(target=handle, args=(sock, pkt, peer), daemon=True).start()
        except Exception as e:  # a malformed query is dropped
            print("hostile_dns: %s" % e, file=sys.stderr)


if __name__ == "__main__":
    main()
