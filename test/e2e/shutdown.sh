#!/usr/bin/env bash
# End-to-end: cobble stops at once (issue 9 item 4). With every validation worker stuck (dns-01
# against a resolver that never answers, a tls-alpn-01 responder dripping one byte a second) and
# more validations queued behind them, SIGTERM closes the listeners at once, drops the queued
# work and the process exits within 2 s, status 0: a CI teardown never hangs.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/acme_case.sh"

acme_need shutdown jq curl python3

DNS_PORT=$(free_port) TLS_PORT=$(free_port)
mkdir -p "$T/txt"
bg python3 "$ROOT/test/lib/hostile_dns.py" "$DNS_PORT" "$T/txt"
bg python3 "$ROOT/test/lib/drip.py" "$TLS_PORT" 1 tls
sleep 0.5
# two workers, so that a few stuck validations fill them and the rest wait in the queue
printf '{"tlsPort": %s, "vaWorkers": 2}\n' "$TLS_PORT" >"$T/cobble.json"
start_cobble COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 -- \
	-dnsserver "127.0.0.1:$DNS_PORT" -config "$T/cobble.json" || { notok "cobble starts"; exit 1; }
ok "cobble runs against a silent resolver (127.0.0.1:$DNS_PORT) and a dripping tls-alpn-01 responder"

tags=(drip s1 s2 s3 s4 s5)
acme_start drip tls-alpn-01 drip.x.test || notok "the tls-alpn-01 order starts"
for i in 1 2 3 4 5; do acme_start "s$i" dns-01 "q$i.silent.test" || notok "dns-01 order $i starts"; done
for tag in "${tags[@]}"; do acme_go "$tag"; done
# the workers are busy and the queue holds the rest
wait_for 15 grep -q "validation tls-alpn-01 drip.x.test\|looking up" "$COBBLE_LOG" || sleep 2
sleep 1

start=$(date +%s%N)
kill -TERM "$COBBLE_PID"
# when cobble is gone, as a watcher sees it: the probe below (curl, up to 1 s on a loaded
# machine) must not count towards cobble's own exit time
( while kill -0 "$COBBLE_PID" 2>/dev/null; do sleep 0.02; done; date +%s%N >"$T/exited" ) &
watcher=$!
sleep 0.3
if curl -s -o /dev/null --max-time 1 --cacert "$CA_BUNDLE" "$DIR_URL"; then
	notok "right after SIGTERM the ACME listener accepts no new connection"
else
	ok "right after SIGTERM the ACME listener accepts no new connection"
fi
rc=0
for _ in $(seq 1 100); do kill -0 "$COBBLE_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$COBBLE_PID" 2>/dev/null; then kill "$watcher" 2>/dev/null; else wait "$watcher" 2>/dev/null; fi
ms=$(( ($(cat "$T/exited" 2>/dev/null || date +%s%N) - start) / 1000000 ))
if kill -0 "$COBBLE_PID" 2>/dev/null; then
	notok "cobble exits within 2 s of SIGTERM with validations stuck and queued (still running after $ms ms)"
	kill -KILL "$COBBLE_PID"
	wait "$COBBLE_PID" 2>/dev/null
else
	wait "$COBBLE_PID" 2>/dev/null || rc=$?
	if [ "$ms" -le 2000 ] && [ "$rc" -eq 0 ]; then
		ok "cobble exits within 2 s of SIGTERM with validations stuck and queued ($ms ms, status $rc)"
	else
		notok "cobble exits within 2 s of SIGTERM with validations stuck and queued ($ms ms, status $rc)"
	fi
fi
COBBLE_PID=
if grep -q "dropped: cobble is shutting down" "$COBBLE_LOG"; then
	ok "queued validations are dropped, each logged ($(grep -c 'dropped: cobble is shutting down' "$COBBLE_LOG"))"
else
	notok "queued validations are dropped, each logged"
	tail -20 "$COBBLE_LOG" | sed 's/^/    # /'
fi
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$COBBLE_LOG"; then
	notok "cobble ran clean under sanitizers"
	grep -A30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$COBBLE_LOG" | sed 's/^/    # /' | head -60
fi
for tag in "${tags[@]}"; do kill "${_acme_pid[$tag]}" 2>/dev/null; done
