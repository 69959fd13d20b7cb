#!/usr/bin/env bash
# Install cobble's dependencies from Debian 12's packages. Idempotent; quiet when all is present.
#   install-deps.sh          everything the build and every test needs (make test)
#   install-deps.sh build    only what building and running cobble needs (make run)
set -euo pipefail

build_pkgs=(
  build-essential pkg-config
  libmicrohttpd-dev libgnutls28-dev libssl-dev libjansson-dev libgetdns-dev
  libpsl-dev publicsuffix libidn2-dev libcurl4-openssl-dev
  openssl ca-certificates
)
test_pkgs=(
  clang libclang-rt-14-dev libcmocka-dev curl iproute2 util-linux procps jq
  knot knot-dnsutils
  lego certbot python3-acme uacme dehydrated
  nodejs npm
  chromium fonts-dejavu-core
)
# The npm ACME client the end-to-end tests drive (installed outside the tests' network namespace).
node_deps() {
  if [ -f test/node/package-lock.json ] && [ ! -d test/node/node_modules ]; then
    echo "install-deps: npm ci in test/node"
    npm ci --prefix test/node --no-audit --no-fund --loglevel=error >/dev/null
  fi
}
cd "$(dirname "$0")/.."

if [ "${1:-}" = build ]; then
  pkgs=("${build_pkgs[@]}")
  node_deps() { :; }
else
  pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { node_deps; exit 0; }

# Node.js may come from outside Debian on some machines: keep the one that is there.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  keep=(); for p in "${missing[@]}"; do case "$p" in nodejs|npm) ;; *) keep+=("$p");; esac; done
  missing=("${keep[@]}")
  [ ${#missing[@]} -eq 0 ] && { node_deps; exit 0; }
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts knot.service on install where systemd runs; the tests run their own knotd.
node_deps
