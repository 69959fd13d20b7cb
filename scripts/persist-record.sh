#!/usr/bin/env bash
# persist-record.sh: publish (or remove) a dns-persist-01 record in the Knot DNS container of
# docker/compose.yaml, from the host.
#
#   scripts/persist-record.sh [--zone ZONE] [--replace] NAME ACCOUNT_URL [cobble record options]
#   scripts/persist-record.sh [--zone ZONE] --delete NAME
#
#   NAME          the identifier to authorize (www.example.test, or *.example.test for a wildcard)
#   ACCOUNT_URL   the ACME account's URL, exactly as the client sees it
#                 (e.g. https://localhost:14000/acme/acct/3e45fbfb8f72ec9c)
#   options       passed to `cobble record`: --wildcard, --persist-until T, --ttl S, --issuer N,
#                 --draft 02 --account-key FILE (a path inside the cobble container) ...
#   --zone ZONE   the zone to edit (default: the longest zone Knot serves that contains the name)
#   --replace     remove the name's other TXT records first (e.g. those for an account that
#                 disappeared when cobble restarted)
#   --delete      remove every TXT record at _validation-persist.NAME
#
# The record is the one `cobble record` prints, run in the cobble container (or, without one, the
# host's build/cobble). It is added with knotc in the Knot container (one transaction) and the
# script returns once Knot serves it.
# Environment: COBBLE_ENGINE (docker or podman; default docker when installed, else podman),
# COMPOSE_PROJECT_NAME (to choose among several running compose projects), COBBLE_DNS_CONTAINER
# and COBBLE_CONTAINER (container names, instead of finding them by their compose labels).
# Without this script: `knsupdate`/`nsupdate` against 127.0.0.1:15353 (see docker/compose.yaml).
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
die() { echo "persist-record: $*" >&2; exit 1; }

zone='' replace=0 delete=0
while [ $# -gt 0 ]; do
	case $1 in
	--zone) [ $# -ge 2 ] || usage; zone=${2%.}; shift 2 ;;
	--zone=*) zone=${1#*=}; zone=${zone%.}; shift ;;
	--replace) replace=1; shift ;;
	--delete) delete=1; shift ;;
	-h | --help) usage ;;
	--) shift; break ;;
	*) break ;;
	esac
done
if [ "$delete" = 1 ]; then [ $# -eq 1 ] || usage; else [ $# -ge 2 ] || usage; fi
name=$1
shift

engine=${COBBLE_ENGINE:-}
if [ -z "$engine" ]; then
	if command -v docker >/dev/null 2>&1; then engine=docker
	elif command -v podman >/dev/null 2>&1; then engine=podman
	else die "neither docker nor podman is installed (set COBBLE_ENGINE)"; fi
fi
eng() { timeout 30 "$engine" "$@"; }

# find SERVICE: the one running container of that compose service (in COMPOSE_PROJECT_NAME if set).
find_container() {
	local svc=$1 ids id proj found=()
	ids=$(eng ps -q --filter "label=com.docker.compose.service=$svc") || die "$engine ps failed"
	for id in $ids; do
		proj=$(eng inspect -f '{{ index .Config.Labels "com.docker.compose.project" }}' "$id" 2>/dev/null) || continue
		[ -n "${COMPOSE_PROJECT_NAME:-}" ] && [ "$proj" != "$COMPOSE_PROJECT_NAME" ] && continue
		found+=("$id")
	done
	case ${#found[@]} in
	1) echo "${found[0]}" ;;
	0) return 1 ;;
	*) die "several running '$svc' services; set COMPOSE_PROJECT_NAME or COBBLE_DNS_CONTAINER/COBBLE_CONTAINER" ;;
	esac
}

knot=${COBBLE_DNS_CONTAINER:-}
[ -n "$knot" ] || knot=$(find_container knot) ||
	die "no running Knot container (start docker/compose.yaml, or set COBBLE_DNS_CONTAINER)"
knotc() { eng exec "$knot" knotc -t 10 "$@"; }

fqdn=${name#\*.}
fqdn=${fqdn%.}
owner=_validation-persist.$fqdn.

if [ -z "$zone" ]; then
	# conf-read prints "zone.domain = a.test. b.test." (one line or several)
	zones=$(knotc conf-read zone.domain | sed 's/^zone\.domain = //' | tr ' ' '\n' | sed -n 's/\.$//p')
	for z in $zones; do
		case .$fqdn in *."$z") if [ ${#z} -gt ${#zone} ]; then zone=$z; fi ;; esac
	done
	[ -n "$zone" ] || die "Knot serves no zone containing $fqdn (it serves: $(echo $zones)); set KNOT_ZONES"
fi

# txn CMD ARGS...: one knotc change in its own transaction.
txn() {
	knotc zone-begin "$zone" >/dev/null || die "knotc zone-begin $zone failed"
	if ! knotc "$@" >/dev/null; then
		knotc zone-abort "$zone" >/dev/null 2>&1 || true
		die "knotc $1 failed"
	fi
	knotc zone-commit "$zone" >/dev/null || { knotc zone-abort "$zone" >/dev/null 2>&1 || true; die "knotc zone-commit failed"; }
}

# where Knot listens ("server.listen = 0.0.0.0@53 ..."), to ask it what it serves
listen=$(knotc conf-read server.listen | sed -n '1s/^server\.listen = \([^ ]*\).*/\1/p')
kport=${listen##*@}
kaddr=${listen%@*}
case $kaddr in 0.0.0.0 | '') kaddr=127.0.0.1 ;; :: | ::0) kaddr=::1 ;; esac
case $kport in '' | *[!0-9]*) kport=53 ;; esac
served() { eng exec "$knot" kdig "@$kaddr" -p "$kport" +short +time=1 +retry=1 "$owner" TXT; }

if [ "$delete" = 1 ]; then
	if [ -n "$(served)" ]; then txn zone-unset "$zone" "$owner" TXT; fi
	for _ in $(seq 1 20); do [ -z "$(served)" ] && { echo "removed the TXT records at $owner"; exit 0; }; sleep 0.5; done
	die "Knot still serves TXT records at $owner"
fi

account_url=$1
shift
args=(record --identifier "$name" --account-url "$account_url" --zone "$zone" "$@")
cobble=${COBBLE_CONTAINER:-}
[ -n "$cobble" ] || cobble=$(find_container cobble) || cobble=
if [ -n "$cobble" ]; then
	out=$(eng exec "$cobble" cobble "${args[@]}") || die "cobble record failed"
elif [ -x "$(dirname "$0")/../build/cobble" ]; then
	out=$(timeout 30 "$(dirname "$0")/../build/cobble" "${args[@]}") || die "cobble record failed"
else
	die "no running cobble container and no build/cobble to print the record"
fi
# "Zone file:" is followed by "  OWNER. TTL IN TXT "..." ["..."]"
line=$(printf '%s\n' "$out" | sed -n '/^Zone file:/{n;p;q}')
read -r r_owner r_ttl r_class r_type r_txt <<<"$line"
[ "$r_owner" = "$owner" ] && [ "$r_class $r_type" = "IN TXT" ] && [ -n "$r_txt" ] ||
	die "unexpected output of cobble record: $out"
value=$(printf '%s\n' "$out" | sed -n 's/^  value: //p')

if [ "$replace" = 1 ] && [ -n "$(served)" ]; then txn zone-unset "$zone" "$owner" TXT; fi
txn zone-set "$zone" "$owner" "$r_ttl" TXT "$r_txt"
for _ in $(seq 1 20); do
	if served | sed 's/" "//g; s/"//g' | grep -qxF "$value"; then
		echo "published in zone $zone: $owner $r_ttl TXT $r_txt"
		exit 0
	fi
	sleep 0.5
done
die "Knot does not serve the new record at $owner"
