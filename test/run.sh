#!/usr/bin/env bash
# cobble's test runner: every unit binary and every end-to-end script, for each build directory
# given (e.g. `build build-asan`). Results are TAP lines ("ok - …" / "not ok - …"); an end-to-end
# script runs inside a private network namespace (unshare -n, lo up) so nothing leaves the machine.
# The last line is the summary: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
builds=("$@")
[ ${#builds[@]} -eq 0 ] && builds=(build)
passed=0 failed=0 skipped=0
failures=()
logdir=$(mktemp -d /tmp/cobble-test.XXXXXX)

count() { # $1 label, $2 log file, $3 exit status
	local p f
	p=$(grep -cE '^ok ' "$2" || true)
	f=$(grep -cE '^not ok ' "$2" || true)
	local s
	s=$(grep -cE '^ok .*# SKIP' "$2" || true)
	p=$((p - s))
	if [ "$3" -ne 0 ] && [ "$3" -ne 77 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $1 exited with status $3" >>"$2"
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$f" -gt 0 ]; then
		failures+=("$1")
		echo "FAIL $1 ($p passed, $f failed) — log:"
		sed 's/^/    /' "$2" | tail -n 60
	else
		if [ "$s" -gt 0 ]; then echo "PASS $1 ($p passed, $s skipped)"; else echo "PASS $1 ($p passed)"; fi
	fi
}

for b in "${builds[@]}"; do
	export COBBLE_BUILD="$b" COBBLE_BIN="$PWD/$b/cobble"
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
	for t in "$b"/test/test_*; do
		[ -x "$t" ] || continue
		name="$b/unit/$(basename "$t")"
		log="$logdir/$(echo "$name" | tr / _).log"
		CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$log" 2>&1
		count "$name" "$log" $?
	done
	for t in test/e2e/*.sh; do
		[ -f "$t" ] || continue
		name="$b/e2e/$(basename "$t" .sh)"
		log="$logdir/$(echo "$name" | tr / _).log"
		if [ "${COBBLE_NO_NETNS:-0}" = 1 ]; then
			timeout 600 bash "$t" >"$log" 2>&1
		else
			timeout 600 unshare -n bash -c 'ip link set lo up && exec bash "$0"' "$t" >"$log" 2>&1
		fi
		count "$name" "$log" $?
	done
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]} (logs in $logdir)"
else
	rm -rf "$logdir"
fi
if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
[ "$failed" -eq 0 ]
