# Helpers for the dns-persist-01 end-to-end scripts (source it; it sources common.sh and knot.sh):
# cobble against a private Knot, the npm acme-client driver (test/node/persist-client.js), and
# checks of an order's outcome: issued (the chain verifies with openssl against the management
# root, for exactly the names asked) or refused (the problem type and detail). A script sourcing
# it is skipped as a whole when a tool it needs is missing.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/knot.sh"

NODE_DIR=$ROOT/test/node
for tool in knotd knotc keymgr kdig jq openssl curl node; do
	command -v "$tool" >/dev/null || { skip "dns-persist-01 end-to-end" "$tool is not installed"; exit 0; }
done
[ -f "$NODE_DIR/node_modules/acme-client/package.json" ] ||
	{ skip "dns-persist-01 end-to-end" "acme-client is not installed (npm ci --prefix test/node)"; exit 0; }
[ -x "$COBBLE_BIN" ] || { notok "cobble binary $COBBLE_BIN exists"; exit 1; }

ISSUER=cobble.test
P=urn:ietf:params:acme:error:

# cobble_up NAME [CONFIG-JSON]: (re)start cobble with that config against the private Knot;
# fetches the issuing root to $T/root.pem.
cobble_up() {
	stop_cobble
	local cfg=$T/cfg-$1.json
	if [ $# -ge 2 ]; then printf '%s\n' "$2"; else echo '{}'; fi >"$cfg"
	start_cobble COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 -- \
		-dnsserver "127.0.0.1:$KNOT_PORT" -config "$cfg" || return 1
	mgmt /roots/0 >"$T/root.pem" && grep -q 'BEGIN CERTIFICATE' "$T/root.pem"
}

# client ARGS...: persist-client.js against this cobble, trusting its TLS bundle.
client() {
	NODE_EXTRA_CA_CERTS=$CA_BUNDLE node "$NODE_DIR/persist-client.js" "$@" --directory "$DIR_URL"
}

# account KEYFILE: the account URL for that key on this cobble (created on first use).
account() { client account --account-key "$1" 2>>"$T/client.err" | jq -r '.accountUrl // empty'; }

# order TAG KEYFILE ARGS...: one persist-client order; JSON in $T/TAG.json, chain in $T/TAG.pem.
order() {
	local tag=$1 key=$2; shift 2
	client order --account-key "$key" --cert-out "$T/$tag.pem" "$@" >"$T/$tag.json" 2>"$T/$tag.err"
	[ -s "$T/$tag.json" ] || echo '{}' >"$T/$tag.json"
}

# verify_chain PEM NAMES...: the leaf chains to the root through the rest of PEM, and its
# subjectAltName holds exactly NAMES. Prints why not.
verify_chain() {
	local pem=$1; shift
	local d=$T/split
	rm -rf "$d"; mkdir -p "$d"
	[ -s "$pem" ] || { echo "no certificate chain at $pem"; return 1; }
	# the first certificate is the leaf, the rest the chain the CA sent with it
	awk -v d="$d" '/-----BEGIN CERTIFICATE-----/ {n++} n == 1 {print > (d "/leaf.pem")}
		n > 1 {print > (d "/chain.pem")}' "$pem"
	if [ ! -s "$d/leaf.pem" ] || [ ! -s "$d/chain.pem" ]; then
		echo "$pem holds no leaf and intermediate"; return 1
	fi
	openssl verify -CAfile "$T/root.pem" -untrusted "$d/chain.pem" "$d/leaf.pem" 2>&1 || return 1
	local got want
	got=$(openssl x509 -in "$d/leaf.pem" -noout -ext subjectAltName | tail -n +2 | tr -d ' ' | tr ',' '\n' |
		sed 's/^DNS://' | sort)
	want=$(printf '%s\n' "$@" | sort)
	[ "$got" = "$want" ] || { echo "leaf names: $got; wanted: $want"; return 1; }
}

# issued NAME TAG NAMES...: the order in $T/TAG.json is valid and its chain verifies for NAMES.
issued() {
	local name=$1 tag=$2; shift 2
	local why=
	if ! jq -e '.outcome == "valid" and .order.status == "valid" and .certificate != null and
		all(.authorizations[]; .status == "valid")' "$T/$tag.json" >/dev/null 2>&1; then
		why="the order is not valid with a certificate"
	elif ! why=$(verify_chain "$T/$tag.pem" "$@"); then
		:
	else
		ok "$name"
		return
	fi
	notok "$name"
	echo "    # $why" | head -5
	show "$T/$tag.json" "$T/$tag.err"
}

# refused NAME TAG TYPE DETAIL-EXPR [JQ-ARGS...]: the challenge failed with TYPE and a detail
# for which DETAIL-EXPR holds; the authorization and the order are invalid.
refused() {
	local name=$1 tag=$2 type=$3 dexpr=$4; shift 4
	jq_ok "$name" "$tag" "(.authorizations[0] | .status == \"invalid\" and .challenge.status == \"invalid\"
		and .error.type == \"$P$type\" and (.error.detail | type == \"string\" and ($dexpr)))
		and .order.status == \"invalid\" and .outcome == \"invalid\"" "$@"
}

# pub ZONE OWNER TTL STRING...: one TXT RR of those character-strings (Knot's zone syntax inside).
pub() {
	local z=$1 o=$2 ttl=$3 rd="" s; shift 3
	for s in "$@"; do rd+="${rd:+ }\"$s\""; done
	knot_set "$z" "$o" "$ttl" TXT "$rd"
}

