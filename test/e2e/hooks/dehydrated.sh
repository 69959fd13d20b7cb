#!/bin/sh
# dehydrated.sh: a dehydrated HOOK for dns-01 with Knot (knot-txt.sh; its environment: KNOT_DIR,
# KNOT_PORT, optionally KNOT_ZONE). deploy_challenge/clean_challenge DOMAIN TOKEN_FILE TOKEN_VALUE
# publish/remove _acme-challenge.DOMAIN TXT TOKEN_VALUE; with HOOK_CHAIN=yes the triples repeat.
# Every other hook (startup_hook, deploy_cert, generate_csr, ...) does nothing and prints nothing.
here=$(dirname "$0")
op=${1:-}
shift
case $op in
deploy_challenge) verb="set" ;;
clean_challenge) verb="unset" ;;
invalid_challenge) echo "dehydrated.sh: invalid challenge for $1: $2" >&2; exit 0 ;;
*) exit 0 ;;
esac
while [ $# -ge 3 ]; do
	"$here/knot-txt.sh" "$verb" "_acme-challenge.${1#\*.}" "$3" || exit 1
	shift 3
done
