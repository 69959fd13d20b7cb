# Parallel one-order ACME runs with test/e2e/acme_challenge.py (Debian's python3-acme), for
# suites that start several validations at once (source after common.sh):
#   acme_start TAG TYPE IDENT [client args]  start the client; returns once it printed the
#                                           challenge (TAG_TOKEN, TAG_KA, TAG_DNSV set via
#                                           acme_field TAG token|key_authz|dns_value)
#   acme_go TAG                             let it answer the challenge
#   acme_wait TAG                           wait for it; the outcome is $T/TAG.json
ACME_PY=/usr/bin/python3 # Debian's interpreter: python3-acme is not in a pyenv
ACME_CLIENT=$ROOT/test/e2e/acme_challenge.py
declare -A _acme_pid _acme_fd

acme_start() {
	local tag=$1 type=$2 ident=$3; shift 3
	local d=$T/$tag w
	mkdir -p "$d"
	mkfifo "$d/go"
	exec {w}<>"$d/go" # opened read-write, so neither side blocks on open
	_acme_fd[$tag]=$w
	"$ACME_PY" "$ACME_CLIENT" --dir "$DIR_URL" --ca "$CA_BUNDLE" --type "$type" --ident "$ident" --out "$d" "$@" \
		<"$d/go" >"$d/out" 2>"$d/err" &
	_acme_pid[$tag]=$!
	local deadline=$(($(date +%s) + 30))
	until grep -q '"token"' "$d/out" 2>/dev/null; do
		if ! kill -0 "${_acme_pid[$tag]}" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
			return 1
		fi
		sleep 0.05
	done
}

acme_field() { head -1 "$T/$1/out" | jq -r ".$2"; }

acme_go() { echo go >&"${_acme_fd[$1]}"; }

acme_wait() {
	local tag=$1
	local w=${_acme_fd[$tag]}
	wait "${_acme_pid[$tag]}" 2>/dev/null
	exec {w}>&-
	sed -n 2p "$T/$tag/out" >"$T/$tag.json"
	[ -s "$T/$tag.json" ] || echo '{}' >"$T/$tag.json"
}

# extra diagnostics for common.sh's jq_ok: the client's errors and the validation log lines
jq_ok_more() {
	show "$T/$1/err"
	grep -E "validation .*" "$COBBLE_LOG" | tail -5 | sed 's/^/    #   log: /'
}

# acme_need SUITE TOOL...: skip the whole suite (exit 0) unless the tools, python3-acme and the
# cobble binary are there.
acme_need() {
	local suite=$1 tool; shift
	for tool in "$@" "$ACME_PY"; do
		command -v "$tool" >/dev/null || { skip "$suite end-to-end" "$tool is not installed"; exit 0; }
	done
	"$ACME_PY" -c 'import acme.client, josepy' 2>/dev/null ||
		{ skip "$suite end-to-end" "python3-acme is not installed for $ACME_PY"; exit 0; }
	[ -x "$COBBLE_BIN" ] || { notok "cobble binary $COBBLE_BIN exists"; exit 1; }
}
