#!/usr/bin/env bash
# cobble's test runner: every unit binary and every end-to-end script, for each build directory
# given (e.g. `build build-asan`), COBBLE_TEST_JOBS at a time (default: the number of cores).
# Results are TAP lines ("ok - …" / "not ok - …"). An end-to-end script runs in a private network
# namespace with only lo up, so nothing leaves the machine: `unshare -n` as root, `unshare -rn` (a
# user namespace) as another user where the kernel allows it; where it allows neither, or with
# COBBLE_NO_NETNS=1, on this machine's loopback with free ports. The runner says which, first and
# next to last. The last line is the summary: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
builds=("$@")
[ ${#builds[@]} -eq 0 ] && builds=(build)
jobs=${COBBLE_TEST_JOBS:-$(nproc)}
logdir=$(mktemp -d /tmp/cobble-test.XXXXXX)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# netns_mode: how the end-to-end suites are isolated (netns, userns or ports), and why, in
# $mode and $mode_text.
netns_mode() {
	local why
	if [ "${COBBLE_NO_NETNS:-0}" = 1 ]; then
		mode=ports why="COBBLE_NO_NETNS=1"
	elif unshare -n sh -c 'ip link set lo up' 2>/dev/null; then
		mode=netns mode_text="each in its own network namespace (unshare -n), loopback only"
		return
	elif unshare -rn sh -c 'ip link set lo up' 2>/dev/null; then
		mode=userns
		mode_text="each in its own network namespace inside a user namespace (unshare -rn, not root), loopback only"
		return
	else
		mode=ports why="this kernel lets this user make no network namespace: $(unshare -rn true 2>&1 | head -1)"
	fi
	mode_text="on this machine's loopback with free ports, no network namespace ($why)"
}
netns_mode
echo "end-to-end suites: $mode_text"

# run_one NAME BUILD KIND PATH: run one suite, leave its log and exit status in $logdir.
run_one() {
	local name=$1 b=$2 kind=$3 path=$4 log rc
	log="$logdir/$(echo "$name" | tr / _)"
	export COBBLE_BUILD="$b" COBBLE_BIN="$PWD/$b/cobble"
	if [ "$kind" = unit ]; then
		CMOCKA_MESSAGE_OUTPUT=TAP "$path" >"$log.log" 2>&1
	elif [ "$kind" = check ]; then
		python3 "$path" >"$log.log" 2>&1
	elif [ "$mode" = ports ]; then
		timeout 600 bash "$path" >"$log.log" 2>&1
	else
		local ns=-n
		[ "$mode" = userns ] && ns=-rn
		timeout 600 unshare "$ns" bash -c 'ip link set lo up && exec bash "$0"' "$path" >"$log.log" 2>&1
	fi
	rc=$?
	echo "$rc" >"$log.rc"
}

tasks=()
for b in "${builds[@]}"; do
	for t in "$b"/test/test_*; do
		[ -x "$t" ] && tasks+=("$b/unit/$(basename "$t")|$b|unit|$t")
	done
	for t in test/e2e/*.sh; do
		[ -f "$t" ] && tasks+=("$b/e2e/$(basename "$t" .sh)|$b|e2e|$t")
	done
done

# checks of the source tree itself (e.g. the layering HACKING.md describes): once, not per build
for t in test/check/*.py; do
	[ -f "$t" ] && tasks+=("check/$(basename "$t" .py)|${builds[0]}|check|$t")
done

running=0
for task in "${tasks[@]}"; do
	IFS='|' read -r name b kind path <<<"$task"
	run_one "$name" "$b" "$kind" "$path" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

passed=0 failed=0 skipped=0
failures=()
for task in "${tasks[@]}"; do
	IFS='|' read -r name _ _ _ <<<"$task"
	log="$logdir/$(echo "$name" | tr / _)"
	rc=$(cat "$log.rc" 2>/dev/null || echo 1)
	[ -f "$log.log" ] || echo "not ok - $name left no log" >"$log.log"
	p=$(grep -cE '^ok ' "$log.log" || true)
	f=$(grep -cE '^not ok ' "$log.log" || true)
	s=$(grep -cE '^ok .*# SKIP' "$log.log" || true)
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log.log"
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$f" -gt 0 ]; then
		failures+=("$name")
		echo "FAIL $name ($p passed, $f failed) — log:"
		sed 's/^/    /' "$log.log" | tail -n 60
	elif [ "$s" -gt 0 ]; then
		echo "PASS $name ($p passed, $s skipped)"
		grep -E '^ok .*# SKIP' "$log.log" | sed 's/^/    /'
	else
		echo "PASS $name ($p passed)"
	fi
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]} (logs in $logdir)"
else
	rm -rf "$logdir"
fi
echo "end-to-end suites ran $mode_text"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
