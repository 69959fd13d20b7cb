#!/usr/bin/env bash
# knot-txt.sh: add or remove one _acme-challenge TXT record in a Knot DNS zone with knotc, and
# return only once the change is served (or fail after 15 s). The DNS half of every dns-01 hook
# in test/e2e/matrix.sh; usable on its own:
#
#   knot-txt.sh set   FQDN VALUE     (alias: present, lego's exec provider's verb)
#   knot-txt.sh unset FQDN VALUE     (alias: cleanup)
#
# So EXEC_PATH=knot-txt.sh is a complete lego exec provider. FQDN may end with a dot.
# Environment: KNOT_DIR (holds knot.conf and knot.sock, as test/lib/knot.sh lays them out; or set
# KNOT_CONF and KNOT_SOCK), KNOT_PORT (the port knotd answers on at 127.0.0.1), KNOT_ZONE (the
# zone to change; default: the longest suffix of FQDN that knotd serves), KNOT_TTL (default 60),
# KNOT_HOOK_LOG (optional: one line per change is appended).
set -u
die() { echo "knot-txt.sh: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: knot-txt.sh set|unset FQDN VALUE"
verb=$1 fqdn=${2%.}. value=$3
conf=${KNOT_CONF:-${KNOT_DIR:?KNOT_DIR or KNOT_CONF is required}/knot.conf}
sock=${KNOT_SOCK:-${KNOT_DIR:?KNOT_DIR or KNOT_SOCK is required}/knot.sock}
port=${KNOT_PORT:?KNOT_PORT is required}
kc() { knotc -c "$conf" -s "$sock" -t 10 "$@"; }

case $verb in
set | present) op="zone-set" ;;
unset | cleanup) op="zone-unset" ;;
*) die "unknown verb $verb (set, unset, present, cleanup)" ;;
esac

zone=${KNOT_ZONE:-}
if [ -z "$zone" ]; then
	z=${fqdn%.}
	while [ -n "$z" ]; do
		if kc zone-status "$z" >/dev/null 2>&1; then zone=$z; break; fi
		[ "$z" = "${z#*.}" ] && break
		z=${z#*.}
	done
	[ -n "$zone" ] || die "knotd serves no zone above $fqdn"
fi

# served: does knotd answer VALUE among the TXT strings of FQDN? (kdig +short quotes each string)
served() { kdig @127.0.0.1 -p "$port" +time=1 +retry=0 +short "$fqdn" TXT | grep -qxF "\"$value\""; }

# One transaction at a time (clients may run hooks in parallel; knotc allows one per zone).
exec 9>>"${KNOT_DIR:-/tmp}/knot-txt.lock"
flock -w 30 9 || die "could not lock ${KNOT_DIR:-/tmp}/knot-txt.lock in 30 s"
kc zone-begin "$zone" >/dev/null || die "knotc zone-begin $zone failed"
if [ $op = zone-set ]; then
	out=$(kc zone-set "$zone" "$fqdn" "${KNOT_TTL:-60}" TXT "\"$value\"" 2>&1)
else
	out=$(kc zone-unset "$zone" "$fqdn" TXT "\"$value\"" 2>&1)
fi
rc=$?
# unsetting a record that is not there is not an error for a cleanup hook
if [ $rc -ne 0 ] && ! { [ $op = zone-unset ] && echo "$out" | grep -qi 'no such'; }; then
	kc zone-abort "$zone" >/dev/null 2>&1
	die "knotc $op $zone $fqdn: $out"
fi
out=$(kc zone-commit "$zone" 2>&1) || { kc zone-abort "$zone" >/dev/null 2>&1; die "knotc zone-commit $zone: $out"; }
flock -u 9

for _ in $(seq 150); do
	if [ $op = zone-set ]; then served && break; else served || break; fi
	sleep 0.1
done
if [ $op = zone-set ]; then served || die "$fqdn TXT \"$value\" is not served after 15 s"; fi
if [ $op = zone-unset ] && served; then die "$fqdn TXT \"$value\" is still served after 15 s"; fi
[ -n "${KNOT_HOOK_LOG:-}" ] && echo "$verb $fqdn $value" >>"$KNOT_HOOK_LOG"
exit 0
