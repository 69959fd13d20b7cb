#!/bin/sh
# uacme.sh METHOD TYPE IDENT TOKEN AUTH: a uacme hook (-h) for dns-01 (Knot, via knot-txt.sh:
# KNOT_DIR, KNOT_PORT, optionally KNOT_ZONE) and tls-alpn-01 (a running `ualpn` server, asked on
# its unix socket UALPN_SOCK, default /run/ualpn.sock, as /usr/share/uacme/ualpn.sh does).
# UACME_CHALLENGE names the one type to accept (default dns-01); every other offer is declined
# (exit 1), so uacme moves on to the next challenge of the authorization.
here=$(dirname "$0")
[ $# -eq 5 ] || { echo "usage: uacme.sh method type ident token auth" >&2; exit 85; }
method=$1 type=$2 ident=$3 auth=$5
[ "$type" = "${UACME_CHALLENGE:-dns-01}" ] || exit 1
ualpn_do() {
	out=$(echo "$1" | ualpn -s "${UALPN_SOCK:-/run/ualpn.sock}")
	[ "$out" = OK ] || { echo "uacme.sh: ualpn answered '$out' to '$1'" >&2; exit 1; }
}
case $type:$method in
dns-01:begin) exec "$here/knot-txt.sh" set "_acme-challenge.${ident#\*.}" "$auth" ;;
dns-01:done | dns-01:failed) exec "$here/knot-txt.sh" unset "_acme-challenge.${ident#\*.}" "$auth" ;;
tls-alpn-01:begin) ualpn_do "auth $ident $auth" ;;
tls-alpn-01:done | tls-alpn-01:failed) ualpn_do "unauth $ident" ;;
*) echo "uacme.sh: cannot $method $type" >&2; exit 1 ;;
esac
