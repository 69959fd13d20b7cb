#!/usr/bin/env bash
# Benchmarks (not tests): cobble's request and issuance throughput on loopback, bounded in time.
#   scripts/bench.sh [BUILD_DIR]            (default build; run `make` first)
# Runs inside a private network namespace. Set OTHER_CA_CMD to a command that starts another
# ACME server (e.g. Pebble) on 127.0.0.1:14000/15000 with always-valid validation and
# OTHER_CA_BUNDLE to its TLS root, to get the same figures for it and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
if [ -z "${COBBLE_BENCH_INNER:-}" ]; then
	command -v wrk >/dev/null || { echo "bench: installing wrk"; apt-get install -y -qq wrk >/dev/null; }
	[ -d test/node/node_modules ] || npm ci --prefix test/node --no-audit --no-fund --loglevel=error >/dev/null
	exec env COBBLE_BENCH_INNER=1 unshare -n bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
fi
T=$(mktemp -d /tmp/cobble-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
SECS=${BENCH_SECONDS:-10}

measure() { # NAME DIR_URL NONCE_URL BUNDLE
	local name=$1 dir=$2 nonce=$3 bundle=$4
	# wrk does not verify TLS; throughput only
	local r1 r2 r3
	r1=$(wrk -t2 -c32 -d"${SECS}s" -s /dev/stdin "$nonce" <<<'wrk.method = "HEAD"' | awk '/Requests\/sec/ {print $2}')
	r2=$(wrk -t2 -c32 -d"${SECS}s" "$dir" | awk '/Requests\/sec/ {print $2}')
	r3=$(NODE_EXTRA_CA_CERTS=$bundle node test/node/bench-orders.js "$dir" 8 "$SECS" 5000)
	echo "{\"server\":\"$name\",\"newNonceHeadPerSecond\":$r1,\"directoryGetPerSecond\":$r2,\"issuance\":$r3}"
}

COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 "$BUILD/cobble" \
	-listen 127.0.0.1:14000 -management 127.0.0.1:15000 -ca-bundle-out "$T/ca.pem" -log-level warn >"$T/cobble.log" 2>&1 &
for _ in $(seq 100); do [ -s "$T/ca.pem" ] && break; sleep 0.1; done
measure cobble https://localhost:14000/dir https://localhost:14000/acme/new-nonce "$T/ca.pem"
kill %1; wait %1 2>/dev/null || true
if [ -n "${OTHER_CA_CMD:-}" ]; then
	bash -c "$OTHER_CA_CMD" >"$T/other.log" 2>&1 &
	sleep 3
	measure other https://localhost:14000/dir "${OTHER_NONCE_URL:-https://localhost:14000/nonce-plz}" "$OTHER_CA_BUNDLE"
fi
