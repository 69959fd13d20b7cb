#!/bin/sh
# Writes /etc/knot/knot.conf and a minimal zone (SOA and NS only) for each name in KNOT_ZONES
# (spaces or commas between them), then runs knotd in the foreground; knotd drops to the knot
# user once port 53 is bound. Zones are unsigned; changes live in the journal (no zone-file
# rewrites). Dynamic updates (nsupdate, no TSIG) are allowed from loopback and private
# addresses, which is where a published port's traffic comes from.
# Add a record:  knotc zone-begin Z && knotc zone-set Z OWNER TTL TYPE RDATA && knotc zone-commit Z
set -eu

zones=$(echo "${KNOT_ZONES:-example.test}" | tr ',' ' ')
listen=${KNOT_LISTEN:-0.0.0.0@53}

mkdir -p /var/lib/knot/zones /run/knot
{
	cat <<CONF
server:
    listen: $listen
    rundir: /run/knot
    user: knot:knot
    identity: cobble-knot
log:
  - target: stdout
    any: info
database:
    storage: /var/lib/knot
control:
    listen: /run/knot/knot.sock
acl:
  - id: update
    address: [127.0.0.0/8, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, ::1/128, fc00::/7]
    action: update
template:
  - id: default
    storage: /var/lib/knot/zones
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    semantic-checks: off
    acl: update
zone:
CONF
	for z in $zones; do
		echo "  - domain: ${z%.}"
	done
} >/etc/knot/knot.conf

for z in $zones; do
	z=${z%.}
	f=/var/lib/knot/zones/$z.zone
	[ -e "$f" ] || cat >"$f" <<ZONE
\$ORIGIN $z.
\$TTL 300
@ SOA ns.cobble.invalid. hostmaster.cobble.invalid. 1 3600 900 604800 60
@ NS ns.cobble.invalid.
ZONE
done
chown -R knot:knot /var/lib/knot /run/knot

[ $# -gt 0 ] && exec "$@"
exec knotd -c /etc/knot/knot.conf
