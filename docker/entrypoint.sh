#!/bin/sh
# cobble's container entry point. Runs cobble with the arguments given (flags, or a subcommand:
# record, check-record, dig); anything else (sh, cat ...) runs as a plain command.
# cobble's validators take resolver addresses only, so a name in "-dnsserver NAME:PORT" or
# "--resolver NAME:PORT" (a compose service, e.g. knot:53) is resolved here first, waiting up to
# COBBLE_RESOLVE_WAIT seconds (default 30) for the name to appear.
set -eu

case "${1:-}" in
'' | -* | record | check-record | dig) ;;
*) exec "$@" ;;
esac

resolve() { # HOST:PORT or HOST -> ADDRESS:PORT or ADDRESS (address literals unchanged)
	hp=$1
	case $hp in
	\[* | *:*:*) echo "$hp"; return ;; # IPv6
	*:*) host=${hp%:*} port=:${hp##*:} ;;
	*) host=$hp port= ;;
	esac
	case $host in
	*[!0-9.]* | '') ;;
	*) echo "$hp"; return ;; # IPv4
	esac
	i=0
	while :; do
		addr=$(getent ahostsv4 "$host" 2>/dev/null | awk 'NR == 1 { print $1 }')
		[ -n "$addr" ] && break
		i=$((i + 1))
		if [ "$i" -ge "${COBBLE_RESOLVE_WAIT:-30}" ]; then
			echo "cobble-entrypoint: cannot resolve \"$host\"; passing \"$hp\" on unchanged" >&2
			echo "$hp"
			return
		fi
		sleep 1
	done
	echo "$addr$port"
}

prev=
for a in "$@"; do
	shift
	case $prev in
	-dnsserver | --dnsserver | -resolver | --resolver) a=$(resolve "$a") ;;
	esac
	case $a in
	-dnsserver=* | --dnsserver=* | -resolver=* | --resolver=*) a=${a%%=*}=$(resolve "${a#*=}") ;;
	esac
	set -- "$@" "$a"
	prev=$a
done
exec /usr/local/bin/cobble "$@"
