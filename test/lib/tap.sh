# TAP lines and waiting, for every test script (source it): test/lib/common.sh (the end-to-end
# suites) and test/docker-test.sh. Each script prints
#   ok - name      not ok - name      ok - name # SKIP reason
# and counts them in _passes and _fails.
_fails=0
_passes=0

ok() { echo "ok - $*"; _passes=$((_passes + 1)); }
notok() { echo "not ok - $*"; _fails=$((_fails + 1)); }
skip() { echo "ok - $1 # SKIP $2"; }
# check NAME CMD...: run CMD, ok when it exits 0 (its output goes to the log on failure).
check() {
	local name=$1; shift
	local out
	if out=$("$@" 2>&1); then ok "$name"; else notok "$name"; echo "$out" | sed 's/^/    # /' | tail -n 40; fi
}

# show FILE...: the files as TAP diagnostics.
show() { local f; for f in "$@"; do [ -s "$f" ] && sed 's/^/    #   /' "$f" | head -40; done; }

# wait_for SECONDS CMD...: poll CMD every WAIT_FOR_POLL seconds (default 0.1) until it succeeds.
wait_for() {
	local deadline=$(( $(date +%s) + $1 )); shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep "${WAIT_FOR_POLL:-0.1}"
	done
}
