#!/usr/bin/python3
"""faults_client: the management listener's fault hooks seen from a raw ACME client: injected
errors (by resource, by identifier, exactly N times, with the chosen type, status and
Retry-After), the maintenance switch (503 + Retry-After everywhere but the directory), and the
Let's-Encrypt-style limits (new orders per account, new accounts per IP, duplicate certificates)
answered with rateLimited + Retry-After. One TAP line per check.

Usage: faults_client.py --part main|clock DIRECTORY_URL CA_BUNDLE MANAGEMENT_URL
       (the server runs with COBBLE_VA_ALWAYS_VALID=1, COBBLE_WFE_NONCEREJECT=0; for clock also
       orderLifetime 3600, pendingAuthzLifetime 1800, authzLifetime 7200: configurable lifetimes,
       "expired" as RFC 8555 §7.1.6 says, and POST /clock moving cobble's clock forward)
"""
import argparse
import json
import sys

import requests

import acme_protocol as ap
from acme_protocol import check, show


def hook(c, path, body):
    return requests.post(c.mgmt + path, json=body, verify=c.ca, timeout=30)


def faults(c):
    return requests.get(c.mgmt + "/faults", verify=c.ca, timeout=30).json()


def injected(r, status, ptype, retry_after, name):
    ok = ap.is_problem(r, status, ptype) and r.headers.get("Retry-After") == (str(retry_after) if retry_after else None)
    return check(ok, name, "want %d %s Retry-After %s" % (status, ptype, retry_after), show(r))


def new_order(a, *names):
    return a.post(a.conn.dir["newOrder"], {"identifiers": ap.idents(*names)})


def inject(c):
    conn = c.conn
    a, _ = ap.new_account(conn)
    r = hook(c, "/inject", {"resource": "newOrder", "count": 2, "type": "rateLimited", "retryAfter": 7})
    check(r.status_code == 200 and r.json()["injections"][0]["count"] == 2,
          "POST /inject: 200 and the injection listed", show(r))
    for i in (1, 2):
        injected(new_order(a, "n%d.example.com" % i), 429, "rateLimited", 7,
                 "injected newOrder failure %d of 2: 429 rateLimited, Retry-After: 7" % i)
    r = new_order(a, "n3.example.com")
    check(r.status_code == 201, "the third newOrder goes through (count 2 used up)", show(r))
    check(faults(c)["injections"] == [], "...and the injection is gone from /faults")

    # by identifier: only requests about that name, on any resource that names it
    hook(c, "/inject", {"identifier": "inj.example.com", "type": "serverInternal", "status": 503,
                        "retryAfter": 3, "detail": "planned outage for inj.example.com"})
    r = new_order(a, "other.example.com")
    check(r.status_code == 201, "an injection for inj.example.com leaves other names alone", show(r))
    r = new_order(a, "www.example.com", "inj.example.com")
    injected(r, 503, "serverInternal", 3, "newOrder naming inj.example.com: 503 serverInternal, Retry-After: 3")
    check((ap.problem_of(r) or {}).get("detail") == "planned outage for inj.example.com",
          "...with the chosen detail", show(r))
    r = new_order(a, "inj.example.com")
    check(r.status_code == 201, "once used up, inj.example.com orders again", show(r))
    order = r.json()
    hook(c, "/inject", {"resource": "authz", "identifier": "inj.example.com", "type": "rateLimited",
                        "retryAfter": 1})
    injected(a.post(order["authorizations"][0]), 429, "rateLimited", 1,
             "an authz injection matches the authorization's identifier (read from the store)")
    check(a.post(order["authorizations"][0]).status_code == 200, "...once")

    # a wildcard order is about its base name too
    hook(c, "/inject", {"resource": "newOrder", "identifier": "wild.example.com", "type": "rejectedIdentifier",
                        "status": 400})
    injected(new_order(a, "*.wild.example.com"), 400, "rejectedIdentifier", None,
             "an injection for wild.example.com matches *.wild.example.com (no Retry-After when none was set)")

    for body, part in (({"resource": "nope"}, "\"resource\" must be one of"),
                       ({"resource": "newOrder", "type": "nope"}, "\"type\" must be an ACME error name"),
                       ({"type": "rateLimited"}, "say which requests fail"),
                       ({"resource": "newOrder", "count": 0}, "\"count\" must be an integer from 1")):
        r = hook(c, "/inject", body)
        check(r.status_code == 400 and part in (ap.problem_of(r) or {}).get("detail", ""),
              "POST /inject %s: 400 naming the field" % json_short(body), show(r))
    r = requests.get(c.mgmt + "/inject", verify=c.ca, timeout=30)
    check(r.status_code == 405 and r.headers.get("Allow") == "POST", "GET /inject: 405, Allow: POST", show(r))
    hook(c, "/inject", {"resource": "newOrder", "count": 5})
    r = hook(c, "/inject", {"clear": True})
    check(r.status_code == 200 and r.json()["injections"] == [], "{\"clear\": true} drops every injection", show(r))


def json_short(o):
    return json.dumps(o, separators=(",", ":"))


def maintenance(c):
    conn = c.conn
    a, _ = ap.new_account(conn)
    r = hook(c, "/maintenance", {"on": True, "retryAfter": 120})
    check(r.status_code == 200 and r.json()["maintenance"]["on"] is True, "POST /maintenance on", show(r))
    r = conn.get(conn.dir_url)
    check(r.status_code == 200 and "newOrder" in r.json(), "in maintenance the directory still answers", show(r))
    r = conn.s.head(conn.dir["newNonce"], timeout=30)
    check(r.status_code == 503 and r.headers.get("Retry-After") == "120", "newNonce: 503, Retry-After: 120", show(r))
    injected(new_order(a, "m.example.com"), 503, "serverInternal", 120, "newOrder: 503 serverInternal, Retry-After: 120")
    injected(a.post(a.url), 503, "serverInternal", 120, "the account: 503 too")
    r = hook(c, "/maintenance", {"on": False})
    check(r.json()["maintenance"]["refused"] >= 3, "/faults counts the refused requests", r.text)
    check(new_order(a, "m.example.com").status_code == 201, "maintenance off: newOrder works again")
    r = hook(c, "/maintenance", {"retryAfter": 5})
    check(r.status_code == 400 and "\"on\"" in (ap.problem_of(r) or {}).get("detail", ""), "POST /maintenance without \"on\": 400", show(r))


def limits(c):
    conn = c.conn
    a, _ = ap.new_account(conn)
    b, _ = ap.new_account(conn)
    r = hook(c, "/rate-limits", {"newOrdersPerAccount": {"count": 2, "window": 60}})
    check(r.status_code == 200 and r.json()["rateLimits"]["newOrdersPerAccount"]["count"] == 2,
          "POST /rate-limits newOrdersPerAccount 2 per 60 s", show(r))
    check(new_order(a, "l1.example.com").status_code == 201 and new_order(a, "l2.example.com").status_code == 201,
          "two new orders pass")
    r = new_order(a, "l3.example.com")
    ra = r.headers.get("Retry-After", "")
    check(ap.is_problem(r, 429, "rateLimited") and ra.isdigit() and 55 <= int(ra) <= 60
          and "newOrdersPerAccount" in r.json()["detail"],
          "the third: 429 rateLimited, Retry-After until the first leaves the window (55-60 s)", show(r))
    check(new_order(b, "l3.example.com").status_code == 201, "another account is not limited")
    hook(c, "/rate-limits", {"newOrdersPerAccount": {"count": 0, "window": 60}})
    check(new_order(a, "l4.example.com").status_code == 201, "count 0 turns the limit off")

    hook(c, "/rate-limits", {"newAccountsPerIP": {"count": 1, "window": 3600}})
    k = ap.Key()
    r = conn.post(conn.dir["newAccount"], {"termsOfServiceAgreed": True}, k)
    check(r.status_code == 201, "newAccountsPerIP 1: the first new account passes", show(r))
    r = conn.post(conn.dir["newAccount"], {"termsOfServiceAgreed": True}, ap.Key())
    ra = r.headers.get("Retry-After", "")
    check(ap.is_problem(r, 429, "rateLimited") and ra.isdigit() and int(ra) > 3500
          and "127.0.0.1" in r.json()["detail"], "the second from 127.0.0.1: 429 rateLimited with Retry-After", show(r))
    r = conn.post(conn.dir["newAccount"], {"termsOfServiceAgreed": True}, k)
    check(r.status_code == 200, "looking up the existing account is not a new account: 200", show(r))
    hook(c, "/rate-limits", {"newAccountsPerIP": {"count": 0, "window": 1}})

    hook(c, "/rate-limits", {"duplicateCertificates": {"count": 1, "window": 3600}})
    ap.issue(a, ["dup.example.com", "www.dup.example.com"])
    r = new_order(a, "www.dup.example.com", "dup.example.com")
    ra = r.headers.get("Retry-After", "")
    check(ap.is_problem(r, 429, "rateLimited") and ra.isdigit() and int(ra) > 3500
          and "duplicateCertificates" in r.json()["detail"],
          "duplicateCertificates 1: a second order for the same names (any order) is 429 rateLimited", show(r))
    check(new_order(a, "dup.example.com").status_code == 201, "a different set of names is not a duplicate")
    r = hook(c, "/rate-limits", {"duplicateCertificates": {"count": 1}})
    check(r.status_code == 400 and "\"window\"" in (ap.problem_of(r) or {}).get("detail", ""), "a limit without a window: 400", show(r))
    r = hook(c, "/rate-limits", {"ordersPerDay": {"count": 1, "window": 1}})
    check(r.status_code == 400 and "unknown limit" in r.text, "an unknown limit: 400 naming it", show(r))
    lim = faults(c)["rateLimits"]
    check(lim["duplicateCertificates"]["refused"] == 1, "/faults counts what each limit refused", lim)


def clock(c):
    """The server runs with orderLifetime 3600, pendingAuthzLifetime 1800, authzLifetime 7200."""
    import time as _t
    conn = c.conn
    a, _ = ap.new_account(conn)
    now = _t.time()
    close = lambda s, want: abs(ap.rfc3339(s).timestamp() - want) < 120
    r = new_order(a, "pending.example.com")
    pend_url, pend = r.headers["Location"], r.json()
    pend_az = a.fetch(pend["authorizations"][0])
    check(close(pend["expires"], now + 3600), "orderLifetime 3600: the order expires in an hour", pend)
    check(close(pend_az["expires"], now + 1800), "pendingAuthzLifetime 1800: the pending authorization in 30 min",
          pend_az)
    ready_url, ready, _, _ = None, None, None, None
    r = new_order(a, "ready.example.com")
    ready_url, ready = r.headers["Location"], r.json()
    ap.complete_authzs(a, ready)
    ready_az = a.fetch(ready["authorizations"][0])
    check(ready_az["status"] == "valid" and close(ready_az["expires"], now + 7200),
          "authzLifetime 7200: a valid authorization lives 2 hours from its validation", ready_az)
    _, _, chain, _ = ap.issue(a, ["revoked.example.com"])
    r = a.post(conn.dir["revokeCert"], {"certificate": ap.der_b64(chain)})
    check(r.status_code == 200, "a certificate revoked for the ARI check", show(r))
    certid = ap.ari_certid(chain)

    r = requests.post(c.mgmt + "/clock", json={"advance": 1900}, verify=c.ca, timeout=30)
    check(r.status_code == 200 and r.json()["offset"] == 1900, "POST /clock {advance: 1900}: offset 1900", show(r))
    az = a.fetch(pend["authorizations"][0])
    check(az["status"] == "expired", "§7.1.6: the pending authorization is now expired", az)
    o = a.fetch(pend_url)
    check(o["status"] == "invalid", "§7.1.6: its order is invalid", o)
    check(a.fetch(ready["authorizations"][0])["status"] == "valid", "the valid authorization (7200 s) is still valid")
    check(a.fetch(ready_url)["status"] == "ready", "and its order still ready")
    r = new_order(a, "new.example.com")
    check(r.status_code == 201 and close(r.json()["expires"], now + 1900 + 3600),
          "a new order expires an hour after cobble's clock, not the real time", r.text)
    w = conn.get(conn.dir["renewalInfo"] + "/" + certid).json()["suggestedWindow"]
    check(close(w["end"], now + 1900 - 3600),
          "RFC 9773: a revoked certificate's renewal window is just before cobble's clock", w)

    requests.post(c.mgmt + "/clock", json={"advance": 2000}, verify=c.ca, timeout=30)
    o = a.fetch(ready_url)
    check(o["status"] == "invalid" and "expired" in o.get("error", {}).get("detail", ""),
          "past orderLifetime the ready order is invalid, its error saying it expired", o)
    check(a.fetch(ready["authorizations"][0])["status"] == "valid",
          "...while its authorization (valid 7200 s) is not expired yet")
    requests.post(c.mgmt + "/clock", json={"advance": 3400}, verify=c.ca, timeout=30)
    check(a.fetch(ready["authorizations"][0])["status"] == "expired", "past authzLifetime it is expired too")
    r = requests.post(c.mgmt + "/clock", json={"advance": -5}, verify=c.ca, timeout=30)
    check(r.status_code == 400 and "only moves forward" in (ap.problem_of(r) or {}).get("detail", ""),
          "the clock never goes back: 400", show(r))
    r = requests.get(c.mgmt + "/clock", verify=c.ca, timeout=30).json()
    check(r["offset"] == 7300 and r["now"] > r["realTime"], "GET /clock: offset 7300, cobble's time and the real time", r)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=("main", "clock"), default="main")
    parser.add_argument("directory")
    parser.add_argument("ca")
    parser.add_argument("mgmt")
    args = parser.parse_args()
    c = ap.Ctx()
    c.ca, c.mgmt = args.ca, args.mgmt.rstrip("/")
    c.conn = ap.Conn(args.directory, args.ca)
    parts = {"main": (("injection", inject), ("maintenance", maintenance), ("rate limits", limits)),
             "clock": (("lifetimes and the clock", clock),)}
    for name, fn in parts[args.part]:
        ap.run(name, fn, c)
    return 1 if ap.FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
