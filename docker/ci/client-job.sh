#!/usr/bin/env bash
# client-job.sh: what a CI job runs beside cobble's image started as a service (the GitHub Actions
# and GitLab CI recipes in this directory call it; `make docker-test` runs it against the image it
# builds, so these commands are tested). It waits for cobble, trusts the TLS certificate cobble
# made at start-up (the service network is the job's own), gets a certificate with lego, verifies
# it against cobble's root, and fails when cobble's conformance report says the client broke a
# MUST of RFC 8555. Replace the lego step with your own client.
#   COBBLE_HOST (localhost), COBBLE_ACME_PORT (14000), COBBLE_MANAGEMENT_PORT (15000),
#   CI_HTTP_PORT (5002: lego's http-01 listener), CI_OUT (cobble-ci: everything kept here)
# The service runs with COBBLE_VA_ALWAYS_VALID=1, so no challenge needs to be reachable.
set -euo pipefail
HOST=${COBBLE_HOST:-localhost}
ACME=https://$HOST:${COBBLE_ACME_PORT:-14000}
MGMT=https://$HOST:${COBBLE_MANAGEMENT_PORT:-15000}
OUT=${CI_OUT:-cobble-ci}
mkdir -p "$OUT"

echo "waiting for cobble at $ACME"
for _ in $(seq 120); do
	openssl s_client -connect "$HOST:${COBBLE_ACME_PORT:-14000}" -servername "$HOST" </dev/null \
		2>/dev/null | openssl x509 >"$OUT/cobble-tls.pem" 2>/dev/null && break
	sleep 0.5
done
curl -fsS --max-time 10 --cacert "$OUT/cobble-tls.pem" "$ACME/dir" >/dev/null

LEGO_CA_CERTIFICATES=$OUT/cobble-tls.pem lego --server "$ACME/dir" --accept-tos --email ci@example.test \
	--path "$OUT/lego" -d ci.example.test --http --http.port "127.0.0.1:${CI_HTTP_PORT:-5002}" run

curl -fsS --max-time 10 --cacert "$OUT/cobble-tls.pem" "$MGMT/roots/0" >"$OUT/root.pem"
openssl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/lego/certificates/ci.example.test.issuer.crt" \
	"$OUT/lego/certificates/ci.example.test.crt"

curl -fsS --max-time 10 --cacert "$OUT/cobble-tls.pem" "$MGMT/conformance" >"$OUT/conformance.json"
jq -r '.userAgents[] | "\(.userAgent): " + ([.findings[] | "\(.severity) \(.id) x\(.count)"] | join(", ") |
	if . == "" then "no finding" else . end)' \
	"$OUT/conformance.json"
jq -e '.mustBroken == false' "$OUT/conformance.json" >/dev/null ||
	{ echo "cobble's conformance report: the client broke a MUST of RFC 8555 (see above)"; exit 1; }
echo "client job passed"
