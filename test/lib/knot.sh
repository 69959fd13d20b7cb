# knot.sh: a private Knot DNS on a loopback port for the end-to-end tests (source it after
# common.sh). Everything (config, zones, journal, DNSSEC keys, control socket, log) lives under
# $T/knot; knotd runs as the current user in the foreground of a background job, never the
# system's knotd (no /etc/knot, no /var/lib/knot, no system control socket).
#
#   knot_start ZONE...            serve ZONE... unsigned (starts knotd, or adds zones to it)
#   knot_start_signed ZONE...     the same, with automatic DNSSEC signing (one ECDSA P-256 CSK)
#   knot_set ZONE OWNER TTL TYPE RDATA...   add a record; returns once it is served
#   knot_unset ZONE OWNER [TYPE [RDATA...]] remove records; returns once it is served
#   knot_trust_anchor ZONE FILE   the zone's DS RRs in zone-file format, a common/dns trust anchor
#   knot_dig ARGS...              kdig against the private knotd
# Exports KNOT_PORT (UDP and TCP on 127.0.0.1) and KNOT_DIR.

KNOT_DIR=$T/knot
KNOT_PORT=${KNOT_PORT:-}
KNOT_PID=
_knot_zones=()
_knot_signed=()

knot_dig() { kdig @127.0.0.1 -p "$KNOT_PORT" +time=2 +retry=1 "$@"; }
_knotc() { knotc -c "$KNOT_DIR/knot.conf" -s "$KNOT_DIR/knot.sock" -t 10 "$@"; }

# Zone file with an SOA and an NS (outside the zone, so no glue is needed) and nothing else.
_knot_zone_file() {
	local z=$1
	cat >"$KNOT_DIR/zones/$z.zone" <<-EOF
	\$ORIGIN $z.
	\$TTL 300
	@ SOA ns.cobble.invalid. hostmaster.cobble.invalid. 1 3600 900 604800 60
	@ NS ns.cobble.invalid.
	EOF
}

_knot_conf() {
	local i
	{
		cat <<-EOF
		server:
		    rundir: "$KNOT_DIR/run"
		    listen: 127.0.0.1@$KNOT_PORT
		    identity: cobble-test
		log:
		  - target: "$KNOT_DIR/knotd.log"
		    any: info
		database:
		    storage: "$KNOT_DIR/db"
		control:
		    listen: "$KNOT_DIR/knot.sock"
		policy:
		  - id: cobble
		    algorithm: ecdsap256sha256
		    single-type-signing: on
		    nsec3: off
		template:
		  - id: default
		    storage: "$KNOT_DIR/zones"
		    file: "%s.zone"
		    zonefile-sync: -1
		    zonefile-load: whole
		    journal-content: changes
		    semantic-checks: off
		zone:
		EOF
		for i in "${!_knot_zones[@]}"; do
			echo "  - domain: ${_knot_zones[$i]}"
			if [ "${_knot_signed[$i]}" = 1 ]; then
				echo "    dnssec-signing: on"
				echo "    dnssec-policy: cobble"
			fi
		done
	} >"$KNOT_DIR/knot.conf"
}

# _knot_serving ZONE SIGNED: the zone answers SOA (and, when signed, DNSKEY).
_knot_serving() {
	local out
	out=$(knot_dig +short "$1" SOA 2>/dev/null) && [ -n "$out" ] || return 1
	[ "$2" = 1 ] || return 0
	out=$(knot_dig +short "$1" DNSKEY 2>/dev/null) && [ -n "$out" ]
}

_knot_add() {
	local signed=$1; shift
	[ $# -gt 0 ] || { echo "# knot_start: no zone given" >&2; return 1; }
	local z zones=()
	for z in "$@"; do
		z=${z%.}
		_knot_zones+=("$z"); _knot_signed+=("$signed"); zones+=("$z")
	done
	mkdir -p "$KNOT_DIR/zones" "$KNOT_DIR/db" "$KNOT_DIR/run"
	for z in "${zones[@]}"; do _knot_zone_file "$z"; done
	if [ -z "$KNOT_PID" ]; then
		KNOT_PORT=$(free_port)
		_knot_conf
		knotd -c "$KNOT_DIR/knot.conf" >>"$KNOT_DIR/knotd.out" 2>&1 &
		KNOT_PID=$!
		_pids+=("$KNOT_PID")
		export KNOT_PORT KNOT_DIR
	else
		_knot_conf
		_knotc reload >/dev/null || { echo "# knotc reload failed" >&2; return 1; }
	fi
	for z in "${zones[@]}"; do
		if ! wait_for 30 _knot_serving "$z" "$signed"; then
			echo "# knotd does not serve $z; its log:" >&2
			sed 's/^/#   /' "$KNOT_DIR/knotd.log" "$KNOT_DIR/knotd.out" 2>/dev/null | tail -30 >&2
			return 1
		fi
	done
}

knot_start() { _knot_add 0 "$@"; }
knot_start_signed() { _knot_add 1 "$@"; }

_knot_serial() { knot_dig +short "$1" SOA 2>/dev/null | awk '{print $3}'; }
_knot_serial_not() { local s; s=$(_knot_serial "$1"); [ -n "$s" ] && [ "$s" != "$2" ]; }

# _knot_txn ZONE CMD ARGS...: one transaction with one change; waits until the new serial is served.
_knot_txn() {
	local z=${1%.}; shift
	local cmd=$1; shift
	local before out
	before=$(_knot_serial "$z")
	_knotc zone-begin "$z" >/dev/null || return 1
	if ! out=$(_knotc "$cmd" "$z" "$@" 2>&1); then
		echo "# knotc $cmd $z $*: $out" >&2
		_knotc zone-abort "$z" >/dev/null 2>&1
		return 1
	fi
	if ! out=$(_knotc zone-commit "$z" 2>&1); then
		echo "# knotc zone-commit $z: $out" >&2
		_knotc zone-abort "$z" >/dev/null 2>&1
		return 1
	fi
	wait_for 10 _knot_serial_not "$z" "$before"
}

knot_set() { [ $# -ge 5 ] || { echo "# usage: knot_set ZONE OWNER TTL TYPE RDATA..." >&2; return 2; }; _knot_txn "$1" zone-set "${@:2}"; }
knot_unset() { [ $# -ge 2 ] || { echo "# usage: knot_unset ZONE OWNER [TYPE [RDATA...]]" >&2; return 2; }; _knot_txn "$1" zone-unset "${@:2}"; }

# knot_trust_anchor ZONE FILE: the DS RRs of the zone's signing key, one per line, zone-file format.
knot_trust_anchor() {
	local z=${1%.} f=$2 out
	out=$(keymgr -c "$KNOT_DIR/knot.conf" "$z" ds 2>&1) || { echo "# keymgr $z ds: $out" >&2; return 1; }
	printf '%s\n' "$out" | grep -E '[[:space:]]DS[[:space:]]' >"$f" || { echo "# keymgr gave no DS for $z: $out" >&2; return 1; }
}
