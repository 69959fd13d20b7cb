#!/usr/bin/python3
"""acme_protocol: a raw RFC 8555 client that checks every ACME resource of a running cobble, one
TAP line per check: exact status codes, Content-Types, problem types, and that bad input gets a
clear answer and changes nothing (the objects involved are fetched again and compared).

Usage: acme_protocol.py --part main|slow|strict|eab [--eab-key KID=KEY ...] DIRECTORY_URL CA_BUNDLE
       MANAGEMENT_URL

  main  the server runs with COBBLE_VA_ALWAYS_VALID=1, COBBLE_WFE_NONCEREJECT=0,
        COBBLE_AUTHZREUSE=0, COBBLE_ALTERNATE_ROOTS=1
  slow  the server validates for real (and fails: nothing answers on loopback) after a random
        pause (COBBLE_VA_SLEEPTIME), so challenges are seen while "processing"
  eab   the server requires external account binding (§7.3.4) with the MAC keys given as
        --eab-key KID=BASE64URL-KEY (at least two, the second at least 48 bytes long)

Section numbers in check names and comments are those of RFC 8555.
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import re
import sys
import threading
import time
import traceback

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

URN = "urn:ietf:params:acme:error:"
JOSE = "application/jose+json"
POLL_SECONDS = 60

# ---------------------------------------------------------------------------------------------
# TAP

_tap_lock = threading.Lock()
FAILED = 0


def check(cond, name, *diag):
    """One TAP line; diagnostics (shown only on failure) as '# ' lines."""
    global FAILED
    with _tap_lock:
        if cond:
            print("ok - " + name, flush=True)
        else:
            FAILED += 1
            print("not ok - " + name, flush=True)
            for d in diag:
                for line in str(d).splitlines()[:30]:
                    print("    # " + line, flush=True)
    return bool(cond)


def show(r):
    """A response in a few lines, for diagnostics."""
    if r is None:
        return "(no response)"
    hdrs = {k: v for k, v in r.headers.items()
            if k.lower() in ("content-type", "location", "link", "retry-after", "allow", "replay-nonce")}
    body = r.text if len(r.text) < 1500 else r.text[:1500] + "..."
    return "%s %s\nheaders: %s\nbody: %s" % (r.request.method, r.url, hdrs, body)


def problem_of(r):
    if not r.headers.get("Content-Type", "").startswith("application/problem+json"):
        return None
    try:
        d = r.json()
    except ValueError:
        return None
    return d if isinstance(d, dict) else None


def is_problem(r, status, ptype):
    """status exactly, Content-Type application/problem+json, type (a name or a tuple of names)."""
    p = problem_of(r)
    types = ptype if isinstance(ptype, tuple) else (ptype,)
    return (r.status_code == status and p is not None
            and p.get("type") in [URN + t for t in types]
            and isinstance(p.get("detail"), str)
            and p.get("status", status) == status)


def expect_problem(r, status, ptype, name):
    return check(is_problem(r, status, ptype), name,
                 "want %s %s" % (status, ptype), show(r))


def expect_json(r, status, name, cond=True, *diag):
    ok = (r.status_code == status and r.headers.get("Content-Type", "").startswith("application/json")
          and cond)
    return check(ok, name, "want %d application/json" % status, show(r), *diag)


# ---------------------------------------------------------------------------------------------
# JOSE


def b64u(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def int_b64(n, length=None):
    length = length or (n.bit_length() + 7) // 8
    return b64u(n.to_bytes(length, "big"))


class Key:
    """An account (or certificate) key with its JWK and JWS signature."""

    def __init__(self, kind="ES256"):
        self.kind = kind
        if kind == "ES256":
            self.priv = ec.generate_private_key(ec.SECP256R1())
        elif kind == "RS256":
            self.priv = rsa.generate_private_key(65537, 2048)
        elif kind == "EdDSA":
            self.priv = ed25519.Ed25519PrivateKey.generate()
        else:
            raise ValueError(kind)
        self.alg = kind

    def jwk(self):
        pub = self.priv.public_key()
        if self.kind == "ES256":
            n = pub.public_numbers()
            return {"crv": "P-256", "kty": "EC", "x": int_b64(n.x, 32), "y": int_b64(n.y, 32)}
        if self.kind == "RS256":
            n = pub.public_numbers()
            return {"e": int_b64(n.e), "kty": "RSA", "n": int_b64(n.n)}
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"crv": "Ed25519", "kty": "OKP", "x": b64u(raw)}

    def thumbprint(self):
        canon = json.dumps(self.jwk(), sort_keys=True, separators=(",", ":"))
        return b64u(hashlib.sha256(canon.encode()).digest())

    def sign(self, data):
        if self.kind == "ES256":
            r, s = decode_dss_signature(self.priv.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if self.kind == "RS256":
            return self.priv.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self.priv.sign(data)


def jws(key, url, payload, nonce, kid=None, alg=None, extra=None, drop=(), sign_key=None,
        raw_payload=None):
    """A flattened JWS. payload None = POST-as-GET (""); kid None = embed the jwk."""
    prot = {"alg": alg or key.alg, "url": url}
    if nonce is not None:
        prot["nonce"] = nonce
    if kid:
        prot["kid"] = kid
    else:
        prot["jwk"] = key.jwk()
    prot.update(extra or {})
    for d in drop:
        prot.pop(d, None)
    p64 = b64u(json.dumps(prot))
    if raw_payload is not None:
        pl64 = raw_payload
    elif payload is None:
        pl64 = ""
    else:
        pl64 = b64u(payload if isinstance(payload, (bytes, str)) else json.dumps(payload))
    sig = (sign_key or key).sign(("%s.%s" % (p64, pl64)).encode())
    return {"protected": p64, "payload": pl64, "signature": b64u(sig)}


# ---------------------------------------------------------------------------------------------
# client


class Conn:
    """One HTTPS client (its own connection pool) that keeps the latest Replay-Nonce."""

    def __init__(self, dir_url, ca):
        self.s = requests.Session()
        self.s.trust_env = False  # REQUESTS_CA_BUNDLE or a proxy from the environment must not apply
        self.s.verify = ca
        self.s.headers["User-Agent"] = "cobble-acme-protocol-test/1"
        self.dir_url = dir_url
        self.dir = self.s.get(dir_url, timeout=30).json()
        self.nonce = None
        self.base = re.match(r"(https://[^/]+)", dir_url).group(1)

    def fresh_nonce(self):
        return self.s.head(self.dir["newNonce"], timeout=30).headers["Replay-Nonce"]

    def take_nonce(self):
        n, self.nonce = self.nonce, None
        return n or self.fresh_nonce()

    def send(self, url, body, ctype=JOSE):
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        headers = {"Content-Type": ctype} if ctype else {}
        r = self.s.post(url, data=data, headers=headers, timeout=60)
        if "Replay-Nonce" in r.headers:
            self.nonce = r.headers["Replay-Nonce"]
        return r

    def post(self, url, payload, key, kid=None, **kw):
        nonce = kw.pop("nonce") if "nonce" in kw else self.take_nonce()
        ctype = kw.pop("ctype", JOSE)
        return self.send(url, jws(key, url, payload, nonce, kid=kid, **kw), ctype=ctype)

    def get(self, url):
        return self.s.get(url, timeout=30)


class Account:
    def __init__(self, conn, key, url):
        self.conn, self.key, self.url = conn, key, url

    def post(self, url, payload=None, **kw):
        return self.conn.post(url, payload, self.key, kid=self.url, **kw)

    def fetch(self, url):
        """POST-as-GET; returns the JSON body (raises on failure)."""
        r = self.post(url)
        if r.status_code != 200:
            raise RuntimeError("POST-as-GET %s: %s" % (url, show(r)))
        return r.json()


def new_account(conn, key=None, contact=None, **extra):
    key = key or Key()
    payload = {"termsOfServiceAgreed": True}
    if contact is not None:
        payload["contact"] = contact
    payload.update(extra)
    r = conn.post(conn.dir["newAccount"], payload, key)
    if r.status_code not in (200, 201):
        raise RuntimeError("newAccount: " + show(r))
    return Account(conn, key, r.headers["Location"]), r


def poll(fn, done, timeout=POLL_SECONDS, interval=0.1):
    """Call fn until done(its value) or the timeout; returns the last value."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if done(v) or time.time() > deadline:
            return v
        time.sleep(interval)


def make_csr(key, dns=(), ips=(), cn=None):
    b = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []))
    sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    csr = b.sign(key, hashes.SHA256())
    return b64u(csr.public_bytes(serialization.Encoding.DER))


def order_csr(order, key):
    dns = [i["value"] for i in order["identifiers"] if i["type"] == "dns"]
    ips = [i["value"] for i in order["identifiers"] if i["type"] == "ip"]
    return make_csr(key, dns, ips)


def idents(*names):
    out = []
    for n in names:
        try:
            ipaddress.ip_address(n)
            out.append({"type": "ip", "value": n})
        except ValueError:
            out.append({"type": "dns", "value": n})
    return out


def same_idents(a, b):
    """Identifier lists equal in any order (§7.4: clients assume no sort order)."""
    return sorted(map(json.dumps, a)) == sorted(map(json.dumps, b))


def pick_challenge(authz):
    want = "dns-01" if authz.get("wildcard") else "http-01"
    for c in authz["challenges"]:
        if c["type"] == want:
            return c
    return authz["challenges"][0]


def complete_authzs(acct, order):
    for az_url in order["authorizations"]:
        az = acct.fetch(az_url)
        if az["status"] == "valid":
            continue
        ch = pick_challenge(az)
        r = acct.post(ch["url"], {})
        if r.status_code != 200:
            raise RuntimeError("challenge POST: " + show(r))
        az = poll(lambda: acct.fetch(az_url), lambda a: a["status"] != "pending")
        if az["status"] != "valid":
            raise RuntimeError("authorization %s ended %s" % (az_url, az["status"]))


def issue(acct, names, cert_key=None, extra=None):
    """A full order cycle; returns (order_url, order, chain_pem, cert_key)."""
    cert_key = cert_key or ec.generate_private_key(ec.SECP256R1())
    payload = {"identifiers": idents(*names)}
    payload.update(extra or {})
    r = acct.post(acct.conn.dir["newOrder"], payload)
    if r.status_code != 201:
        raise RuntimeError("newOrder: " + show(r))
    url, order = r.headers["Location"], r.json()
    complete_authzs(acct, order)
    order = poll(lambda: acct.fetch(url), lambda o: o["status"] != "pending")
    if order["status"] != "ready":
        raise RuntimeError("order is %s, not ready: %s" % (order["status"], order))
    r = acct.post(order["finalize"], {"csr": order_csr(order, cert_key)})
    if r.status_code != 200:
        raise RuntimeError("finalize: " + show(r))
    order = poll(lambda: acct.fetch(url), lambda o: o["status"] not in ("processing", "ready"))
    if order["status"] != "valid":
        raise RuntimeError("order ended %s" % order)
    r = acct.post(order["certificate"])
    if r.status_code != 200:
        raise RuntimeError("certificate: " + show(r))
    return url, order, r.text, cert_key


def pem_certs(text):
    return [x509.load_pem_x509_certificate(m.encode()) for m in
            re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.S)]


def signed_by(cert, issuer):
    pub = issuer.public_key()
    try:
        if isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        else:
            pub.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                       cert.signature_hash_algorithm)
        return cert.issuer == issuer.subject
    except Exception:
        return False


def links(r):
    """[(url, rel)] from every Link header of r."""
    out = []
    for part in re.findall(r'<([^>]*)>\s*;\s*rel="?([^",;]+)"?', r.headers.get("Link", "")):
        out.append(part)
    return out


def rel(r, name):
    return [u for u, rl in links(r) if rl == name]


def rfc3339(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def retry_after_ok(r):
    v = r.headers.get("Retry-After")
    return v is not None and v.isdigit()


# ---------------------------------------------------------------------------------------------
# sections


class Ctx:
    pass


def sec_directory(c):
    conn = c.conn
    r = conn.get(conn.dir_url)
    d = r.json() if r.status_code == 200 else {}
    expect_json(r, 200, "§7.1.1 directory: 200 application/json")
    urls = all(isinstance(d.get(k), str) and d[k].startswith(conn.base + "/")
               for k in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"))
    check(urls, "§7.1.1 directory lists newNonce, newAccount, newOrder, revokeCert, keyChange URLs", d)
    check("newAuthz" not in d, "§7.1.1 directory omits newAuthz (no pre-authorization)", d)
    meta = d.get("meta", {})
    check(isinstance(meta.get("termsOfService"), str) and meta["termsOfService"],
          "§7.1.1 meta.termsOfService is a URL string", meta)
    check(meta.get("externalAccountRequired") is False, "§7.1.1 meta.externalAccountRequired is false", meta)
    check(isinstance(meta.get("caaIdentities"), list) and meta["caaIdentities"]
          and all(isinstance(x, str) for x in meta["caaIdentities"]),
          "§7.1.1 meta.caaIdentities is a non-empty list of names", meta)
    prof = meta.get("profiles")
    check(isinstance(prof, dict) and isinstance(prof.get("default"), str),
          "meta.profiles (draft-aaron-acme-profiles) names the default profile", meta)
    c.profiles = prof or {}

    r = conn.s.post(conn.dir_url, data="{}", headers={"Content-Type": JOSE})
    # §6.3: GET and POST-as-GET both; a plain unsigned POST is neither
    check(r.status_code in (400, 405) and problem_of(r) is not None,
          "POST with an unsigned body to the directory: a problem document", show(r))


def sec_nonce(c):
    conn = c.conn
    url = conn.dir["newNonce"]
    nonces = []
    for method, status in (("HEAD", 200), ("GET", 204)):
        r = conn.s.request(method, url, timeout=30)
        n = r.headers.get("Replay-Nonce", "")
        nonces.append(n)
        check(r.status_code == status, "§7.2 newNonce %s answers %d" % (method, status), show(r))
        check(re.fullmatch(r"[A-Za-z0-9_-]+", n) is not None,
              "§6.5.1 newNonce %s: Replay-Nonce is base64url" % method, show(r))
        cc = [x.strip() for x in r.headers.get("Cache-Control", "").split(",")]
        check("no-store" in cc, "§7.2 newNonce %s: Cache-Control no-store" % method, show(r))
        check(rel(r, "index") == [conn.dir_url], "§7.1 newNonce %s: Link rel=\"index\" to the directory" % method,
              show(r))
        if method == "GET":
            check(r.content == b"", "§7.2 newNonce GET: empty body", show(r))
    check(nonces[0] != nonces[1], "§6.5.1 every response gets a different nonce", nonces)


def sec_post_as_get_bootstrap(c):
    """§6.3: 'The server MUST allow GET requests for the directory and newNonce resources, in
    addition to POST-as-GET requests for these resources.'"""
    a = c.A
    r = a.post(c.conn.dir["newNonce"])
    check(r.status_code in (200, 204) and "Replay-Nonce" in r.headers,
          "§6.3 POST-as-GET to newNonce is allowed (200/204 with Replay-Nonce)", show(r))
    r = a.post(c.conn.dir_url)
    ok = r.status_code == 200 and r.headers.get("Content-Type", "").startswith("application/json")
    check(ok and "newOrder" in r.json(), "§6.3 POST-as-GET to the directory is allowed (200, the directory)",
          show(r))


def account_exists(conn, key):
    """onlyReturnExisting lookup: the account URL or None (accountDoesNotExist)."""
    r = conn.post(conn.dir["newAccount"], {"onlyReturnExisting": True}, key)
    if r.status_code == 200:
        return r.headers.get("Location")
    if not is_problem(r, 400, "accountDoesNotExist"):
        raise RuntimeError("onlyReturnExisting: " + show(r))
    return None


def sec_new_account(c):
    conn = c.conn
    na = conn.dir["newAccount"]
    key = Key()
    payload = {"termsOfServiceAgreed": True, "contact": ["mailto:admin@example.com"],
               "onlyReturnExisting": False, "someExtension": "x", "orders": "https://evil.example/"}
    r = conn.post(na, payload, key)
    body = r.json() if r.status_code == 201 else {}
    loc = r.headers.get("Location", "")
    expect_json(r, 201, "§7.3 newAccount: 201 Created, application/json")
    check(re.fullmatch(re.escape(conn.base) + r"/acme/acct/[0-9a-f]+", loc) is not None,
          "§7.3 newAccount: Location is the account URL", show(r))
    check(body.get("status") == "valid" and body.get("contact") == ["mailto:admin@example.com"]
          and body.get("orders") == loc + "/orders" and body.get("termsOfServiceAgreed") is True,
          "§7.1.2 account object: status valid, contact, termsOfServiceAgreed, orders URL (client's orders ignored)",
          body)
    check("onlyReturnExisting" not in body and "someExtension" not in body,
          "§7.3 onlyReturnExisting and unknown fields are not reflected", body)
    check(re.fullmatch(r"[A-Za-z0-9_-]+", r.headers.get("Replay-Nonce", "")) is not None
          and rel(r, "index") == [conn.dir_url],
          "§6.5/§7.1 newAccount response has Replay-Nonce and Link rel=\"index\"", show(r))
    c.A = Account(conn, key, loc)
    c.A_body = body

    # §7.3.1: the same key again → 200, same Location, request fields ignored
    r = conn.post(na, {"termsOfServiceAgreed": True, "contact": ["mailto:other@example.com"]}, key)
    check(r.status_code == 200 and r.headers.get("Location") == loc
          and r.json().get("contact") == ["mailto:admin@example.com"],
          "§7.3.1 newAccount with an existing key: 200, same Location, request fields ignored", show(r))
    r = conn.post(na, {"onlyReturnExisting": True}, key)
    check(r.status_code == 200 and r.headers.get("Location") == loc,
          "§7.3.1 onlyReturnExisting with an existing key: 200 and its Location", show(r))

    k2 = Key()
    r = conn.post(na, {"onlyReturnExisting": True, "termsOfServiceAgreed": True}, k2)
    expect_problem(r, 400, "accountDoesNotExist", "§7.3.1 onlyReturnExisting with an unknown key: 400 accountDoesNotExist")
    check(account_exists(conn, k2) is None, "§7.3.1 onlyReturnExisting created nothing")

    refusals = [
        ("termsOfServiceAgreed missing", {"contact": ["mailto:a@example.com"]}, 400, "malformed"),
        ("termsOfServiceAgreed false", {"termsOfServiceAgreed": False}, 400, "malformed"),
        ("contact \"tel:\"", {"termsOfServiceAgreed": True, "contact": ["tel:+12025550100"]}, 400,
         "unsupportedContact"),
        ("contact mailto without an address", {"termsOfServiceAgreed": True, "contact": ["mailto:not-an-address"]},
         400, "invalidContact"),
        ("contact mailto with two addresses",
         {"termsOfServiceAgreed": True, "contact": ["mailto:a@example.com,b@example.com"]}, 400, "invalidContact"),
        ("contact mailto with hfields", {"termsOfServiceAgreed": True, "contact": ["mailto:a@example.com?subject=x"]},
         400, "invalidContact"),
        ("contact not an array", {"termsOfServiceAgreed": True, "contact": "mailto:a@example.com"}, 400, "malformed"),
    ]
    for what, payload, status, ptype in refusals:
        k = Key()
        r = conn.post(na, payload, k)
        expect_problem(r, status, ptype, "§7.3 newAccount with %s: %d %s" % (what, status, ptype))
        check(account_exists(conn, k) is None, "§7.3 newAccount with %s created no account" % what)

    # §6.2: newAccount must carry jwk, not kid
    r = conn.post(na, {"termsOfServiceAgreed": True}, key, kid=loc)
    expect_problem(r, 400, "malformed", "§6.2 newAccount signed with kid instead of jwk: 400 malformed")
    k = Key()
    r = conn.post(na, None, k)
    expect_problem(r, 400, "malformed", "§7.3 newAccount with an empty (POST-as-GET) payload: 400 malformed")

    # §6.2: a supported alg with a key the server will not take → badPublicKey
    weak = Key("RS256")
    weak.priv = rsa.generate_private_key(65537, 1024)
    r = conn.post(na, {"termsOfServiceAgreed": True}, weak)
    expect_problem(r, 400, "badPublicKey", "§6.2 newAccount with a 1024-bit RSA key: 400 badPublicKey")
    k = Key()
    priv_jwk = dict(k.jwk(), d=int_b64(k.priv.private_numbers().private_value, 32))
    r = conn.send(na, jws(k, na, {"termsOfServiceAgreed": True}, conn.take_nonce(), extra={"jwk": priv_jwk}))
    expect_problem(r, 400, ("badPublicKey", "malformed"), "§6.2 newAccount whose jwk carries the private key: refused")
    check(account_exists(conn, k) is None, "§6.2 the refused key created no account")

    for kind in ("RS256", "EdDSA"):
        k = Key(kind)
        r = conn.post(na, {"termsOfServiceAgreed": True}, k)
        check(r.status_code == 201 and "Location" in r.headers, "§6.2 newAccount with a %s key: 201" % kind, show(r))
        if r.status_code == 201:
            acct = Account(conn, k, r.headers["Location"])
            r = acct.post(acct.url)
            check(r.status_code == 200, "§6.2 %s account signs a POST-as-GET" % kind, show(r))



def sec_account(c):
    a, conn = c.A, c.conn
    r = a.post(a.url)
    expect_json(r, 200, "§7.3.2 account POST-as-GET: 200 application/json",
                r.status_code == 200 and r.json().get("status") == "valid")

    r = a.post(a.url, {"contact": ["mailto:new@example.com", "mailto:second@example.com"]})
    expect_json(r, 200, "§7.3.2 contact update: 200 with the new contacts",
                r.status_code == 200 and r.json().get("contact") == ["mailto:new@example.com", "mailto:second@example.com"])
    after = a.fetch(a.url)
    check(after.get("contact") == ["mailto:new@example.com", "mailto:second@example.com"],
          "§7.3.2 contact update is stored", after)

    r = a.post(a.url, {"termsOfServiceAgreed": False, "orders": "https://evil.example/", "unknown": 1})
    now = a.fetch(a.url)
    check(r.status_code == 200 and now == after,
          "§7.3.2 updates of termsOfServiceAgreed, orders and unknown fields are ignored", show(r), now)

    r = a.post(a.url, {"status": "valid"})
    now = a.fetch(a.url)
    check(r.status_code == 200 and now == after,
          "§7.3.2 a status update other than deactivated is ignored (200, nothing changes)", show(r), now)

    r = a.post(a.url, {"contact": ["tel:+12025550100"]})
    expect_problem(r, 400, "unsupportedContact", "§7.3.2 contact update to tel: → 400 unsupportedContact")
    check(a.fetch(a.url) == after, "§7.3.2 refused contact update changed nothing")
    r = a.post(a.url, {"contact": ["mailto:x@example.com?body=hi"]})
    expect_problem(r, 400, "invalidContact", "§7.3.2 contact update to a mailto with hfields → 400 invalidContact")
    check(a.fetch(a.url) == after, "§7.3.2 refused contact update changed nothing (invalidContact)")

    r = a.post(c.B.url)
    expect_problem(r, 403, "unauthorized", "§7.3.2 POST-as-GET another account's URL: 403 unauthorized")
    r = a.post(c.B.url, {"contact": ["mailto:hijack@example.com"]})
    expect_problem(r, 403, "unauthorized", "§7.3.2 updating another account: 403 unauthorized")
    check(c.B.fetch(c.B.url).get("contact") == ["mailto:b@example.com"], "§7.3.2 the other account is unchanged")

    r = conn.get(a.url)
    check(is_problem(r, 405, "malformed") and "POST" in r.headers.get("Allow", ""),
          "§6.3 GET on the account URL: 405 malformed, Allow: POST", show(r))
    c.A_body = a.fetch(a.url)


def all_orders(acct):
    """Every order URL in the orders list, following rel="next"; (urls, pages)."""
    url = acct.fetch(acct.url)["orders"]
    urls, pages, seen = [], 0, set()
    while url and url not in seen and pages < 20:
        seen.add(url)
        r = acct.post(url)
        if r.status_code != 200:
            raise RuntimeError("orders list: " + show(r))
        urls += r.json()["orders"]
        pages += 1
        nxt = rel(r, "next")
        url = nxt[0] if nxt else None
    return urls, pages


def sec_orders_list(c):
    conn = c.conn
    p, _ = new_account(conn)
    made = []
    for i in range(55):
        r = p.post(conn.dir["newOrder"], {"identifiers": idents("page%d.example.com" % i)})
        if r.status_code != 201:
            check(False, "§7.4 newOrder for the orders list", show(r))
            return
        made.append(r.headers["Location"])
    orders_url = p.fetch(p.url)["orders"]
    r = p.post(orders_url)
    first = r.json().get("orders", []) if r.status_code == 200 else []
    expect_json(r, 200, "§7.1.2.1 orders list: 200 application/json with an \"orders\" array",
                isinstance(first, list) and all(isinstance(u, str) for u in first))
    nxt = rel(r, "next")
    check(len(first) == 50 and len(nxt) == 1, "§7.1.2.1 55 orders: a first page of 50 and Link rel=\"next\"",
          "%d orders, next=%s" % (len(first), nxt), show(r))
    rest = []
    if nxt:
        r2 = p.post(nxt[0])
        rest = r2.json().get("orders", []) if r2.status_code == 200 else []
        check(r2.status_code == 200 and len(rest) == 5 and not rel(r2, "next"),
              "§7.1.2.1 the next page has the other 5 and no rel=\"next\"", show(r2))
    check(sorted(first + rest) == sorted(made), "§7.1.2.1 the pages list every order exactly once",
          "missing %s" % (set(made) - set(first + rest)))
    check(first[:3] == made[::-1][:3], "orders list is newest first", first[:3], made[::-1][:3])
    r = c.A.post(orders_url)
    expect_problem(r, 403, "unauthorized", "§7.1.2.1 another account's orders list: 403 unauthorized")
    r = conn.get(orders_url)
    expect_problem(r, 405, "malformed", "§6.3 GET on the orders list: 405 malformed")
    r = p.post(orders_url + "/99")
    check(r.status_code == 200 and r.json().get("orders") == [] or is_problem(r, 404, "malformed"),
          "§7.1.2.1 a page past the end: empty or 404 problem", show(r))


def key_change_body(conn, acct, new_key, inner_url=None, account=None, old_jwk=None, inner_nonce=None,
                    inner_sign_key=None, outer_key=None):
    url = conn.dir["keyChange"]
    inner_payload = {"account": account or acct.url, "oldKey": old_jwk or acct.key.jwk()}
    inner = jws(new_key, inner_url or url, inner_payload, inner_nonce, sign_key=inner_sign_key)
    return jws(outer_key or acct.key, url, json.dumps(inner), conn.take_nonce(), kid=acct.url)


def sec_key_change(c):
    conn = c.conn
    url = conn.dir["keyChange"]
    k, _ = new_account(conn, contact=["mailto:k@example.com"])
    old = k.key
    r = k.post(conn.dir["newOrder"], {"identifiers": idents("kc.example.com")})
    kc_url, kc = r.headers["Location"], r.json()
    n1 = Key()
    r = conn.send(url, key_change_body(conn, k, n1))
    body = r.json() if r.status_code == 200 else {}
    expect_json(r, 200, "§7.3.5 keyChange: 200 with the account", body.get("status") == "valid")
    if "key" in body:
        check(body["key"] == n1.jwk(), "§7.3.5 the account now shows the new key", body)
    r = conn.post(k.url, None, old, kid=k.url)
    check(400 <= r.status_code < 500 and problem_of(r) is not None and r.status_code != 200,
          "§7.3.5 the old key is refused after keyChange", show(r))
    check(account_exists(conn, old) is None, "§7.3.5 the old key no longer finds the account")
    check(account_exists(conn, n1) == k.url, "§7.3.5 the new key finds the same account URL")
    k.key = n1
    r = k.post(k.url)
    check(r.status_code == 200, "§7.3.5 the new key works", show(r))
    snap = k.fetch(k.url)
    r = k.post(kc_url)
    check(r.status_code == 200 and r.json() == kc,
          "§7.3.5 a pending order made with the old key is still pending after the change", show(r))
    complete_authzs(k, kc)
    kc = poll(lambda: k.fetch(kc_url), lambda x: x["status"] != "pending")
    check(kc["status"] == "ready", "§7.3.5 ... and its authorizations complete with the new key", kc)

    # §7.3.5: the new key already belongs to another account → 409 with its Location
    r = conn.send(url, key_change_body(conn, k, c.A.key))
    check(r.status_code == 409 and r.headers.get("Location") == c.A.url and problem_of(r) is not None,
          "§7.3.5 keyChange to another account's key: 409 Conflict, Location of that account", show(r))
    check(k.fetch(k.url) == snap and c.A.fetch(c.A.url) == c.A_body,
          "§7.3.5 refused keyChange (conflict) changed neither account")

    bad = [
        ("inner url differs from outer url", dict(inner_url=conn.dir["newOrder"]), (400,), ("malformed",)),
        ("inner JWS has a nonce (it MUST be omitted)", dict(inner_nonce=conn.fresh_nonce()), (400,), ("malformed",)),
        ("inner account is another account", dict(account=c.A.url), (400, 403), ("malformed", "unauthorized")),
        ("oldKey is not the current key", dict(old_jwk=old.jwk()), (400, 403), ("malformed", "unauthorized")),
        ("inner JWS not signed by its jwk", dict(inner_sign_key=Key()), (400,), ("malformed",)),
    ]
    for what, kw, statuses, types in bad:
        n = Key()
        r = conn.send(url, key_change_body(conn, k, n, **kw))
        check(r.status_code in statuses and any(is_problem(r, r.status_code, t) for t in types),
              "§7.3.5 keyChange with %s: %s %s" % (what, "/".join(map(str, statuses)), "/".join(types)), show(r))
        check(k.fetch(k.url) == snap and account_exists(conn, n) is None,
              "§7.3.5 refused keyChange (%s) changed nothing" % what)
    r = conn.send(url, key_change_body(conn, k, Key(), outer_key=old))
    check(400 <= r.status_code < 500 and problem_of(r) is not None,
          "§7.3.5 keyChange signed (outside) by the retired key is refused", show(r))
    check(k.fetch(k.url) == snap, "§7.3.5 ... and changed nothing")


def sec_new_order(c):
    a, conn = c.A, c.conn
    no = conn.dir["newOrder"]
    count_before = len(all_orders(a)[0])

    r = a.post(no, {"identifiers": idents("a1.example.com", "a2.example.com")})
    o = r.json() if r.status_code == 201 else {}
    loc = r.headers.get("Location", "")
    expect_json(r, 201, "§7.4 newOrder: 201 Created, application/json")
    check(re.fullmatch(re.escape(conn.base) + r"/acme/order/[0-9a-f]+", loc) is not None,
          "§7.4 newOrder: Location is the order URL", show(r))
    check(o.get("status") == "pending" and isinstance(o.get("expires"), str) and rfc3339(o["expires"])
          and same_idents(o.get("identifiers", []), idents("a1.example.com", "a2.example.com"))
          and len(o.get("authorizations", [])) == 2 and isinstance(o.get("finalize"), str),
          "§7.1.3 order: pending, expires, identifiers, 2 authorizations, finalize", o)
    check(a.fetch(loc) == o, "§7.1.3 order POST-as-GET returns the same order")
    c.multi_url, c.multi = loc, o
    for az_url in o.get("authorizations", []):
        az = a.fetch(az_url)
        check("wildcard" not in az, "§7.1.4 a non-wildcard authorization has no \"wildcard\" field", az)
        break

    r = a.post(no, {"identifiers": idents("*.w.example.com", "w.example.com")})
    o = r.json() if r.status_code == 201 else {}
    expect_json(r, 201, "§7.1.3 newOrder with a wildcard and its base name: 201")
    check(same_idents(o.get("identifiers", []), idents("*.w.example.com", "w.example.com")),
          "§7.1.3 the wildcard identifier keeps \"*.\"", o)
    wild = [a.fetch(u) for u in o.get("authorizations", [])]
    w = [z for z in wild if z.get("wildcard") is True]
    check(len(wild) == 2 and len(w) == 1 and w[0]["identifier"] == {"type": "dns", "value": "w.example.com"},
          "§7.1.4 wildcard authorization: value without \"*.\", \"wildcard\": true", wild)
    if w:
        types = {ch["type"] for ch in w[0]["challenges"]}
        check(types and types <= {"dns-01", "dns-persist-01", "dns-account-01"} and "dns-01" in types,
              "§7.1.4/§8 a wildcard gets only DNS-based challenges (dns-01, dns-persist-01, dns-account-01)", types)
        c.wild_authz = w[0]

    r = a.post(no, {"identifiers": idents("127.0.0.1", "::1")})
    o = r.json() if r.status_code == 201 else {}
    expect_json(r, 201, "RFC 8738 newOrder with ip identifiers: 201")
    for az_url in o.get("authorizations", []):
        az = a.fetch(az_url)
        types = {ch["type"] for ch in az["challenges"]}
        check(az["identifier"]["type"] == "ip" and types and not types & {"dns-01", "dns-persist-01", "dns-account-01"},
              "RFC 8738 §7: ip identifier %s gets no DNS-based challenge" % az["identifier"]["value"], az)

    r = a.post(no, {"identifiers": idents("UP.Example.COM", "up.example.com", "Up.example.com")})
    o = r.json() if r.status_code == 201 else {}
    check(r.status_code == 201 and o.get("identifiers") == idents("up.example.com")
          and len(o.get("authorizations", [])) == 1,
          "newOrder lowercases names and drops duplicates", show(r))

    nb = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).replace(microsecond=0)
    na = nb + datetime.timedelta(days=10)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    r = a.post(no, {"identifiers": idents("nb.example.com"), "notBefore": nb.strftime(fmt),
                    "notAfter": na.strftime(fmt)})
    o = r.json() if r.status_code == 201 else {}
    check(r.status_code == 201 and o.get("notBefore") and o.get("notAfter")
          and rfc3339(o["notBefore"]) == nb and rfc3339(o["notAfter"]) == na,
          "§7.4 notBefore/notAfter accepted and echoed", show(r))
    c.nb_order = (r.headers.get("Location"), nb, na)

    r = a.post(no, {"identifiers": idents("p.example.com"), "profile": "default"})
    check(r.status_code == 201 and r.json().get("profile") == "default",
          "profiles: a known profile is accepted and echoed", show(r))

    refusals = [
        ("an unsupported identifier type", {"identifiers": [{"type": "email", "value": "a@example.com"}]},
         400, "unsupportedIdentifier"),
        ("notAfter before notBefore", {"identifiers": idents("t.example.com"), "notBefore": na.strftime(fmt),
                                       "notAfter": nb.strftime(fmt)}, 400, "malformed"),
        ("notBefore not a date", {"identifiers": idents("t.example.com"), "notBefore": "tomorrow"}, 400, "malformed"),
        # issue 9: dates before the allowed window (an hour back at most) are refused, not issued
        ("notBefore in 1971", {"identifiers": idents("t.example.com"), "notBefore": "1971-01-01T00:00:00Z"}, 400,
         "malformed"),
        ("notBefore in year 0", {"identifiers": idents("t.example.com"), "notBefore": "0000-01-01T00:00:00Z"}, 400,
         "malformed"),
        ("notBefore 1970-01-01T00:00:00Z", {"identifiers": idents("t.example.com"),
                                            "notBefore": "1970-01-01T00:00:00Z"}, 400, "malformed"),
        ("notBefore backdated 397 days", {"identifiers": idents("t.example.com"), "notBefore":
                                          (nb - datetime.timedelta(days=397)).strftime(fmt)}, 400, "malformed"),
        ("notAfter in 1970", {"identifiers": idents("t.example.com"), "notAfter": "1970-01-01T00:00:00Z"}, 400,
         "malformed"),
        # issue 9: what Let's Encrypt refuses, refused here too
        ("a public suffix (co.uk)", {"identifiers": idents("co.uk")}, 400, "rejectedIdentifier"),
        ("a wildcard for a public suffix (*.co.uk)", {"identifiers": idents("*.co.uk")}, 400, "rejectedIdentifier"),
        ("an all-digit last label (127.1)", {"identifiers": idents("127.1")}, 400, "rejectedIdentifier"),
        ("an all-digit last label (1.2.3.4.5)", {"identifiers": idents("1.2.3.4.5")}, 400, "rejectedIdentifier"),
        ("an all-digit last label (0x7f.0.0.1)", {"identifiers": idents("0x7f.0.0.1")}, 400, "rejectedIdentifier"),
        ("ip 0.0.0.0", {"identifiers": idents("0.0.0.0")}, 400, "rejectedIdentifier"),
        ("ip ::", {"identifiers": idents("::")}, 400, "rejectedIdentifier"),
        ("ip 255.255.255.255", {"identifiers": idents("255.255.255.255")}, 400, "rejectedIdentifier"),
        ("ip 224.0.0.1 (multicast)", {"identifiers": idents("224.0.0.1")}, 400, "rejectedIdentifier"),
        ("an unknown profile", {"identifiers": idents("t.example.com"), "profile": "no-such-profile"}, 400,
         "invalidProfile"),
        ("no identifiers", {}, 400, "malformed"),
        ("an empty identifiers list", {"identifiers": []}, 400, "malformed"),
        ("an invalid A-label (xn--a)", {"identifiers": idents("xn--a.example.com")}, 400, "rejectedIdentifier"),
    ]
    wrongly_made = 0
    for what, payload, status, ptype in refusals:
        r = a.post(no, payload)
        expect_problem(r, status, ptype, "§7.4 newOrder with %s: %d %s" % (what, status, ptype))
        wrongly_made += r.status_code == 201

    r = a.post(no, {"identifiers": idents("t.example.com"), "notBefore": "1971-01-01T00:00:00Z"})
    check(re.search(r"notBefore must be between \d{4}-\d\d-\d\dT[\d:]+Z and \d{4}-", (problem_of(r) or {}).get("detail", "")),
          "§7.4 a refused notBefore: the detail gives the allowed window", show(r))

    r = a.post(no, {"identifiers": idents("ok.example.com", "bad_name.example.com", "-lead.example.com")})
    p = problem_of(r) or {}
    subs = p.get("subproblems", [])
    expect_problem(r, 400, "rejectedIdentifier", "§7.4 newOrder with two bad names: 400 rejectedIdentifier")
    check(len(subs) == 2 and {s.get("identifier", {}).get("value") for s in subs} ==
          {"bad_name.example.com", "-lead.example.com"}
          and all(s.get("identifier", {}).get("type") == "dns" and s.get("type", "").startswith(URN)
                  and s.get("detail") for s in subs) and "identifier" not in p,
          "§6.7.1 one subproblem per bad name, each with its identifier", p)
    # §6.4: the "url" is the URL the request was sent to, query and escapes included
    for suffix in ("?x=1", "%00junk", "%3Fx"):
        r = a.conn.send(no + suffix, jws(a.key, no, {"identifiers": idents("u.example.com")}, a.conn.take_nonce(),
                                         kid=a.url))
        expect_problem(r, 401, "unauthorized", "§6.4 a POST to newOrder%s signed for newOrder: 401 unauthorized"
                       % suffix)
        wrongly_made += r.status_code == 201
    r = a.post(no, {"identifiers": idents(*["bad_%d.example.com" % i for i in range(17)])})
    p = problem_of(r) or {}
    check(r.status_code == 400 and p.get("detail", "").startswith("17 identifiers rejected")
          and "the first 16 are listed" in p.get("detail", "") and len(p.get("subproblems", [])) == 16,
          "§6.7.1 17 bad identifiers: the detail counts all 17, the first 16 are subproblems", p)
    r = a.post(no, None)
    expect_problem(r, 400, "malformed", "§7.4 newOrder as POST-as-GET: 400 malformed")
    after = len(all_orders(a)[0])
    check(after == count_before + 6 + wrongly_made, "§7.4 refused newOrders created no order",
          "%d orders before, %d after (6 made, %d accepted wrongly)" % (count_before, after, wrongly_made))


def sec_authz(c):
    a, b, conn = c.A, c.B, c.conn
    o = c.multi
    az_url = o["authorizations"][0]
    r = a.post(az_url)
    az = r.json() if r.status_code == 200 else {}
    expect_json(r, 200, "§7.5 authorization POST-as-GET: 200 application/json")
    check(az.get("status") == "pending" and az.get("identifier", {}).get("type") == "dns"
          and isinstance(az.get("expires"), str) and az.get("challenges"),
          "§7.1.4 authorization: pending, identifier, expires, challenges", az)
    ok = True
    for ch in az.get("challenges", []):
        ok &= ch.get("status") == "pending" and ch.get("url", "").startswith(conn.base + "/acme/chall/")
        if ch.get("type") in ("http-01", "dns-01", "tls-alpn-01"):
            ok &= re.fullmatch(r"[A-Za-z0-9_-]{22,}", ch.get("token", "")) is not None
    check(ok, "§8 challenges: type, url, status pending, base64url token of >= 128 bits", az)
    ch = az["challenges"][0]
    r = a.post(ch["url"])
    check(r.status_code == 200 and r.json().get("url") == ch["url"] and rel(r, "up") == [az_url],
          "§7.5.1 challenge POST-as-GET: 200, Link rel=\"up\" to its authorization", show(r))
    r = b.post(az_url)
    expect_problem(r, 403, "unauthorized", "§7.5 another account's authorization: 403 unauthorized")
    r = b.post(ch["url"], {})
    expect_problem(r, 403, "unauthorized", "§7.5.1 another account's challenge POST: 403 unauthorized")
    check(a.fetch(az_url) == az, "§7.5.1 ... and the challenge did not start")
    r = conn.get(az_url)
    expect_problem(r, 405, "malformed", "§6.3 GET on an authorization: 405 malformed")
    r = a.post(conn.base + "/acme/authz/0000000000000000")
    check(r.status_code == 404 and problem_of(r) is not None, "unknown authorization: 404 problem", show(r))
    r = a.post(az_url, {"status": "valid"})
    expect_problem(r, 400, "malformed", "§7.5.2 authorization update other than deactivation: 400 malformed")
    check(a.fetch(az_url) == az, "§7.5.2 ... and it changed nothing")

    # §7.5.2 deactivation of a pending authorization; the order follows (§7.1.6)
    r = a.post(conn.dir["newOrder"], {"identifiers": idents("d1.example.com", "d2.example.com")})
    d_url, d = r.headers["Location"], r.json()
    d_az = d["authorizations"][0]
    r = a.post(d_az, {"status": "deactivated"})
    expect_json(r, 200, "§7.5.2 deactivating a pending authorization: 200 with status deactivated",
                r.status_code == 200 and r.json().get("status") == "deactivated")
    check(a.fetch(d_az)["status"] == "deactivated", "§7.5.2 the authorization stays deactivated")
    od = a.fetch(d_url)
    check(od["status"] == "invalid", "§7.1.6 an order with a deactivated authorization is invalid", od)
    snap = a.fetch(d_az)
    r = a.post(d_az, {"status": "deactivated"})
    check(400 <= r.status_code < 500 and problem_of(r) is not None,
          "§7.5.2 deactivating it again: a 4xx problem", show(r))
    chal = snap["challenges"][0]["url"]
    r = a.post(chal, {})
    check(400 <= r.status_code < 500 and problem_of(r) is not None,
          "§7.5.1 a challenge of a deactivated authorization cannot be started", show(r))
    check(a.fetch(d_az) == snap, "§7.5.2 ... and both requests changed nothing")
    r = a.post(d["finalize"], {"csr": order_csr(d, ec.generate_private_key(ec.SECP256R1()))})
    expect_problem(r, 403, "orderNotReady", "§7.4 finalize of an invalid order: 403 orderNotReady")

    # §7.5.2 deactivating a valid authorization makes a ready order invalid (§7.1.6)
    r = a.post(conn.dir["newOrder"], {"identifiers": idents("v1.example.com")})
    v_url, v = r.headers["Location"], r.json()
    complete_authzs(a, v)
    v = poll(lambda: a.fetch(v_url), lambda x: x["status"] != "pending")
    check(v["status"] == "ready", "§7.1.6 all authorizations valid: the order is ready", v)
    r = a.post(v["authorizations"][0], {"status": "deactivated"})
    check(r.status_code == 200 and r.json().get("status") == "deactivated",
          "§7.5.2 deactivating a valid authorization: 200 deactivated", show(r))
    v2 = a.fetch(v_url)
    check(v2["status"] == "invalid",
          "§7.1.6 a ready order becomes invalid when one of its authorizations is deactivated", v2)
    r = a.post(v["finalize"], {"csr": order_csr(v, ec.generate_private_key(ec.SECP256R1()))})
    expect_problem(r, 403, "orderNotReady",
                   "§7.5.2 a deactivated authorization is not sufficient for issuance: finalize refused")


def sec_issue(c):
    """The main cycle: challenges, finalize refusals, issuance, download."""
    a, b, conn = c.A, c.B, c.conn
    names = ("m1.example.com", "m2.example.com", "192.0.2.7")
    r = a.post(conn.dir["newOrder"], {"identifiers": idents(*names)})
    url, o = r.headers["Location"], r.json()
    key = ec.generate_private_key(ec.SECP256R1())

    r = a.post(o["finalize"], {"csr": order_csr(o, key)})
    expect_problem(r, 403, "orderNotReady", "§7.4 finalize before the order is ready: 403 orderNotReady")
    check(a.fetch(url) == o, "§7.4 ... and the order is unchanged (pending)")

    for i, az_url in enumerate(o["authorizations"]):
        az = a.fetch(az_url)
        ch = pick_challenge(az)
        # §7.5.1: unknown fields in the response object are ignored
        r = a.post(ch["url"], {} if i == 0 else {"someFutureField": 1})
        st = r.json().get("status") if r.status_code == 200 else None
        expect_json(r, 200, "§7.5.1 challenge POST {} (%s %s): 200, processing or valid"
                    % (az["identifier"]["value"], ch["type"]), st in ("processing", "valid"))
        check(rel(r, "up") == [az_url], "§7.5.1 challenge response: Link rel=\"up\" to the authorization", show(r))
        check(st != "processing" or retry_after_ok(r), "§7.5.1 a challenge answered \"processing\" has Retry-After",
              show(r))
        chv = poll(lambda: a.fetch(ch["url"]), lambda x: x["status"] not in ("pending", "processing"))
        check(chv["status"] == "valid" and isinstance(chv.get("validated"), str) and rfc3339(chv["validated"]),
              "§8 challenge becomes valid with \"validated\"", chv)
        azv = a.fetch(az_url)
        check(azv["status"] == "valid" and [x["url"] for x in azv["challenges"]] == [ch["url"]]
              and isinstance(azv.get("expires"), str),
              "§7.1.4 authorization valid, lists the validated challenge, has expires", azv)
        r = a.post(ch["url"], {})
        check(r.status_code == 200 and r.json() == chv,
              "§7.5.1 POST {} to a valid challenge again: 200, unchanged", show(r))
        others = [x for x in az["challenges"] if x["url"] != ch["url"]]
        if others:
            r = a.post(others[0]["url"], {})
            check((r.status_code == 200 or 400 <= r.status_code < 500) and a.fetch(az_url) == azv,
                  "§7.5.1 starting another challenge of a valid authorization changes nothing", show(r))

    o = poll(lambda: a.fetch(url), lambda x: x["status"] != "pending")
    check(o["status"] == "ready", "§7.1.6 the order is ready", o)
    ready = o

    def stays_ready(what):
        check(a.fetch(url) == ready, "§7.4 after %s the order is unchanged (ready)" % what)

    csr = make_csr(key, ["m1.example.com", "m2.example.com", "extra.example.com"], ["192.0.2.7"])
    r = a.post(o["finalize"], {"csr": csr})
    expect_problem(r, 400, "badCSR", "§7.4 CSR with an extra name: 400 badCSR")
    check("extra.example.com" in (problem_of(r) or {}).get("detail", ""), "§7.4 the badCSR detail names the extra name",
          show(r))
    stays_ready("a CSR with an extra name")
    r = a.post(o["finalize"], {"csr": make_csr(key, ["m1.example.com"], ["192.0.2.7"])})
    expect_problem(r, 400, "badCSR", "§7.4 CSR missing a name: 400 badCSR")
    check("m2.example.com" in (problem_of(r) or {}).get("detail", ""), "§7.4 the badCSR detail names the missing name",
          show(r))
    stays_ready("a CSR missing a name")
    r = a.post(o["finalize"], {"csr": "!!! not base64url !!!"})
    expect_problem(r, 400, ("malformed", "badCSR"), "§7.4 csr that is not base64url: 400 malformed/badCSR")
    stays_ready("a csr that is not base64url")
    r = a.post(o["finalize"], {"csr": b64u(os.urandom(80))})
    expect_problem(r, 400, ("badCSR", "malformed"), "§7.4 csr of random bytes: 400 badCSR/malformed")
    stays_ready("a csr of random bytes")
    r = a.post(o["finalize"], {})
    expect_problem(r, 400, "malformed", "§7.4 finalize without csr: 400 malformed")
    stays_ready("a finalize without csr")
    r = b.post(o["finalize"], {"csr": order_csr(o, key)})
    expect_problem(r, 403, "unauthorized", "§7.4 finalize of another account's order: 403 unauthorized")
    stays_ready("another account's finalize")

    r = a.post(o["finalize"], {"csr": order_csr(o, key)})
    fo = r.json() if r.status_code == 200 else {}
    expect_json(r, 200, "§7.4 finalize: 200 with the order, processing or valid",
                fo.get("status") in ("processing", "valid"))
    check(fo.get("status") != "processing" or retry_after_ok(r), "§7.4 finalize answered \"processing\" has Retry-After",
          show(r))
    o = poll(lambda: a.fetch(url), lambda x: x["status"] != "processing")
    check(o["status"] == "valid" and o.get("certificate", "").startswith(conn.base + "/acme/cert/")
          and isinstance(o.get("expires"), str),
          "§7.4 the order becomes valid with a certificate URL (and expires, §7.1.3)", o)
    r = a.post(o["finalize"], {"csr": order_csr(o, key)})
    expect_problem(r, 403, "orderNotReady", "§7.4 finalize of a valid order: 403 orderNotReady")

    r = a.post(o["certificate"])
    check(r.status_code == 200 and r.headers.get("Content-Type", "").split(";")[0] ==
          "application/pem-certificate-chain", "§7.4.2 certificate: 200 application/pem-certificate-chain", show(r))
    check(rel(r, "index") == [conn.dir_url], "§7.1 certificate response: Link rel=\"index\"", show(r))
    text = r.text
    certs = pem_certs(text)
    check(len(certs) >= 2 and re.findall(r"-----BEGIN ([A-Z ]+)-----", text) == ["CERTIFICATE"] * len(certs),
          "§11.4 the chain holds only certificates (leaf + issuers)", text[:300])
    leaf = certs[0] if certs else None
    if leaf is not None:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        got = set(san.get_values_for_type(x509.DNSName)) | {str(i) for i in san.get_values_for_type(x509.IPAddress)}
        check(got == set(names), "§7.4 the certificate names exactly the order's identifiers", got)
        check(leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
              == key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
              "§7.4 the certificate carries the CSR's key")
        root = x509.load_pem_x509_certificate(conn.s.get(c.mgmt + "/roots/0", timeout=30).content)
        chain_ok = all(signed_by(certs[i], certs[i + 1]) for i in range(len(certs) - 1)) and signed_by(certs[-1], root)
        check(chain_ok, "§7.4.2 the chain verifies up to the root of /roots/0")
    alts = rel(r, "alternate")
    want_alts = int(os.environ.get("ALTERNATE_ROOTS", "1"))
    check(len(alts) == want_alts, "§7.4.2 with %d alternate roots: %d Link rel=\"alternate\"" % (want_alts, want_alts),
          show(r))
    if alts and leaf is not None:
        r2 = a.post(alts[0])
        alt = pem_certs(r2.text) if r2.status_code == 200 else []
        root1 = x509.load_pem_x509_certificate(conn.s.get(c.mgmt + "/roots/1", timeout=30).content)
        check(r2.status_code == 200 and alt and alt[0] == leaf
              and all(signed_by(alt[i], alt[i + 1]) for i in range(len(alt) - 1)) and signed_by(alt[-1], root1),
              "§7.4.2 the alternate chain starts with the same leaf and leads to /roots/1", show(r2))
    r = conn.get(o["certificate"])
    expect_problem(r, 405, "malformed", "§6.3 GET on a certificate: 405 malformed")
    r = b.post(o["certificate"])
    expect_problem(r, 403, "unauthorized", "§7.4.2 another account downloads the certificate: 403 unauthorized")
    r = a.post(conn.base + "/acme/cert/0000000000000000")
    check(r.status_code == 404 and problem_of(r) is not None, "unknown certificate: 404 problem", show(r))
    r = a.post(conn.base + "/acme/order/0000000000000000")
    check(r.status_code == 404 and problem_of(r) is not None, "unknown order id: 404 problem", show(r))
    c.certA1 = (text, key)

    # §11.1: "when a server receives a finalize request, it MUST verify that the public key in a
    # CSR is not the same as the public key of the account key pair used to authenticate that
    # request" (an order of its own, so that a wrongly accepted CSR spoils nothing else)
    r = a.post(conn.dir["newOrder"], {"identifiers": idents("ak.example.com")})
    ak_url, ak = r.headers["Location"], r.json()
    complete_authzs(a, ak)
    ak = poll(lambda: a.fetch(ak_url), lambda x: x["status"] != "pending")
    r = a.post(ak["finalize"], {"csr": order_csr(ak, a.key.priv)})
    expect_problem(r, 400, ("badCSR", "malformed"), "§11.1 CSR with the account's own public key: 400 badCSR")
    check(a.fetch(ak_url) == ak, "§11.1 ... and the order is unchanged (ready)")


def sec_not_before_after(c):
    a = c.A
    url, nb, na = c.nb_order
    o = a.fetch(url)
    complete_authzs(a, o)
    o = poll(lambda: a.fetch(url), lambda x: x["status"] != "pending")
    key = ec.generate_private_key(ec.SECP256R1())
    a.post(o["finalize"], {"csr": order_csr(o, key)})
    o = poll(lambda: a.fetch(url), lambda x: x["status"] not in ("ready", "processing"))
    leaf = pem_certs(a.post(o["certificate"]).text)[0] if o.get("certificate") else None
    check(leaf is not None and leaf.not_valid_before.replace(tzinfo=datetime.timezone.utc) == nb
          and leaf.not_valid_after.replace(tzinfo=datetime.timezone.utc) == na,
          "§7.4 the certificate has the requested notBefore/notAfter",
          leaf and (leaf.not_valid_before, leaf.not_valid_after), (nb, na))


def cert_status(c, pem):
    serial = "%x" % pem_certs(pem)[0].serial_number
    r = c.conn.s.get(c.mgmt + "/cert-status-by-serial/" + serial, timeout=30)
    return r.json() if r.status_code == 200 else {"http": r.status_code}


def der_b64(pem):
    return b64u(pem_certs(pem)[0].public_bytes(serialization.Encoding.DER))


class CertKey:
    """A certificate's key, to sign revokeCert with jwk = the certificate key (§7.6)."""

    def __init__(self, priv):
        self.priv, self.kind, self.alg = priv, "ES256", "ES256"

    jwk = Key.jwk
    sign = Key.sign


def sec_revoke(c):
    a, b, u, conn = c.A, c.B, c.U, c.conn
    url = conn.dir["revokeCert"]
    pem1, key1 = c.certA1
    _, _, pem2, key2 = issue(a, ["r2.example.com"])
    _, _, pem3, key3 = issue(a, ["r3.example.com", "r3b.example.com"])

    r = a.post(url, {"certificate": der_b64(pem1), "reason": 4})
    check(r.status_code == 200, "§7.6 revokeCert by the issuing account, reason 4: 200", show(r))
    st = cert_status(c, pem1)
    check(st.get("Status") == "Revoked" and st.get("Reason") == 4,
          "§7.6 /cert-status-by-serial shows Revoked with reason 4", st)
    r = a.post(url, {"certificate": der_b64(pem1), "reason": 1})
    expect_problem(r, 400, "alreadyRevoked", "§7.6 revoking it again: 400 alreadyRevoked")
    check(cert_status(c, pem1).get("Reason") == 4, "§7.6 ... and the first reason stands")

    r = a.post(url, {"certificate": der_b64(pem2), "reason": 7})
    expect_problem(r, 400, "badRevocationReason", "§7.6 reason 7: 400 badRevocationReason")
    check(cert_status(c, pem2).get("Status") == "Valid", "§7.6 ... and the certificate is still valid")
    r = u.post(url, {"certificate": der_b64(pem2)})
    expect_problem(r, 403, "unauthorized", "§7.6 revokeCert by an unrelated account: 403 unauthorized")
    check(cert_status(c, pem2).get("Status") == "Valid", "§7.6 ... and the certificate is still valid")
    r = conn.post(url, {"certificate": der_b64(pem2)}, CertKey(key1))
    expect_problem(r, 403, "unauthorized", "§7.6 revokeCert signed by another certificate's key: 403 unauthorized")
    check(cert_status(c, pem2).get("Status") == "Valid", "§7.6 ... and the certificate is still valid")
    r = conn.post(url, {"certificate": der_b64(pem2), "reason": 1}, CertKey(key2))
    check(r.status_code == 200, "§7.6 revokeCert signed by the certificate's own key (jwk): 200", show(r))
    st = cert_status(c, pem2)
    check(st.get("Status") == "Revoked" and st.get("Reason") == 1, "§7.6 /cert-status-by-serial shows it Revoked", st)

    # §7.6: "an account that holds authorizations for all of the identifiers in the certificate"
    r = b.post(conn.dir["newOrder"], {"identifiers": idents("r3.example.com", "r3b.example.com")})
    if r.status_code == 201:
        complete_authzs(b, r.json())
    r = b.post(url, {"certificate": der_b64(pem3)})
    check(r.status_code == 200,
          "§7.6 revokeCert by another account holding valid authorizations for all its names: 200", show(r))

    r = a.post(url, {"certificate": b64u(os.urandom(64))})
    check(400 <= r.status_code < 500 and problem_of(r) is not None, "§7.6 revoking random bytes: a 4xx problem",
          show(r))
    r = a.post(url, {"reason": 1})
    expect_problem(r, 400, "malformed", "§7.6 revokeCert without certificate: 400 malformed")


# ---------------------------------------------------------------------------------------------
# RFC 9773 ACME Renewal Information (section numbers below are RFC 9773's)


def ari_certid(pem):
    """§4.1: base64url(AKI keyIdentifier) "." base64url(serial DER content octets)."""
    cert = pem_certs(pem)[0]
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    n = cert.serial_number
    return b64u(aki) + "." + b64u(n.to_bytes(n.bit_length() // 8 + 1, "big"))


def ari_window(r):
    w = r.json().get("suggestedWindow", {})
    return rfc3339(w["start"]), rfc3339(w["end"])


def sec_ari(c):
    a, b, conn = c.A, c.B, c.conn
    ri = conn.dir.get("renewalInfo")
    check(ri == conn.base + "/acme/renewal-info", "RFC 9773 §4.1 directory has renewalInfo (no trailing slash)",
          conn.dir)
    _, _, pem, _ = issue(a, ["ari1.example.com", "ari1b.example.com"])
    leaf = pem_certs(pem)[0]
    cid = ari_certid(pem)
    r = conn.get(ri + "/" + cid)
    ok = expect_json(r, 200, "§4.2 GET renewalInfo/<certID computed by the client>: 200 application/json")
    check(retry_after_ok(r) and int(r.headers["Retry-After"]) > 0, "§4.3 ... with a Retry-After in seconds",
          show(r))
    if ok:
        start, end = ari_window(r)
        nb = leaf.not_valid_before.replace(tzinfo=datetime.timezone.utc)
        na = leaf.not_valid_after.replace(tzinfo=datetime.timezone.utc)
        check(nb + (na - nb) / 2 < start < end < na,
              "§4.2 suggestedWindow: start before end, in the second half of the validity, before notAfter",
              show(r), "notBefore %s notAfter %s" % (nb, na))
    r2 = a.post(ri + "/" + cid)
    check(r2.status_code == 200 and r.status_code == 200 and r2.json() == r.json(),
          "§4.1 POST-as-GET of renewalInfo gives the same window", show(r2))

    aki_part, serial_part = cid.split(".")
    for bad, why in (("nodot", "without '.'"), (aki_part + ".", "with an empty serial"),
                     (aki_part + ".h2VDIQ", "with a negative serial"), (aki_part + "=.AQ", "padded")):
        r = conn.get(ri + "/" + bad)
        expect_problem(r, 400, "malformed", "§4.1 renewalInfo with a certID %s: 400 malformed" % why)
    r = conn.get(ri + "/" + aki_part + "." + b64u(os.urandom(15).rjust(16, b"\x01")))
    check(is_problem(r, 404, "malformed") and "not one this CA issued" in problem_of(r)["detail"],
          "§4.1 renewalInfo for a serial this CA never issued: 404 saying so", show(r))
    r = conn.get(ri + "/" + b64u(b"\x01" * 20) + "." + serial_part)
    check(is_problem(r, 404, "malformed") and "keyIdentifier" in problem_of(r)["detail"],
          "§4.1 renewalInfo with another CA's keyIdentifier: 404 naming the keyIdentifier", show(r))

    # §5: replaces
    new_order = conn.dir["newOrder"]
    r = b.post(new_order, {"identifiers": idents("ari1.example.com"), "replaces": cid})
    expect_problem(r, 403, "unauthorized", "§5 newOrder replacing another account's certificate: 403 unauthorized")
    r = a.post(new_order, {"identifiers": idents("ari-other.example.com"), "replaces": cid})
    expect_problem(r, 400, "malformed", "§5 newOrder replacing a certificate with no identifier in common: 400")
    r = a.post(new_order, {"identifiers": idents("ari1.example.com"), "replaces": "nodot"})
    expect_problem(r, 400, "malformed", "§5 newOrder with a malformed replaces: 400 malformed")
    r = a.post(new_order, {"identifiers": idents("ari1.example.com"), "replaces": 7})
    expect_problem(r, 400, "malformed", "§5 newOrder with a non-string replaces: 400 malformed")
    r = a.post(new_order, {"identifiers": idents("ari1.example.com", "ari1c.example.com"), "replaces": cid})
    check(r.status_code == 201 and r.json().get("replaces") == cid,
          "§5 newOrder replacing its own certificate (one identifier shared): 201, order echoes replaces", show(r))
    if r.status_code == 201:
        again = a.fetch(r.headers["Location"])
        check(again.get("replaces") == cid, "§5 the order read back still has replaces", again)
    r = a.post(new_order, {"identifiers": idents("ari1.example.com"), "replaces": cid})
    expect_problem(r, 409, "alreadyReplaced", "§5/§7.4 replacing the same certificate again: 409 alreadyReplaced")

    # §4.2: a revoked certificate's window is in the past
    _, _, pem2, _ = issue(a, ["ari2.example.com"])
    r = a.post(conn.dir["revokeCert"], {"certificate": der_b64(pem2)})
    check(r.status_code == 200, "revoking a certificate for the renewalInfo check", show(r))
    r = conn.get(ri + "/" + ari_certid(pem2))
    now = datetime.datetime.now(datetime.timezone.utc)
    check(r.status_code == 200 and ari_window(r)[1] < now,
          "§4.2 renewalInfo of a revoked certificate: a window already over (renew now)", show(r))

    # Pebble's management hook: POST /set-renewal-info/ moves the window
    past = {"suggestedWindow": {"start": "2020-01-01T00:00:00Z", "end": "2020-01-02T00:00:00Z"}}
    leaf_pem = leaf.public_bytes(serialization.Encoding.PEM).decode()
    r = conn.s.post(c.mgmt + "/set-renewal-info/",
                    json={"Certificate": leaf_pem, "ARIResponse": json.dumps(past)}, timeout=30)
    check(r.status_code == 200, "management POST /set-renewal-info/: 200", show(r))
    r = conn.get(ri + "/" + cid)
    check(r.status_code == 200 and r.json() == past and retry_after_ok(r),
          "§4.2 ... renewalInfo then answers with the window set there", show(r))
    r = conn.s.post(c.mgmt + "/set-renewal-info/", json={"Certificate": "junk", "ARIResponse": "{}"}, timeout=30)
    check(r.status_code == 400 and problem_of(r) is not None,
          "management POST /set-renewal-info/ with a non-certificate: 400 problem", show(r))
    r = conn.s.post(c.mgmt + "/roots/0", data="{}", timeout=30)
    check(r.status_code == 405, "the management interface answers POST nowhere else: 405", show(r))


def sec_deactivate_account(c):
    conn = c.conn
    z, _ = new_account(conn)
    _, _, z_pem, _ = issue(z, ["zc.example.com"])
    r = z.post(conn.dir["newOrder"], {"identifiers": idents("z.example.com")})
    z_order = r.headers.get("Location")
    r = z.post(z.url, {"status": "deactivated"})
    expect_json(r, 200, "§7.3.6 account deactivation: 200 with status deactivated",
                r.status_code == 200 and r.json().get("status") == "deactivated")
    tries = [
        ("POST-as-GET of its account", lambda: z.post(z.url)),
        ("newOrder", lambda: z.post(conn.dir["newOrder"], {"identifiers": idents("z2.example.com")})),
        ("POST-as-GET of its order", lambda: z.post(z_order)),
        ("a contact update", lambda: z.post(z.url, {"contact": ["mailto:z@example.com"]})),
        ("keyChange", lambda: conn.send(conn.dir["keyChange"], key_change_body(conn, z, Key()))),
        ("revokeCert of its own certificate", lambda: z.post(conn.dir["revokeCert"], {"certificate": der_b64(z_pem)})),
        ("newAccount with its key", lambda: conn.post(conn.dir["newAccount"], {"termsOfServiceAgreed": True}, z.key)),
    ]
    for what, fn in tries:
        r = fn()
        expect_problem(r, 401, "unauthorized", "§7.3.6 deactivated account, %s: 401 unauthorized" % what)
    check(cert_status(c, z_pem).get("Status") == "Valid",
          "§7.3.6 the deactivated account's certificate is not revoked (SHOULD NOT)")


def bad_inputs(c):
    """Each bad request aims at finalizing a ready order (which would change it) or updating the
    account; afterwards both are fetched again and compared, and the account still works."""
    a, conn = c.A, c.conn
    r = a.post(conn.dir["newOrder"], {"identifiers": idents("bad.example.com")})
    o_url, o = r.headers["Location"], r.json()
    complete_authzs(a, o)
    o = poll(lambda: a.fetch(o_url), lambda x: x["status"] != "pending")
    ready = o
    acct = a.fetch(a.url)
    fin = o["finalize"]
    csr = order_csr(o, ec.generate_private_key(ec.SECP256R1()))
    good = {"csr": csr}

    def body(**kw):
        nonce = kw.pop("nonce") if "nonce" in kw else conn.take_nonce()
        url = kw.pop("url", fin)
        key = kw.pop("key", a.key)
        kid = kw.pop("kid", a.url)
        payload = kw.pop("payload", good)
        return jws(key, url, payload, nonce, kid=kid, **kw)

    def hs256():
        prot = b64u(json.dumps({"alg": "HS256", "kid": a.url, "nonce": conn.take_nonce(), "url": fin}))
        pay = b64u(json.dumps(good))
        sig = hmac.new(b"secret", ("%s.%s" % (prot, pay)).encode(), hashlib.sha256).digest()
        return {"protected": prot, "payload": pay, "signature": b64u(sig)}

    def alg_none():
        prot = b64u(json.dumps({"alg": "none", "kid": a.url, "nonce": conn.take_nonce(), "url": fin}))
        return {"protected": prot, "payload": b64u(json.dumps(good)), "signature": ""}

    def flipped():
        j = body()
        sig = bytearray(base64.urlsafe_b64decode(j["signature"] + "=="))
        sig[5] ^= 1
        j["signature"] = b64u(bytes(sig))
        return j

    def both_jwk_kid():
        return body(extra={"jwk": a.key.jwk()})

    def padded():
        j = body()
        j["payload"] += "=" * (-len(j["payload"]) % 4 or 4)
        return j

    def unprotected_header():
        j = body()
        j["header"] = {"kid": a.url}
        return j

    def replayed():
        n = conn.take_nonce()
        r0 = conn.send(a.url, jws(a.key, a.url, None, n, kid=a.url))
        if r0.status_code != 200:
            raise RuntimeError("POST-as-GET before the replay: " + show(r0))
        return body(nonce=n)

    cases = [
        ("malformed JSON body", lambda: '{"protected": "eyJ', JOSE, 400, "malformed"),
        ("a JSON array as body", lambda: "[]", JOSE, 400, "malformed"),
        ("signature by another key", lambda: body(sign_key=Key()), JOSE, 400, "malformed"),
        ("a flipped signature bit", flipped, JOSE, 400, "malformed"),
        ("an unknown kid", lambda: body(kid=conn.base + "/acme/acct/0000000000000000"), JOSE, 400,
         "accountDoesNotExist"),
        ("a replayed nonce", replayed, JOSE, 400, "badNonce"),
        ("a nonce the server never issued", lambda: body(nonce=b64u(os.urandom(24))), JOSE, 400, "badNonce"),
        ("no nonce", lambda: body(nonce=None), JOSE, 400, "badNonce"),
        ("a nonce that is not base64url (§6.5.2)", lambda: body(nonce="not a nonce!"), JOSE, 400, "malformed"),
        ("url header of another resource", lambda: body(url=conn.dir["newOrder"]), JOSE, None, "unauthorized"),
        ("a body over 64 KiB", lambda: body(payload=dict(good, pad="x" * 70000)), JOSE, 413, None),
        ("Content-Type application/json", lambda: body(), "application/json", 415, None),
        ("no Content-Type", lambda: body(), None, 415, None),
        ("alg none", alg_none, JOSE, 400, "badSignatureAlgorithm"),
        ("alg HS256", hs256, JOSE, 400, "badSignatureAlgorithm"),
        ("both jwk and kid", both_jwk_kid, JOSE, 400, "malformed"),
        ("neither jwk nor kid", lambda: body(drop=("kid",)), JOSE, 400, "malformed"),
        ("an unprotected header", unprotected_header, JOSE, 400, "malformed"),
        ("base64url with '=' padding", padded, JOSE, 400, "malformed"),
        ("a payload that is not JSON", lambda: body(payload="not json"), JOSE, 400, "malformed"),
        ("a payload that is a JSON array", lambda: body(payload=[good]), JOSE, 400, "malformed"),
        ("a crit header", lambda: body(extra={"crit": ["b64"], "b64": False}), JOSE, 400, "malformed"),
    ]
    no_nonce = []
    for what, make, ctype, status, ptype in cases:
        try:
            r = conn.send(fin, make(), ctype=ctype)
        except Exception as e:  # the request could not even be made
            check(False, "bad input (%s): answered" % what, repr(e))
            continue
        p = problem_of(r)
        if ptype is None:
            ok = r.status_code == status and p is not None
            want = "%d with a problem document" % status
        elif status is None:
            ok = r.status_code in (401, 403) and is_problem(r, r.status_code, ptype)
            want = "401/403 %s" % ptype
        else:
            ok = is_problem(r, status, ptype)
            want = "%d %s" % (status, ptype)
        if ptype == "badSignatureAlgorithm" and ok:
            algs = (p or {}).get("algorithms")
            ok = isinstance(algs, list) and "ES256" in algs and "none" not in algs
            want += " with an \"algorithms\" list"
        check(ok, "bad input (%s): %s" % (what, want), show(r))
        if not (re.fullmatch(r"[A-Za-z0-9_-]+", r.headers.get("Replay-Nonce", "")) and rel(r, "index")):
            no_nonce.append(what)
        if ptype == "badNonce":
            n = r.headers.get("Replay-Nonce")
            r2 = conn.send(a.url, jws(a.key, a.url, None, n, kid=a.url)) if n else None
            check(r2 is not None and r2.status_code == 200,
                  "§6.5 badNonce (%s) carries a Replay-Nonce that works" % what, show(r2))
        now_o, now_a = a.fetch(o_url), a.fetch(a.url)
        check(now_o == ready and now_a == acct, "bad input (%s): order still ready, account unchanged and usable"
              % what, now_o, now_a)

    check(not no_nonce, "§6.5/§7.1 every error response carries Replay-Nonce and Link rel=\"index\"",
          "missing for: %s" % ", ".join(no_nonce))

    # the same for an account update (would change the contact)
    upd = {"contact": ["mailto:changed@example.com"]}
    for what, make, status, ptype in [
        ("signature by another key", lambda: jws(a.key, a.url, upd, conn.take_nonce(), kid=a.url, sign_key=Key()),
         400, "malformed"),
        ("kid of another account", lambda: jws(a.key, a.url, upd, conn.take_nonce(), kid=c.B.url), None, None),
    ]:
        r = conn.send(a.url, make())
        check(400 <= r.status_code < 500 and problem_of(r) is not None and
              (ptype is None or is_problem(r, status, ptype)),
              "bad account update (%s): a 4xx problem" % what, show(r))
        check(a.fetch(a.url) == acct and c.B.fetch(c.B.url).get("contact") == ["mailto:b@example.com"],
              "bad account update (%s): changed nothing" % what)

    # GET on POST-as-GET resources, unknown paths
    chal_url = a.fetch(o["authorizations"][0])["challenges"][0]["url"]
    for what, u in (("an order", o_url), ("finalize", fin), ("a challenge", chal_url),
                    ("newOrder", conn.dir["newOrder"]), ("newAccount", conn.dir["newAccount"]),
                    ("revokeCert", conn.dir["revokeCert"]), ("keyChange", conn.dir["keyChange"])):
        r = conn.get(u)
        check(is_problem(r, 405, "malformed") and "POST" in r.headers.get("Allow", ""),
              "§6.3 GET on %s: 405 malformed, Allow: POST" % what, show(r))
    for u in (conn.base + "/no/such/path", conn.base + "/acme/nothing"):
        r = conn.get(u)
        check(r.status_code == 404 and problem_of(r) is not None, "unknown path %s: 404 problem" % u[len(conn.base):],
              show(r))
    r = a.post(conn.base + "/acme/nothing")
    check(r.status_code == 404 and problem_of(r) is not None, "POST to an unknown path: 404 problem", show(r))
    check(a.fetch(o_url) == ready and a.fetch(a.url) == acct, "after all bad input the order and account are unchanged")
    # and the order still finalizes
    r = a.post(fin, good)
    o = poll(lambda: a.fetch(o_url), lambda x: x["status"] not in ("ready", "processing"))
    check(o["status"] == "valid", "after all bad input the order still finalizes", o)


def concurrency(c):
    results = {}

    def worker(i):
        try:
            conn = Conn(c.conn.dir_url, c.ca)
            acct, _ = new_account(conn)
            for k in range(2):
                _, _, pem, _ = issue(acct, ["t%d-%d.example.com" % (i, k), "t%d-%db.example.com" % (i, k)])
                if len(pem_certs(pem)) < 2:
                    raise RuntimeError("short chain")
            results[i] = None
        except Exception:
            results[i] = traceback.format_exc()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    check(len(results) == 4 and all(v is None for v in results.values()),
          "4 clients in parallel, 2 full order cycles each: all issued",
          *[v for v in results.values() if v] or ["only %d of 4 finished" % len(results)])


# ---- the slow server: challenges seen while processing, failed validation ----

def slow(c):
    a, conn = c.A, c.conn
    names = ["slow%d.example.com" % i for i in range(3)]
    r = a.post(conn.dir["newOrder"], {"identifiers": idents(*names)})
    url, o = r.headers["Location"], r.json()
    chals, processing, ra_ok = [], 0, True
    for az_url in o["authorizations"]:
        az = a.fetch(az_url)
        ch = [x for x in az["challenges"] if x["type"] == "http-01"][0]
        r = a.post(ch["url"], {})
        chals.append((az_url, az, ch))
        if r.status_code == 200 and r.json().get("status") == "processing":
            processing += 1
            ra_ok &= retry_after_ok(r)
            last = (az_url, az, ch)
    check(processing >= 1, "§7.5.1 the slow validator answers challenge POSTs with \"processing\"",
          "%d of 3 were processing" % processing)
    check(ra_ok, "§7.5.1 every \"processing\" challenge response has Retry-After")
    az_url, az, ch = last if processing else chals[-1]  # the most recently started one
    r = a.post(ch["url"])
    if r.status_code == 200 and r.json().get("status") == "processing":
        check(retry_after_ok(r), "§7.5.1 polling a processing challenge: Retry-After", show(r))
        other = [x for x in az["challenges"] if x["url"] != ch["url"]]
        if other:
            r2 = a.post(other[0]["url"], {})
            cur = a.fetch(az_url)
            oth = [x for x in cur["challenges"] if x["url"] == other[0]["url"]]
            check((400 <= r2.status_code < 500 and problem_of(r2) is not None or r2.status_code == 200)
                  and (not oth or oth[0]["status"] == "pending"),
                  "starting a second challenge while one is processing changes nothing", show(r2), cur)
    else:
        check(True, "§7.5.1 polling a processing challenge: Retry-After # SKIP the validation finished first")
        check(True, "starting a second challenge while one is processing changes nothing # SKIP the validation "
              "finished first")
    r = a.post(o["finalize"], {"csr": order_csr(o, ec.generate_private_key(ec.SECP256R1()))})
    expect_problem(r, 403, "orderNotReady", "§7.4 finalize while challenges are processing: 403 orderNotReady")
    for az_url, az, ch in chals:
        chf = poll(lambda: a.fetch(ch["url"]), lambda x: x["status"] in ("valid", "invalid"))
        err = chf.get("error", {})
        check(chf["status"] == "invalid" and isinstance(err, dict) and err.get("type", "").startswith(URN)
              and err.get("detail"),
              "§8 a failed challenge is invalid with an \"error\" problem document", chf)
        azf = a.fetch(az_url)
        check(azf["status"] == "invalid" and ch["url"] in [x["url"] for x in azf["challenges"]],
              "§7.1.4 the authorization is invalid and lists the failed challenge", azf)
        r = a.post(ch["url"], {})
        check(r.status_code == 200 and r.json() == chf or (400 <= r.status_code < 500 and problem_of(r)),
              "§7.5.1 POST {} to an invalid challenge changes nothing", show(r))
        break
    of = poll(lambda: a.fetch(url), lambda x: x["status"] != "pending")
    check(of["status"] == "invalid" and isinstance(of.get("error"), dict), "§7.1.6 the order is invalid with an error",
          of)
    r = a.post(o["finalize"], {"csr": order_csr(o, ec.generate_private_key(ec.SECP256R1()))})
    expect_problem(r, 403, "orderNotReady", "§7.4 finalize of an invalid order: 403 orderNotReady")
    urls, _ = all_orders(a)
    check(url not in urls, "§7.1.2.1 the orders list leaves out the invalid order (SHOULD NOT include it)", urls)


def sec_keyauth_field(c):
    """Pebble refuses the legacy keyAuthorization field in any mode; cobble too."""
    a = c.A
    o = a.post(a.conn.dir["newOrder"], {"identifiers": idents("keyauth.example.com")}).json()
    az = a.fetch(o["authorizations"][0])
    ch = pick_challenge(az)
    r = a.post(ch["url"], {"keyAuthorization": "x.y"})
    expect_problem(r, 400, "malformed", "§7.5.1 challenge POST with keyAuthorization: malformed")
    check("POST {}" in (problem_of(r) or {}).get("detail", ""), "...and the detail says to POST {}", show(r))
    check(a.fetch(ch["url"])["status"] == "pending", "...and the challenge is still pending")


def strict(c):
    """-strict, as Pebble's: the ACME v1 resource field and a challenge body other than {}."""
    a = c.A
    r = a.post(a.conn.dir["newOrder"], {"resource": "new-order", "identifiers": idents("strict.example.com")})
    expect_problem(r, 400, "malformed", "-strict: a payload with the ACME v1 \"resource\" field is malformed")
    check('"resource"' in (problem_of(r) or {}).get("detail", ""), "...and the detail names the field", show(r))
    o = a.post(a.conn.dir["newOrder"], {"identifiers": idents("strict.example.com")}).json()
    az = a.fetch(o["authorizations"][0])
    ch = pick_challenge(az)
    r = a.post(ch["url"], "{ }")
    expect_problem(r, 400, "malformed", "-strict: a challenge POST body of \"{ }\" (not exactly {}) is malformed")
    check(a.fetch(ch["url"])["status"] == "pending", "...and the challenge is still pending")
    r = a.post(ch["url"], "{}")
    check(r.status_code == 200, "-strict: the challenge POST {} is accepted", show(r))


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


MACS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def eab_jws(kid, mac_key, url, jwk, alg="HS256", extra=None, payload=None, signer=None):
    """§7.3.4 externalAccountBinding: {alg, kid, url} over the account key's JWK, MAC'd with mac_key
    (signer, when given, makes the signature instead)."""
    prot = {"alg": alg, "kid": kid, "url": url}
    prot.update(extra or {})
    p64 = b64u(json.dumps(prot))
    pl64 = b64u(json.dumps(jwk) if payload is None else payload)
    data = ("%s.%s" % (p64, pl64)).encode()
    sig = signer(data) if signer else hmac.new(mac_key, data, MACS[alg]).digest()
    return {"protected": p64, "payload": pl64, "signature": b64u(sig)}


def sec_eab(c):
    """§7.3.4 external account binding, required by the server (meta.externalAccountRequired)."""
    conn = c.conn
    na = conn.dir["newAccount"]
    (kid1, key1), (kid2, key2) = c.eab_keys[:2]
    check(conn.dir.get("meta", {}).get("externalAccountRequired") is True,
          "§7.1.1 meta.externalAccountRequired is true", conn.dir.get("meta"))

    k = Key()
    r = conn.post(na, {"termsOfServiceAgreed": True}, k)
    expect_problem(r, 400, "externalAccountRequired",
                   "§7.3.4 newAccount without externalAccountBinding: 400 externalAccountRequired")
    check("externalAccountBinding" in (problem_of(r) or {}).get("detail", ""),
          "...and the detail names externalAccountBinding", show(r))
    check(account_exists(conn, k) is None, "§7.3.4 ...and no account was created")

    # the binding as a client makes it
    k = Key()
    eab = eab_jws(kid1, key1, na, k.jwk())
    r = conn.post(na, {"termsOfServiceAgreed": True, "externalAccountBinding": eab}, k)
    body = r.json() if r.status_code == 201 else {}
    expect_json(r, 201, "§7.3.4 newAccount with a good HS256 binding for %s: 201 Created" % kid1)
    check(body.get("externalAccountBinding") == eab,
          "§7.1.2 the account object shows externalAccountBinding as sent", body)
    check(b64u(key1) not in r.text and c.eab_raw[kid1] not in r.text,
          "the account object does not contain the MAC key", r.text)
    loc = r.headers.get("Location")
    if loc:
        acct = Account(conn, k, loc)
        got = acct.fetch(loc)
        check(got.get("externalAccountBinding") == eab and got.get("status") == "valid",
              "§7.3.2 POST-as-GET of the account shows the binding too", got)
        r = conn.post(na, {"termsOfServiceAgreed": True}, k)
        check(r.status_code == 200 and r.headers.get("Location") == loc,
              "§7.3.1 newAccount again with the bound key, without a binding: 200, the same account", show(r))
        r = acct.post(conn.dir["newOrder"], {"identifiers": idents("eab.example.com")})
        check(r.status_code == 201, "the bound account orders (201)", show(r))

    # a key id binds more than one account, as with Pebble
    k = Key()
    r = conn.post(na, {"termsOfServiceAgreed": True, "externalAccountBinding": eab_jws(kid1, key1, na, k.jwk())}, k)
    check(r.status_code == 201, "§7.3.4 the same key id binds a second account (as Pebble): 201", show(r))
    k = Key("EdDSA")
    r = conn.post(na, {"termsOfServiceAgreed": True,
                       "externalAccountBinding": eab_jws(kid2, key2, na, k.jwk(), alg="HS384")}, k)
    check(r.status_code == 201, "§7.3.4 HS384 binding with %s (a %d-byte key), EdDSA account key: 201"
          % (kid2, len(key2)), show(r))

    rsa_key = Key("RS256")
    refusals = [
        # (what, make(key) -> binding, status, type, detail part)
        ("a MAC made with another kid's key",
         lambda k: eab_jws(kid1, key2, na, k.jwk()), 403, "unauthorized", "MAC is invalid"),
        ("an unknown kid",
         lambda k: eab_jws("no-such-kid", key1, na, k.jwk()), 403, "unauthorized", "\"no-such-kid\""),
        ("a url other than newAccount's",
         lambda k: eab_jws(kid1, key1, conn.dir["newOrder"], k.jwk()), 400, "malformed", "\"url\""),
        ("a payload that is another key",
         lambda k: eab_jws(kid1, key1, na, Key().jwk()), 403, "unauthorized", "different key"),
        ("a payload that is not a JWK",
         lambda k: eab_jws(kid1, key1, na, None, payload='"hello"'), 400, "malformed", "JWK"),
        ("alg none",
         lambda k: eab_jws(kid1, key1, na, k.jwk(), alg="none", signer=lambda d: b""), 400, "malformed",
         "not a MAC algorithm"),
        ("alg RS256, signed with an RSA key",
         lambda k: eab_jws(kid1, key1, na, k.jwk(), alg="RS256", signer=rsa_key.sign), 400, "malformed",
         "not a MAC algorithm"),
        ("a nonce",
         lambda k: eab_jws(kid1, key1, na, k.jwk(), extra={"nonce": conn.fresh_nonce()}), 400, "malformed",
         "\"nonce\""),
        ("a jwk in its header",
         lambda k: eab_jws(kid1, key1, na, k.jwk(), extra={"jwk": k.jwk()}), 400, "malformed", "\"jwk\""),
        ("HS512 and a %d-byte key" % len(key1),
         lambda k: eab_jws(kid1, key1, na, k.jwk(), alg="HS512"), 400, "malformed", "at least 64 bytes"),
        ("a string instead of a JWS",
         lambda k: "eyJhbGciOiJIUzI1NiJ9", 400, "malformed", "flattened JWS"),
    ]
    for what, make, status, ptype, part in refusals:
        k = Key()
        r = conn.post(na, {"termsOfServiceAgreed": True, "externalAccountBinding": make(k)}, k)
        expect_problem(r, status, ptype, "§7.3.4 binding with %s: %d %s" % (what, status, ptype))
        detail = (problem_of(r) or {}).get("detail", "")
        check(part in detail and "externalAccountBinding" in detail,
              "...and the detail says what is wrong (%s)" % part, show(r))
        check(account_exists(conn, k) is None, "...and no account was created (onlyReturnExisting: "
              "accountDoesNotExist)")


def run(name, fn, c):
    try:
        fn(c)
    except Exception:
        check(False, "%s ran to the end" % name, traceback.format_exc())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=("main", "slow", "strict", "eab"), default="main")
    ap.add_argument("--eab-key", action="append", default=[], metavar="KID=KEY")
    ap.add_argument("directory")
    ap.add_argument("ca")
    ap.add_argument("mgmt")
    args = ap.parse_args()
    c = Ctx()
    c.ca, c.mgmt = args.ca, args.mgmt.rstrip("/")
    c.conn = Conn(args.directory, args.ca)
    if args.part == "slow":
        c.A, _ = new_account(c.conn)
        run("slow validation", slow, c)
        return 1 if FAILED else 0
    if args.part == "eab":
        c.eab_raw = dict(kv.split("=", 1) for kv in args.eab_key)
        c.eab_keys = [(kid, b64u_decode(v)) for kid, v in c.eab_raw.items()]
        run("external account binding", sec_eab, c)
        return 1 if FAILED else 0
    if args.part == "strict":
        c.A, _ = new_account(c.conn)
        run("strict mode", strict, c)
        return 1 if FAILED else 0
    c.B, _ = new_account(c.conn, contact=["mailto:b@example.com"])  # another account
    c.U, _ = new_account(c.conn)  # an unrelated account: never orders anything
    for name, fn in (("directory", sec_directory), ("newNonce", sec_nonce), ("newAccount", sec_new_account),
                     ("POST-as-GET of directory and newNonce", sec_post_as_get_bootstrap),
                     ("account", sec_account), ("orders list", sec_orders_list), ("keyChange", sec_key_change),
                     ("newOrder", sec_new_order), ("authorizations", sec_authz), ("issuance", sec_issue),
                     ("notBefore/notAfter", sec_not_before_after), ("revocation", sec_revoke),
                     ("renewal information (RFC 9773)", sec_ari),
                     ("bad input", bad_inputs), ("keyAuthorization field", sec_keyauth_field),
                     ("account deactivation", sec_deactivate_account),
                     ("concurrency", concurrency)):
        run(name, fn, c)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
