#!/usr/bin/python3
"""conformance_client: clients that break one rule each (and one that breaks none), then the
conformance report of the management listener is read back: every check of the table fires for
the client that broke it, with its count, its first occurrence (request URL, detail) and its
reference, and the well-behaved client's report stays empty. One TAP line per check.

Usage: conformance_client.py --part fast|slow DIRECTORY_URL CA_BUNDLE MANAGEMENT_URL

  fast  COBBLE_VA_ALWAYS_VALID=1, COBBLE_ALTERNATE_ROOTS=1, retryAfter {authz: 1, order: 1}
  slow  real validation that fails after a random pause (COBBLE_VA_SLEEPTIME), so challenges are
        seen while "processing": the polling checks
"""
import argparse
import sys
import time

import requests
import urllib3
from cryptography.hazmat.primitives.asymmetric import ec

import acme_protocol as ap
from acme_protocol import check, show

UA = "cobble-acme-protocol-test/1"


def report(c, account=None):
    url = c.mgmt + "/conformance" + ("/" + account if account else "")
    r = requests.get(url, verify=c.ca, timeout=30)
    return r


def acct_id(a):
    return a.url.rsplit("/", 1)[1]


def findings(c, a):
    r = report(c, acct_id(a))
    if r.status_code != 200:
        return {}
    return {f["id"]: f for f in r.json().get("findings", [])}


def fired(c, a, cid, url_part, detail_part, count=None):
    """The check cid is in a's report, first seen at a URL containing url_part with a detail
    containing detail_part (and exactly count times when given)."""
    f = findings(c, a).get(cid)
    good = (f is not None and url_part in f["first"]["url"] and detail_part in f["first"]["detail"]
            and f["first"]["time"].endswith("Z") and f["reference"] and f["severity"] in ("MUST", "SHOULD", "info")
            and (count is None or f["count"] == count))
    check(good, "%s fires for the client that broke it%s" % (cid, " (%d times)" % count if count else ""),
          f, report(c, acct_id(a)).text[:3000])


def wait_ra(r, default=1):
    v = r.headers.get("Retry-After")
    time.sleep(int(v) if v and v.isdigit() else default)


def polite_issue(a, names, cert_key=None, extra=None):
    """A full order cycle that honours every Retry-After and polls at most once a second."""
    cert_key = cert_key or ec.generate_private_key(ec.SECP256R1())
    payload = {"identifiers": ap.idents(*names)}
    payload.update(extra or {})
    r = a.post(a.conn.dir["newOrder"], payload)
    if r.status_code != 201:
        raise RuntimeError("newOrder: " + show(r))
    url, order = r.headers["Location"], r.json()
    for az_url in order["authorizations"]:
        az = a.fetch(az_url)
        ch = ap.pick_challenge(az)
        r = a.post(ch["url"], {})
        while r.json().get("status") in ("pending", "processing"):
            wait_ra(r)
            r = a.post(ch["url"])
        if r.json()["status"] != "valid":
            raise RuntimeError("challenge ended %s" % r.text)
    r = a.post(order["finalize"], {"csr": ap.order_csr(order, cert_key)})
    if r.status_code != 200:
        raise RuntimeError("finalize: " + show(r))
    while r.json()["status"] in ("processing", "ready"):
        wait_ra(r)
        r = a.post(url)
    order = r.json()
    r = a.post(order["certificate"])
    if r.status_code != 200:
        raise RuntimeError("certificate: " + show(r))
    return url, order, r


def fast(c):
    conn = c.conn
    # G follows every rule: a badNonce retried with that answer's nonce, polls as told, fetches the
    # alternate chain, asks renewalInfo and renews with "replaces".
    g, _ = ap.new_account(conn)
    r = g.post(conn.dir["newOrder"], {"identifiers": ap.idents("g0.example.com")}, nonce="AAAAAAAAAAAAAAAAAAAAAA")
    ap.expect_problem(r, 400, "badNonce", "an unknown nonce: badNonce")
    r = g.post(conn.dir["newOrder"], {"identifiers": ap.idents("g0.example.com")},
               nonce=r.headers["Replay-Nonce"])
    check(r.status_code == 201, "...retried with the badNonce response's nonce: 201", show(r))
    _, order, cr = polite_issue(g, ["g.example.com"])
    alts = ap.rel(cr, "alternate")
    check(len(alts) == 1, "the certificate has one alternate chain (COBBLE_ALTERNATE_ROOTS=1)", show(cr))
    g.post(alts[0]) if alts else None
    certid = ap.ari_certid(cr.text)
    r = conn.get(conn.dir["renewalInfo"] + "/" + certid)
    check(r.status_code == 200, "renewalInfo answers for the certificate", show(r))
    polite_issue(g, ["g.example.com"], extra={"replaces": certid})
    r = report(c, acct_id(g))
    check(r.status_code == 200 and r.json().get("findings") == [] and r.json().get("mustBroken") is False
          and r.json().get("requests", 0) > 10 and r.json().get("userAgent") == UA,
          "a client that follows every rule has an empty report (and its request count and User-Agent)",
          r.text[:3000])

    # B breaks one rule at a time
    b, _ = ap.new_account(conn)
    r = b.post(conn.dir["newOrder"], {"identifiers": ap.idents("b.example.com")}, ctype="application/json")
    check(r.status_code == 415, "a JWS sent as application/json: 415", show(r))
    fired(c, b, "jws-content-type", "/acme/new-order", "application/json", 1)

    r = b.post(conn.dir["newOrder"], {"identifiers": ap.idents("b.example.com")}, nonce="AAAAAAAAAAAAAAAAAAAAAA")
    ap.expect_problem(r, 400, "badNonce", "an unknown nonce: badNonce")
    r = b.post(conn.dir["newOrder"], {"identifiers": ap.idents("b.example.com")}, nonce=conn.fresh_nonce())
    check(r.status_code == 201, "...retried with a nonce from newNonce instead: 201", show(r))
    fired(c, b, "badnonce-not-retried", "/acme/new-order", "badNonce response", 1)
    order_url, order = r.headers["Location"], r.json()

    r = b.post(order["finalize"], {"csr": ap.order_csr(order, ec.generate_private_key(ec.SECP256R1()))})
    ap.expect_problem(r, 403, "orderNotReady", "finalize of a pending order: orderNotReady")
    fired(c, b, "finalize-not-ready", "/acme/finalize/", "was pending", 1)

    az = b.fetch(order["authorizations"][0])
    ch = ap.pick_challenge(az)
    r = b.post(ch["url"], {"keyAuthorization": "x"})
    check(r.status_code == 400, "a challenge POST with keyAuthorization: 400", show(r))
    fired(c, b, "challenge-body-not-empty", "/acme/chall/", "keyAuthorization", 1)

    # a certificate downloaded, its alternate never fetched, renewalInfo never asked, then the same
    # names ordered again without "replaces"
    polite_issue(b, ["b2.example.com"])
    fired(c, b, "alternate-never-fetched", "/acme/cert/", "alternate", 1)
    fired(c, b, "ari-never-asked", "/acme/cert/", "renewalInfo", 1)
    r = b.post(conn.dir["newOrder"], {"identifiers": ap.idents("b2.example.com")})
    check(r.status_code == 201, "the same names ordered again without replaces: 201", show(r))
    fired(c, b, "ari-renewal-without-replaces", "/acme/new-order", "replaces", 1)
    r = report(c, acct_id(b))
    check(r.json().get("mustBroken") is True, "B broke a MUST (jws-content-type): mustBroken", r.text[:2000])

    # GET where POST-as-GET is needed: known by User-Agent only (no JWS names an account)
    s = requests.Session()
    s.trust_env, s.verify = False, c.ca
    s.headers["User-Agent"] = "conformance-get-test/1"
    r = s.get(order_url, timeout=30)
    check(r.status_code == 405, "GET of an order: 405", show(r))
    rep = report(c).json()
    ua = [u for u in rep["userAgents"] if u["userAgent"] == "conformance-get-test/1"]
    f = [x for x in (ua[0]["findings"] if ua else []) if x["id"] == "get-not-post-as-get"]
    check(f and f[0]["count"] == 1 and order_url in f[0]["first"]["url"] and f[0]["severity"] == "MUST",
          "get-not-post-as-get fires for the User-Agent that sent the GET", ua)

    # no User-Agent at all: the account and the "(none)" User-Agent both carry it
    nc = ap.Conn(c.dir_url, c.ca)
    nc.s.headers["User-Agent"] = urllib3.util.SKIP_HEADER  # urllib3 would add its own
    n, _ = ap.new_account(nc)
    fired(c, n, "no-user-agent", "/acme/new-acct", "no User-Agent")
    rep = report(c).json()
    none = [u for u in rep["userAgents"] if u["userAgent"] == "(none)"]
    check(none and any(x["id"] == "no-user-agent" for x in none[0]["findings"]),
          "...and the User-Agent \"(none)\" has it too", none)
    ids = [x["id"] for x in rep["checks"]]
    check(len(ids) == len(set(ids)) >= 15 and all(x["severity"] in ("MUST", "SHOULD", "info") and x["reference"]
                                                 and x["message"] for x in rep["checks"]),
          "the report lists the table of checks (id, severity, reference, message)", rep["checks"])
    check(rep["mustBroken"] is True, "the whole report says a MUST was broken", rep.get("mustBroken"))
    r = report(c, "nosuchaccount")
    check(r.status_code == 404 and "GET /conformance" in r.text, "/conformance/<unknown id>: 404 with advice",
          show(r))
    with open(c.save, "w") as out:
        out.write(report(c).text)
    print("# account ids: good=%s bad=%s" % (acct_id(g), acct_id(b)), flush=True)
    with open(c.save + ".ids", "w") as out:
        out.write("%s %s\n" % (acct_id(g), acct_id(b)))


def slow(c):
    conn = c.conn
    p, _ = ap.new_account(conn)
    q, _ = ap.new_account(conn)
    seen_ra = seen_fast = False
    for i in range(6):
        if seen_ra and seen_fast:
            break
        r = p.post(conn.dir["newOrder"], {"identifiers": ap.idents("p%d.example.com" % i)})
        az_url = r.json()["authorizations"][0]
        ch = [x for x in p.fetch(az_url)["challenges"] if x["type"] == "http-01"][0]
        r = p.post(ch["url"], {})
        if r.json().get("status") != "processing" or not r.headers.get("Retry-After"):
            continue
        if not seen_ra:
            p.post(ch["url"])  # at once, though Retry-After said wait
            seen_ra = True
        first = p.fetch(az_url)  # the first read after the challenge: not a poll
        if any(x["status"] == "processing" for x in first["challenges"]):
            p.fetch(az_url)  # and again at once, with no Retry-After to go by
            seen_fast = True
    check(seen_ra and seen_fast, "challenges were seen processing (the precondition of the polling checks)",
          "seen_ra=%s seen_fast=%s" % (seen_ra, seen_fast))
    fired(c, p, "poll-before-retry-after", "/acme/chall/", "Retry-After said")
    fired(c, p, "poll-too-fast", "/acme/authz/", "at most once every 1 s")

    # Q waits as told: no polling finding
    r = q.post(conn.dir["newOrder"], {"identifiers": ap.idents("q.example.com")})
    az_url = r.json()["authorizations"][0]
    ch = [x for x in q.fetch(az_url)["challenges"] if x["type"] == "http-01"][0]
    r = q.post(ch["url"], {})
    while r.json().get("status") in ("pending", "processing"):
        wait_ra(r)
        r = q.post(ch["url"])
    q.fetch(az_url)
    r = report(c, acct_id(q))
    check(r.status_code == 200 and r.json()["findings"] == [], "a client that waits as told has no polling finding",
          r.text[:2000])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=("fast", "slow"), default="fast")
    parser.add_argument("--save", default="/dev/null", help="write the final report JSON here")
    parser.add_argument("directory")
    parser.add_argument("ca")
    parser.add_argument("mgmt")
    args = parser.parse_args()
    c = ap.Ctx()
    c.ca, c.mgmt, c.dir_url, c.save = args.ca, args.mgmt.rstrip("/"), args.directory, args.save
    c.conn = ap.Conn(args.directory, args.ca)
    ap.run(args.part, fast if args.part == "fast" else slow, c)
    return 1 if ap.FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
