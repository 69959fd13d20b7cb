#!/usr/bin/env bash
# make bench: cobble and Debian's Pebble side by side, same load generator (test/bench/loadgen),
# same settings, one table of figures with the ratio cobble/Pebble for each.
#   scripts/bench.sh [--sweep] [BUILD_DIR]
#     (default)  keep-alive and fresh-connection flows, connections with and without resumption,
#                an open-loop run at half of each server's keep-alive peak, dns-persist-01 against
#                Knot (cobble only: Pebble has no dns-persist-01); plain GnuTLS (gnutls-serv) as the
#                reference for the cost of a connection
#     --sweep    keep-alive flows/s and p99 against concurrency 1..64 for both; a PNG (gnuplot)
#     --memory   RSS after 1,000 and after BENCH_FLOWS (100,000) keep-alive flows, for both (long:
#                about 4 min for cobble, 7 for Pebble, on 2 cores)
#   BENCH_SECONDS (5; 3 in the sweep) per run, BENCH_CLIENTS (8).
# Both servers are always-valid with no validation sleep, no nonce rejection and no authorization
# reuse, their logs at their defaults into a file. Everything runs inside a private network
# namespace on loopback; results go to $BUILD/artifacts/ (bench.jsonl, bench.md, sweep.png).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=default
case "${1:-}" in --sweep) MODE=sweep; shift ;; --memory) MODE=memory; shift ;; esac
BUILD=${1:-build}
if [ -z "${COBBLE_BENCH_INNER:-}" ]; then
	need=()
	for t in pebble:pebble jq:jq gnutls-serv:gnutls-bin knotd:knot kdig:knot-dnsutils gnuplot:gnuplot-nox; do
		command -v "${t%%:*}" >/dev/null || need+=("${t#*:}")
	done
	if [ ${#need[@]} -gt 0 ]; then
		echo "bench: installing ${need[*]}"
		SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	fi
	make --no-print-directory BUILD="$BUILD" "$BUILD/cobble" "$BUILD/loadgen" "$BUILD/persist-rate" >/dev/null
	SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo -E"
	exec $SUDO env COBBLE_BENCH_INNER=1 unshare -n bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" \
		$([ $MODE != default ] && echo "--$MODE") "$BUILD"
fi

T=$(mktemp -d /tmp/cobble-bench.XXXXXX)
SRV_PID=
trap 'stop_server; [ -n "${KNOT_PID:-}" ] && kill "$KNOT_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
OUT=$BUILD/artifacts
mkdir -p "$OUT"
LOADGEN=$BUILD/loadgen
SECS=${BENCH_SECONDS:-5}
CLIENTS=${BENCH_CLIENTS:-8}
DIR=https://localhost:14000/dir

# Pebble's TLS certificate: made here, the same key type as cobble's (ECDSA P-256).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -addext basicConstraints=critical,CA:TRUE \
	-days 2 -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
cat >"$T/pebble.json" <<-EOF
{"pebble": {"listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
  "certificate": "$T/cert.pem", "privateKey": "$T/key.pem", "httpPort": 5002, "tlsPort": 5001,
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF

up() { curl -sf --cacert "$1" "$DIR" >/dev/null 2>&1; }
wait_up() { for _ in $(seq 200); do up "$1" && return 0; sleep 0.05; done; echo "bench: $2 did not start" >&2; tail "$T/$2.log" >&2; return 1; }

# start_server NAME [cobble args]: a fresh process per run, so RSS and CPU are that run's alone.
start_server() {
	local name=$1; shift
	case $name in
	cobble)
		COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 COBBLE_AUTHZREUSE=0 \
			"$BUILD/cobble" -listen 127.0.0.1:14000 -management 127.0.0.1:15000 \
			-ca-bundle-out "$T/cobble-ca.pem" "$@" >"$T/cobble.log" 2>&1 &
		SRV_PID=$!; CA=$T/cobble-ca.pem
		for _ in $(seq 100); do [ -s "$CA" ] && break; sleep 0.05; done ;;
	pebble)
		PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
			pebble -config "$T/pebble.json" >"$T/pebble.log" 2>&1 &
		SRV_PID=$!; CA=$T/cert.pem ;;
	esac
	wait_up "$CA" "$name"
}
stop_server() { [ -n "$SRV_PID" ] && { kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null || true; }; SRV_PID=; }

# run SERVER TAG LOADGEN-ARGS...: one measured run; its JSON line (with "run") into bench.jsonl.
run() {
	local name=$1 tag=$2; shift 2
	start_server "$name"
	echo "bench: $name $tag" >&2
	"$LOADGEN" --dir "$DIR" --cafile "$CA" --server-pid "$SRV_PID" --label "$name" "$@" 2>"$T/lg.err" |
		jq -c --arg run "$tag" '. + {run: $run}' >>"$OUT/bench.jsonl" || { cat "$T/lg.err" >&2; return 1; }
	stop_server
}

if [ $MODE = memory ]; then
	: >"$OUT/memory.jsonl"
	N=${BENCH_FLOWS:-100000}
	for s in cobble pebble; do
		for n in 1000 "$N"; do
			start_server "$s"
			echo "bench: $s $n flows" >&2
			"$LOADGEN" --dir "$DIR" --cafile "$CA" --server-pid "$SRV_PID" --label "$s" -c 4 -n "$n" -d 3600 \
				2>"$T/lg.err" | jq -c --arg n "$n" '. + {run: ("flows-" + $n)}' >>"$OUT/memory.jsonl"
			stop_server
		done
	done
	jq -rs --arg n "$N" '
		def rss($s; $k): map(select(.label == $s and .run == ("flows-" + $k))) | first | .serverRssKb;
		"| server | RSS after 1,000 flows (kB) | RSS after \($n) flows (kB) | ratio | errors |",
		"| --- | ---: | ---: | ---: | ---: |",
		(["cobble", "pebble"][] as $s | (rss($s; "1000")) as $a | (rss($s; $n)) as $b |
		 "| \($s) | \($a) | \($b) | \(if $a then ($b / $a * 100 | round) / 100 else "–" end)× | \(map(select(.label == $s)) | map(.errorsTotal) | add) |")
	' "$OUT/memory.jsonl" | tee "$OUT/memory.md"
	exit 0
fi

if [ $MODE = sweep ]; then
	: >"$OUT/bench.jsonl"
	for c in 1 2 4 8 16 32 64; do
		for s in cobble pebble; do run "$s" "sweep-$c" -c "$c" -d "${BENCH_SECONDS:-3}"; done
	done
	for s in cobble pebble; do
		jq -r --arg s "$s" 'select(.label == $s) | "\(.clients) \(.flowsPerSecond) \(.latencyMs.flow.p99)"' \
			"$OUT/bench.jsonl" >"$T/$s.dat"
	done
	gnuplot <<-EOF
	set terminal pngcairo size 960,480 font "DejaVu Sans,10"
	set output "$OUT/sweep.png"
	set multiplot layout 1,2 title "keep-alive issuance flows, always-valid, loopback ($(nproc) cores, generator included)"
	set logscale x 2; set xlabel "concurrent clients"; set grid; set key top left
	set ylabel "flows/s"; plot "$T/cobble.dat" u 1:2 w lp t "cobble", "$T/pebble.dat" u 1:2 w lp t "Pebble 2.4.0"
	set ylabel "p99 flow latency (ms)"; set logscale y
	plot "$T/cobble.dat" u 1:3 w lp t "cobble", "$T/pebble.dat" u 1:3 w lp t "Pebble 2.4.0"
	unset multiplot
	EOF
	echo "| clients | cobble flows/s | Pebble flows/s | ratio | cobble p99 ms | Pebble p99 ms | ratio |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	join "$T/cobble.dat" "$T/pebble.dat" | sort -n |
		awk 'function r(a, b) { return b + 0 > 0 ? sprintf("%.2f", a / b) : "–" }
			# under one flow/s (a run lost to a stall) a ratio or a p99 says nothing: print –
			{ few = $4 + 0 < 1; p99 = few ? "–" : sprintf("%.1f", $5)
			  printf "| %d | %.0f | %.1f | %s | %.1f | %s | %s |\n", $1, $2, $4, few ? "–" : r($2, $4), $3, p99,
			         few ? "–" : r($3, $5)}'
	echo "plot: $OUT/sweep.png"
	exit 0
fi

: >"$OUT/bench.jsonl"
for s in cobble pebble; do
	run "$s" keepalive -c "$CLIENTS" -d "$SECS"
	run "$s" fresh -c "$CLIENTS" -d "$SECS" --mode fresh
	run "$s" fresh-resume -c "$CLIENTS" -d "$SECS" --mode fresh --resume
	run "$s" connections -c 4 -d "$SECS" --connections
	run "$s" connections-resume -c 4 -d "$SECS" --connections --resume
	# open loop at half of this server's own keep-alive peak: latency at 50 % load
	peak=$(jq -r --arg s "$s" 'select(.label == $s and .run == "keepalive") | .flowsPerSecond' "$OUT/bench.jsonl")
	run "$s" open-half -c 64 -d "$SECS" --rate "$(awk -v p="$peak" 'BEGIN {printf "%.1f", p / 2}')"
done
# plain GnuTLS with the same kind of key: what a connection costs without any server around it
gnutls-serv --http --port 14000 --x509certfile "$T/cert.pem" --x509keyfile "$T/key.pem" >"$T/gnutls.log" 2>&1 &
SRV_PID=$!
for _ in $(seq 100); do curl -sf --cacert "$T/cert.pem" "$DIR" -o /dev/null 2>/dev/null && break; sleep 0.05; done
for tag in connections connections-resume; do
	echo "bench: gnutls-serv $tag" >&2
	"$LOADGEN" --dir "$DIR" --cafile "$T/cert.pem" --server-pid "$SRV_PID" --label gnutls-serv -c 4 -d "$SECS" \
		--connections $([ $tag = connections-resume ] && echo --resume) 2>"$T/lg.err" |
		jq -c --arg run "$tag" '. + {run: $run}' >>"$OUT/bench.jsonl" || cat "$T/lg.err" >&2
done
stop_server
# dns-persist-01 against Knot: cobble only (Pebble 2.4.0 has no dns-persist-01)
if command -v knotd >/dev/null; then
	KD=$T/knot; mkdir -p "$KD/zones" "$KD/db" "$KD/run"
	printf '$ORIGIN bench.test.\n$TTL 300\n@ SOA ns.bench.invalid. h.bench.invalid. 1 3600 900 604800 60\n@ NS ns.bench.invalid.\n' \
		>"$KD/zones/bench.test.zone"
	cat >"$KD/knot.conf" <<-EOF
	server:
	    rundir: "$KD/run"
	    listen: 127.0.0.1@15353
	database:
	    storage: "$KD/db"
	control:
	    listen: "$KD/knot.sock"
	template:
	  - id: default
	    storage: "$KD/zones"
	    file: "%s.zone"
	    zonefile-sync: -1
	    journal-content: changes
	zone:
	  - domain: bench.test
	EOF
	knotd -c "$KD/knot.conf" >"$KD/knotd.out" 2>&1 &
	KNOT_PID=$!
	for _ in $(seq 100); do kdig @127.0.0.1 -p 15353 +short bench.test SOA 2>/dev/null | grep -q . && break; sleep 0.05; done
	# the validator alone: TXT lookup + matcher, one getdns context per thread kept for every lookup
	printf '_validation-persist.rate.bench.test. 300 TXT "cobble.test; accounturi=https://localhost:14000/acme/acct/1"\n' \
		>"$T/rate.txt"
	bash test/bench/knot-publish.sh "$KD/knot.conf" "$KD/knot.sock" bench.test "$T/rate.txt"
	echo "bench: dns-persist-01 validator alone" >&2
	"$BUILD/persist-rate" --resolver 127.0.0.1:15353 --identifier rate.bench.test \
		--account-url https://localhost:14000/acme/acct/1 -t 4 -d "$SECS" |
		jq -c '{label: "cobble", run: "persist-rate", validationsPerSecond: .perSecond, errorsTotal: .errors}' \
		>>"$OUT/bench.jsonl"
	echo '{"dnsPersist": {"reuse": false}}' >"$T/persist.json"
	start_server cobble -dnsserver 127.0.0.1:15353 -config "$T/persist.json"
	echo "bench: cobble dns-persist-01" >&2
	"$LOADGEN" --dir "$DIR" --cafile "$CA" --server-pid "$SRV_PID" --label cobble -c "$CLIENTS" -d "$SECS" \
		--challenge dns-persist-01 --suffix bench.test --issuer cobble.test \
		--persist-hook "test/bench/knot-publish.sh $KD/knot.conf $KD/knot.sock bench.test" 2>"$T/lg.err" |
		jq -c '. + {run: "persist"}' >>"$OUT/bench.jsonl" || cat "$T/lg.err" >&2
	stop_server
fi
bash test/bench/table.sh "$OUT/bench.jsonl" | tee "$OUT/bench.md"
{
	echo
	echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average" \
		"$(cut -d' ' -f1-3 /proc/loadavg) at the end; ${SECS} s per run, $CLIENTS clients."
} | tee -a "$OUT/bench.md"
