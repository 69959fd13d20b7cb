#!/bin/sh
# certbot-dns.sh auth|cleanup: certbot's --manual-auth-hook / --manual-cleanup-hook for dns-01,
# publishing _acme-challenge.$CERTBOT_DOMAIN TXT $CERTBOT_VALIDATION in Knot (knot-txt.sh; its
# environment: KNOT_DIR, KNOT_PORT, optionally KNOT_ZONE).
#   certbot ... --manual --preferred-challenges dns \
#     --manual-auth-hook 'certbot-dns.sh auth' --manual-cleanup-hook 'certbot-dns.sh cleanup'
# (for a wildcard, certbot gives the name without "*.")
here=$(dirname "$0")
case ${1:-} in
auth) exec "$here/knot-txt.sh" set "_acme-challenge.${CERTBOT_DOMAIN#\*.}" "$CERTBOT_VALIDATION" ;;
cleanup) exec "$here/knot-txt.sh" unset "_acme-challenge.${CERTBOT_DOMAIN#\*.}" "$CERTBOT_VALIDATION" ;;
*) echo "usage: certbot-dns.sh auth|cleanup" >&2; exit 2 ;;
esac
