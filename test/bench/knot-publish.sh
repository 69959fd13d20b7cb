#!/usr/bin/env bash
# knot-publish.sh KNOT_CONF KNOT_SOCKET ZONE FILE: publish the records in FILE (lines
# "OWNER TTL TYPE RDATA", as loadgen --persist-hook writes them) into ZONE on a running knotd, in
# one transaction, and return once the new serial is served. The load generator's hook for
# dns-persist-01 runs (test/e2e/loadgen.sh, scripts/bench.sh).
set -euo pipefail
conf=$1 sock=$2 zone=$3 file=$4
k() { knotc -c "$conf" -s "$sock" -t 10 "$@"; }
port=$(awk '/listen:/ && /@/ {sub(/.*@/, ""); print; exit}' "$conf")
serial() { kdig @127.0.0.1 -p "$port" +time=2 +retry=1 +short "$zone" SOA | awk '{print $3}'; }
before=$(serial)
k zone-begin "$zone" >/dev/null
while read -r owner ttl type rdata; do
	if ! k zone-set "$zone" "$owner" "$ttl" "$type" "$rdata" >/dev/null; then
		k zone-abort "$zone" >/dev/null 2>&1
		exit 1
	fi
done <"$file"
k zone-commit "$zone" >/dev/null
for _ in $(seq 100); do
	[ "$(serial)" != "$before" ] && exit 0
	sleep 0.1
done
echo "knot-publish: $zone still serves serial $before" >&2
exit 1
