#!/usr/bin/env bash
# tsan.sh BUILD: the ThreadSanitizer run of `make tsan`: the unit suites in $COBBLE_TSAN_UNITS and
# the end-to-end suites in $COBBLE_TSAN_E2E against BUILD (built with -fsanitize=thread). A data
# race or lock-order report anywhere fails it. The last line is the summary, as test/run.sh's.
set -u
cd "$(dirname "$0")/.."
b=${1:-build-tsan}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1}
logdir=$(mktemp -d /tmp/cobble-tsan.XXXXXX)
passed=0 failed=0
for u in $COBBLE_TSAN_UNITS; do
	if CMOCKA_MESSAGE_OUTPUT=TAP "$b/test/$u" >"$logdir/$u.log" 2>&1 &&
		! grep -q "WARNING: ThreadSanitizer" "$logdir/$u.log"; then
		echo "PASS $u"; passed=$((passed + 1))
	else
		echo "FAIL $u"; grep -A30 "WARNING: ThreadSanitizer" "$logdir/$u.log" | head -60; failed=$((failed + 1))
	fi
done
# an end-to-end suite fails on a report in cobble's log (common.sh's stop_cobble looks for one)
for e in $COBBLE_TSAN_E2E; do
	log=$logdir/$e.log
	if COBBLE_BIN=$PWD/$b/cobble timeout 600 unshare -n bash -c 'ip link set lo up && exec bash "$0"' \
		"test/e2e/$e.sh" >"$log" 2>&1; then
		echo "PASS e2e/$e"; passed=$((passed + 1))
	else
		echo "FAIL e2e/$e"; grep '^not ok' -A30 "$log" | head -80; failed=$((failed + 1))
	fi
done
[ "$failed" -eq 0 ] && rm -rf "$logdir" || echo "logs in $logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
