#!/usr/bin/python3
# acme_challenge.py: a small ACME client (Debian's python3-acme) for test/e2e/validators.sh. One
# run = one account, one order for one identifier, one challenge of the given type:
#   1. prints {"token", "key_authz", "dns_value", "digest_hex"} as one JSON line on stdout,
#   2. waits for one line on stdin (the test has set up the responder by then),
#   3. answers the challenge, polls the authorization until it leaves pending/processing,
#   4. when valid, finalizes and writes OUT/fullchain.pem; prints the outcome as one JSON line:
#      {"authz": status, "challenge": {...as served...}, "order": status}.
# Run it with /usr/bin/python3 (Debian's modules), not a pyenv interpreter.
import argparse
import hashlib
import ipaddress
import json
import os
import sys
import time

import josepy as jose
import OpenSSL
from acme import client, crypto_util, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


class EmptyPayload:
    """RFC 8555 §7.5.1's {} for a challenge type python3-acme does not know (dns-persist-01)."""

    def json_dumps(self, **kwargs):
        return "{}"


def chall_type(challb):
    """The challenge's type, also for one python3-acme does not know (its typ is then unset)."""
    t = challb.chall.typ
    return t if isinstance(t, str) else challb.chall.to_partial_json().get("type")


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--ca", required=True, help="CA bundle for the ACME server's TLS certificate")
    ap.add_argument("--type", required=True, choices=["http-01", "dns-01", "tls-alpn-01", "dns-persist-01"])
    ap.add_argument("--ident", required=True)
    ap.add_argument("--ip", action="store_true", help="the identifier is an IP address (RFC 8738)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()

    acct_key = ec.generate_private_key(ec.SECP256R1())
    jwk = jose.JWKEC(key=acct_key)
    net = client.ClientNetwork(jwk, alg=jose.ES256, verify_ssl=a.ca, user_agent="cobble-e2e-acme_challenge")
    directory = messages.Directory.from_json(net.get(a.dir).json())
    acme = client.ClientV2(directory, net)
    acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))

    cert_key = ec.generate_private_key(ec.SECP256R1())
    key_pem = cert_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    if a.ip:
        csr = crypto_util.make_csr(key_pem, ipaddrs=[ipaddress.ip_address(a.ident)])
    else:
        csr = crypto_util.make_csr(key_pem, [a.ident])
    orderr = acme.new_order(csr)
    authzr = orderr.authorizations[0]
    challb = next((c for c in authzr.body.challenges if chall_type(c) == a.type), None)
    if challb is None:
        emit({"error": "no %s challenge offered: %s" % (a.type, [chall_type(c) for c in authzr.body.challenges])})
        return 1
    if a.type == "dns-persist-01":  # no token: the record names the account (spec §3)
        emit({"token": "", "key_authz": "", "dns_value": "", "digest_hex": "",
              "account": acme.net.account["uri"]})
    else:
        key_authz = challb.chall.key_authorization(jwk)
        digest = hashlib.sha256(key_authz.encode()).digest()
        emit({"token": challb.chall.encode("token"), "key_authz": key_authz,
              "dns_value": jose.b64encode(digest).decode(), "digest_hex": digest.hex()})
    sys.stdin.readline()

    if a.type == "dns-persist-01":
        acme._post(challb.uri, EmptyPayload())
    else:
        acme.answer_challenge(challb, challb.chall.response(jwk))
    deadline = time.time() + a.timeout
    while True:
        authzr, _ = acme.poll(authzr)
        if authzr.body.status not in (messages.STATUS_PENDING, messages.STATUS_PROCESSING):
            break
        if time.time() > deadline:
            break
        time.sleep(0.2)
    chall_json = acme._post_as_get(challb.uri).json()
    result = {"authz": authzr.body.status.name, "challenge": chall_json}
    if authzr.body.status == messages.STATUS_VALID:
        req = OpenSSL.crypto.load_certificate_request(OpenSSL.crypto.FILETYPE_PEM, csr)
        acme._post(orderr.body.finalize, messages.CertificateRequest(csr=jose.ComparableX509(req)))
        while time.time() < deadline:
            body = acme._post_as_get(orderr.uri).json()
            if body["status"] not in ("processing", "ready"):
                break
            time.sleep(0.2)
        if body.get("status") == "valid" and body.get("certificate"):
            chain = acme._post_as_get(body["certificate"]).text
            with open(os.path.join(a.out, "fullchain.pem"), "w") as f:
                f.write(chain)
            with open(os.path.join(a.out, "privkey.pem"), "wb") as f:
                f.write(key_pem)
    else:
        body = acme._post_as_get(orderr.uri).json()
    result["order"] = body.get("status")
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
