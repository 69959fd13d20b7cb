#!/usr/bin/env python3
"""Compare an implementation's verdicts with the dns-persist-01 conformance vectors.

usage: compare.py VECTORS VERDICTS

VECTORS is test/vectors/dns-persist-01.jsonl; VERDICTS holds one JSON object per line with the
vector's "id", "status" ("valid" or "invalid") and "type" (null when valid, else the ACME error
type without its urn:ietf:params:acme:error: prefix), as `cobble check-record --vectors` prints.
Prints one TAP line per vector and exits 1 when any vector fails or has no verdict.
Format: test/vectors/README.md.
"""
import json
import sys


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    vectors = lines(argv[1])
    got = {o.get("id"): o for o in lines(argv[2])}
    failed = 0
    for v in vectors:
        want = ("valid", None) if v["expect"] == "valid" else ("invalid", v["expect"])
        o = got.get(v["id"])
        if o is None:
            res, why = None, "no verdict"
        else:
            res = (o.get("status"), o.get("type"))
            why = "got %s/%s (rule %s): %s" % (res[0], res[1], o.get("rule", "?"), o.get("detail", ""))
        if res == want:
            print("ok - vector %s is %s" % (v["id"], v["expect"]))
        else:
            failed += 1
            print("not ok - vector %s is %s" % (v["id"], v["expect"]))
            print("    # " + why.replace("\n", " "))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
