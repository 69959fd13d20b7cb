#!/usr/bin/env bash
# table.sh BENCH.JSONL: the markdown table of scripts/bench.sh — every figure for cobble and Pebble
# with the ratio cobble/Pebble, and plain GnuTLS (gnutls-serv) as the reference on connection rows.
set -euo pipefail
jq -rs '
def fmt: if . == null then "–" elif . >= 100 then (round | tostring)
	elif . >= 10 then ((. * 10 | round) / 10 | tostring) else ((. * 100 | round) / 100 | tostring) end;
def ratio($a; $b): if $a == null or $b == null or $b == 0 then "–" else ($a / $b | fmt) + "×" end;
. as $all |
def get($srv; $run; $p): ($all | map(select(.label == $srv and .run == $run)) | first) as $r |
	if $r == null then null elif $p == ["resumed"] then (if $r.connections > 0 then $r.resumedConnections / $r.connections else null end)
	else $r | getpath($p) end;
[
 ["keep-alive: flows/s", "keepalive", ["flowsPerSecond"], "higher"],
 ["keep-alive: server CPU ms per flow", "keepalive", ["serverCpuMsPerFlow"], "lower"],
 ["keep-alive: flow p50 ms", "keepalive", ["latencyMs", "flow", "p50"], "lower"],
 ["keep-alive: flow p99 ms", "keepalive", ["latencyMs", "flow", "p99"], "lower"],
 ["keep-alive: finalize p99 ms", "keepalive", ["latencyMs", "finalize", "p99"], "lower"],
 ["keep-alive: errors (e.g. no answer within 10 s)", "keepalive", ["errorsTotal"], "lower"],
 ["keep-alive: server peak RSS kB", "keepalive", ["serverPeakRssKb"], "lower"],
 ["keep-alive: server CPU cores busy", "keepalive", ["serverCpuCores"], ""],
 ["keep-alive: generator CPU cores", "keepalive", ["generatorCpuCores"], ""],
 ["fresh connection per request: flows/s", "fresh", ["flowsPerSecond"], "higher"],
 ["fresh: server CPU ms per flow", "fresh", ["serverCpuMsPerFlow"], "lower"],
 ["fresh: flow p99 ms", "fresh", ["latencyMs", "flow", "p99"], "lower"],
 ["fresh: errors", "fresh", ["errorsTotal"], "lower"],
 ["fresh + TLS resumption: server CPU ms per flow", "fresh-resume", ["serverCpuMsPerFlow"], "lower"],
 ["fresh + TLS resumption: share of connections resumed", "fresh-resume", ["resumed"], "higher"],
 ["connection (TLS handshake + GET /dir): server CPU ms", "connections", ["serverCpuMsPerFlow"], "lower", "ref"],
 ["connection: p50 ms", "connections", ["latencyMs", "flow", "p50"], "lower", "ref"],
 ["resumed connection: server CPU ms", "connections-resume", ["serverCpuMsPerFlow"], "lower", "ref"],
 ["resumed connection: share resumed", "connections-resume", ["resumed"], "higher", "ref"],
 ["open loop at half its own peak: rate flows/s", "open-half", ["rate"], ""],
 ["open loop at half its own peak: flow p50 ms", "open-half", ["latencyMs", "flow", "p50"], "lower"],
 ["open loop at half its own peak: flow p99 ms", "open-half", ["latencyMs", "flow", "p99"], "lower"],
 ["dns-persist-01 validator alone (4 threads, Knot): validations/s", "persist-rate", ["validationsPerSecond"], "higher"],
 ["dns-persist-01 against Knot: flows/s", "persist", ["flowsPerSecond"], "higher"],
 ["dns-persist-01: server CPU ms per flow", "persist", ["serverCpuMsPerFlow"], "lower"],
 ["dns-persist-01: flow p99 ms", "persist", ["latencyMs", "flow", "p99"], "lower"]
] as $rows |
"| figure | cobble | Pebble 2.4.0 | cobble/Pebble | better | gnutls-serv |",
"| --- | ---: | ---: | ---: | --- | ---: |",
($rows[] | . as [$name, $run, $p, $better, $ref] |
  get("cobble"; $run; $p) as $c | get("pebble"; $run; $p) as $b |
  select($c != null or $b != null) |
  "| \($name) | \($c | fmt) | \($b | fmt) | \(ratio($c; $b)) | \($better) | \(if $ref then (get("gnutls-serv"; $run; $p) | fmt) else "" end) |")
' "$1"
