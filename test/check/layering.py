#!/usr/bin/env python3
"""layering: the #include graph of common/ and server/ has no circle and no arrow from a lower
module to a higher one (HACKING.md, "The house"). Prints TAP; each failure names the edge and the
file and line that make it. Usage: layering.py [ROOT]   (ROOT: the source tree, default ..)"""
import os
import re
import sys
import tempfile

# Files that make one module together: the WFE is one file per resource, cmd one file per
# subcommand; and a module split by concern shares a private X_internal.h, so X_internal.h and every
# X_<concern>.c that includes it belong to X (see internal_groups).
GROUPS = [
    (re.compile(r"^server/wfe(_.*)?$"), "server/wfe"),
    (re.compile(r"^server/cmd(_.*)?$"), "server/cmd"),
]
INTERNAL = re.compile(r"^(?P<mod>(common|server)/[a-z0-9_]+?)_internal$")

# Lower numbers are lower in the house; a file may include its own layer or lower ones. A module
# missing here is still checked for circles (and named in a comment line, so it gets a layer).
LAYERS = {
    0: ["common/util", "common/log"],
    1: ["common/b64", "common/map", "common/workq", "common/text"],
    2: ["common/dns", "common/persist", "common/persist_vector", "common/caa"],
    3: ["server/problem", "server/ari", "server/events", "server/nonce", "server/ca", "server/crl",
        "server/http_guard", "server/http_head"],
    4: ["server/store", "server/jwk", "server/jws", "server/http_front"],
    5: ["server/va_method", "server/conformance", "server/faults", "server/faillimit"],
    6: ["server/challenge"],
    7: ["server/config"],
    8: ["server/server"],
    9: ["server/va_classic", "server/issuer"],
    10: ["server/va_http01", "server/va_dns01", "server/va_tlsalpn01", "server/va_persist",
         "server/va_dns_account01"],
    11: ["server/va", "server/va_caa", "server/http"],
    12: ["server/wfe", "server/mgmt"],
    13: ["server/cmd", "server/main"],
}

# System headers a module must not use: the layers below the HTTP front end know nothing of
# libmicrohttpd; the CA speaks OpenSSL, not JSON.
NO_MHD = re.compile(r"^(common/.*|server/(va.*|ca|store|challenge|issuer|config|problem|ari|nonce|jwk|jws|events))$")
FORBIDDEN = [
    (NO_MHD, "microhttpd.h"),
    (re.compile(r"^server/ca$"), "jansson.h"),
]

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def module_of(path, members=None):
    stem = os.path.splitext(path)[0]
    for pattern, name in GROUPS:
        if pattern.match(stem):
            return name
    m = INTERNAL.match(stem)
    if m:
        return m.group("mod")
    return (members or {}).get(stem, stem)


def internal_groups(incs):
    """X_<concern> files that include X_internal.h: {stem: X}."""
    members = {}
    for _, f, _, target, project in incs:
        m = INTERNAL.match(os.path.splitext(target)[0]) if project else None
        stem = os.path.splitext(f)[0]
        if m and stem.startswith(m.group("mod") + "_"):
            members[stem] = m.group("mod")
    return members


def scan(root):
    """Every include of every source file: (module, file, line, target, is_project)."""
    out = []
    for d in ("common", "server"):
        base = os.path.join(root, d)
        if not os.path.isdir(base):
            continue
        for name in sorted(os.listdir(base)):
            if not name.endswith((".c", ".h")):
                continue
            rel = f"{d}/{name}"
            with open(os.path.join(base, name), encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if m:
                        out.append((module_of(rel), rel, n, m.group(2), m.group(1) == '"'))
    return out


def find_cycle(edges):
    """A list of modules forming a circle, or None."""
    graph = {}
    for (a, b) in edges:
        graph.setdefault(a, set()).add(b)
    state, stack = {}, []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state:
                c = visit(w)
                if c:
                    return c
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state:
            c = visit(v)
            if c:
                return c
    return None


def check(root):
    """(name, [problems], [notes]) per rule."""
    rank = {m: n for n, ms in LAYERS.items() for m in ms}
    incs = scan(root)
    members = internal_groups(incs)
    incs = [(module_of(f, members), f, n, t, p) for _, f, n, t, p in incs]
    edges = {}
    for mod, f, n, target, project in incs:
        if project:
            tmod = module_of(os.path.splitext(target)[0] + ".h", members)
            if tmod != mod:
                edges.setdefault((mod, tmod), f"{f}:{n} includes {target}")
    results = []

    cycle = find_cycle(edges)
    problems = []
    if cycle:
        problems.append("circle " + " -> ".join(cycle) + ": " +
                        "; ".join(edges[(a, b)] for a, b in zip(cycle, cycle[1:])))
    results.append(("no include circle between modules", problems, []))

    problems, notes = [], []
    for (a, b), where in sorted(edges.items()):
        if a.startswith("common/") and b.startswith("server/"):
            problems.append(f"{where}: common/ never includes server/")
        elif a in rank and b in rank and rank[a] < rank[b]:
            problems.append(f"{where}: {a} (layer {rank[a]}) -> {b} (layer {rank[b]}) points upward")
    for m in sorted({e[0] for e in edges} | {e[1] for e in edges}):
        if m not in rank:
            notes.append(f"{m} has no layer in test/check/layering.py yet")
    results.append(("no include points from a lower module to a higher one", problems, notes))

    problems = []
    for mod, f, n, target, project in incs:
        for pattern, header in FORBIDDEN:
            if not project and target == header and pattern.match(mod):
                problems.append(f"{f}:{n} includes <{header}>, which {mod} must not use")
    results.append(("no module uses a library above its layer", problems, []))
    return results


def self_test():
    """The checker itself finds a planted circle and a planted upward include."""
    with tempfile.TemporaryDirectory() as t:
        os.makedirs(os.path.join(t, "common"))
        os.makedirs(os.path.join(t, "server"))
        files = {
            "common/util.h": '#include "common/b64.h"\n',
            "common/b64.h": '#include "common/util.h"\n',
            "server/ca.c": '#include "server/wfe.h"\n#include <jansson.h>\n',
            "server/wfe.h": "",
        }
        for p, text in files.items():
            with open(os.path.join(t, p), "w") as f:
                f.write(text)
        got = [bool(p) for _, p, _ in check(t)]
        return got == [True, True, True]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    results = check(root)
    n, failed = 0, 0
    n += 1
    if self_test():
        print(f"ok {n} - the checker finds a planted circle, upward include and forbidden library")
    else:
        failed += 1
        print(f"not ok {n} - the checker misses a planted circle, upward include or forbidden library")
    for name, problems, notes in results:
        n += 1
        print(f"{'not ok' if problems else 'ok'} {n} - {name}")
        for p in problems:
            print(f"    # {p}")
        for p in notes:
            print(f"    # note: {p}")
        failed += bool(problems)
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
