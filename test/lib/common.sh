# Shared helpers for the end-to-end scripts (source it). Each script prints TAP lines (ok, notok,
# skip, check and wait_for are in tap.sh) and exits 0 when all passed (1 otherwise). Everything
# runs on loopback inside the runner's private network namespace; each script gets its own
# scratch directory in $T.
set -u
# knotd, knotc and friends live in /usr/sbin, which is not on an ordinary user's PATH on Debian
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin ;; esac
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SHARED=${COBBLE_SHARED:-$ROOT/../shared}
COBBLE_BIN=${COBBLE_BIN:-$ROOT/build/cobble}
T=$(mktemp -d /tmp/cobble-e2e.XXXXXX)
_pids=()
. "$ROOT/test/lib/tap.sh"

# jq 1.6 with -e exits 0 when its input file is empty, so a check on the output of a command that
# printed nothing would pass. Here an empty or missing input file is a failure (exit 4, jq's own
# "no result" status).
jq() {
	local a last=""
	for a in "$@"; do last=$a; done
	case " $* " in
	*" -e "*)
		if [ -n "$last" ] && [ "${last#-}" = "$last" ] && [ -e "$last" ] && [ ! -s "$last" ]; then
			echo "jq: $last is empty" >&2
			return 4
		fi ;;
	esac
	command jq "$@"
}

# jq_ok NAME TAG EXPR [JQ-ARGS...]: a TAP line for jq EXPR on $T/TAG.json; on failure shows the
# JSON and $T/TAG.err, then calls jq_ok_more TAG when the script defines it.
jq_ok() {
	local name=$1 tag=$2 expr=$3; shift 3
	if jq -e "$@" "$expr" "$T/$tag.json" >/dev/null 2>&1; then
		ok "$name"
	else
		notok "$name"
		echo "    # wanted: $expr"
		show "$T/$tag.json" "$T/$tag.err"
		if declare -F jq_ok_more >/dev/null; then jq_ok_more "$tag"; fi
	fi
}

# A free TCP port on 127.0.0.1 (asks the kernel; tiny race accepted in tests).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

bg() { "$@" & _pids+=($!); }

# start_cobble [ENV=VAL ...] -- [cobble args]: writes a config for free ports and starts it.
# Sets ACME_PORT, MGMT_PORT, DIR_URL, CA_BUNDLE, COBBLE_LOG, COBBLE_PID.
start_cobble() {
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
	[ "${1:-}" = "--" ] && shift
	ACME_PORT=$(free_port); MGMT_PORT=$(free_port)
	CA_BUNDLE=$T/cobble-ca.pem
	COBBLE_LOG=$T/cobble.log
	rm -f "$CA_BUNDLE"
	env "${envs[@]}" "$COBBLE_BIN" -listen "127.0.0.1:$ACME_PORT" -management "127.0.0.1:$MGMT_PORT" \
		-ca-bundle-out "$CA_BUNDLE" "$@" >>"$COBBLE_LOG" 2>&1 &
	COBBLE_PID=$!
	_pids+=($COBBLE_PID)
	DIR_URL="https://localhost:$ACME_PORT/dir"
	if ! wait_for 20 curl -sf --cacert "$CA_BUNDLE" "$DIR_URL"; then
		echo "# cobble did not start; its log:"; sed 's/^/#   /' "$COBBLE_LOG"
		return 1
	fi
}

# stop_cobble: SIGTERM, wait, and fail the script if the process reported a sanitizer error.
stop_cobble() {
	[ -n "${COBBLE_PID:-}" ] || return 0
	kill -TERM "$COBBLE_PID" 2>/dev/null
	local rc=0
	wait "$COBBLE_PID" 2>/dev/null || rc=$?
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$COBBLE_LOG"; then
		notok "cobble ran clean under sanitizers"
		grep -A30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$COBBLE_LOG" | sed 's/^/    # /' | head -60
	elif [ "$rc" -ne 0 ]; then
		notok "cobble exited cleanly on SIGTERM (status $rc)"
		tail -20 "$COBBLE_LOG" | sed 's/^/    # /'
	fi
	COBBLE_PID=
}

mgmt() { curl -sS --cacert "$CA_BUNDLE" "https://localhost:$MGMT_PORT$1"; }

# py_tap SCRIPT PART [ARGS...]: a Python TAP client in test/e2e (Debian's python3) against the
# running cobble; its TAP lines go to our output.
py_tap() {
	local script=$1 part=$2; shift 2
	/usr/bin/python3 "$ROOT/test/e2e/$script" --part "$part" "$@" "$DIR_URL" "$CA_BUNDLE" "https://localhost:$MGMT_PORT"
	local rc=$?
	# 1 = some check printed "not ok"; anything else non-zero is a crash without a TAP line
	[ "$rc" -eq 0 ] || _fails=$((_fails + 1))
	[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || notok "$script --part $part ran to the end (exit $rc)"
}

finish() {
	stop_cobble
	for p in "${_pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ "${KEEP_T:-0}" = 1 ] || rm -rf "$T"
	[ "$_fails" -eq 0 ]
}
trap 'finish; exit $?' EXIT
