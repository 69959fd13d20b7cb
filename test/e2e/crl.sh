#!/usr/bin/env bash
# End-to-end: CRLs (RFC 5280 §5). One CRL per issuing intermediate, on the management listener
# (/crl/N) and on a plain-HTTP listener (crlListenAddress), named in every leaf's CRL Distribution
# Points (crlDistributionPoints); signed anew on every revocation with the reason code. lego
# issues and revokes; `openssl crl -verify` against the intermediate checks each CRL.
# Run inside a private network namespace (test/run.sh does): nothing here leaves the machine.
. "$(dirname "$0")/../lib/common.sh"

command -v lego >/dev/null || { skip "CRLs" "lego is not installed"; exit 0; }
[ -x "$COBBLE_BIN" ] || { notok "cobble binary $COBBLE_BIN exists"; exit 1; }

CRL_PORT=$(free_port)
HTTP_PORT=$(free_port)
echo "{\"crlListenAddress\": \"127.0.0.1:$CRL_PORT\", \"crlDistributionPoints\": true}" >"$T/crl.json"
start_cobble COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 COBBLE_ALTERNATE_ROOTS=1 -- \
	-config "$T/crl.json" || { notok "cobble starts with a CRL listener"; exit 1; }
for i in 0 1; do mgmt "/intermediates/$i" >"$T/inter$i.pem"; mgmt "/roots/$i" >"$T/root$i.pem"; done
LG=$T/lego
lego_() { env LEGO_CA_CERTIFICATES="$CA_BUNDLE" lego --server "$DIR_URL" --accept-tos --email lego@example.test \
	--path "$LG" "$@" >>"$T/lego.out" 2>&1; }

# crl_ok NAME FILE INTERMEDIATE: FILE is a DER CRL whose signature verifies with INTERMEDIATE
crl_ok() {
	if openssl crl -inform DER -in "$2" -CAfile "$3" -noout -verify 2>&1 | grep -q 'verify OK'; then ok "$1"
	else notok "$1"; openssl crl -inform DER -in "$2" -CAfile "$3" -noout -verify 2>&1 | sed 's/^/    # /' | head -5; fi
}
crl_text() { openssl crl -inform DER -in "$1" -noout -text 2>&1; }

curl -sS -o "$T/empty.der" "http://127.0.0.1:$CRL_PORT/crl/0"
crl_ok "the CRL over plain http verifies against the intermediate (openssl crl -verify)" "$T/empty.der" "$T/inter0.pem"
crl_text "$T/empty.der" >"$T/empty.txt"
check "...version 2, the intermediate's name, CRL Number 1, no revoked certificate yet" sh -c "
	grep -q 'Version 2' '$T/empty.txt' && grep -q 'No Revoked Certificates' '$T/empty.txt' &&
	grep -A1 'X509v3 CRL Number' '$T/empty.txt' | grep -q ' 1\$' &&
	grep -q \"Issuer: \$(openssl x509 -in '$T/inter0.pem' -noout -subject -nameopt oneline | sed 's/^subject=//')\" '$T/empty.txt'"

lego_ -d crl1.example.com --http --http.port "127.0.0.1:$HTTP_PORT" run
lego_ -d crl2.example.com --http --http.port "127.0.0.1:$HTTP_PORT" run
C1=$LG/certificates/crl1.example.com.crt C2=$LG/certificates/crl2.example.com.crt
check "lego gets two certificates" test -s "$C1" -a -s "$C2"
CDP=$(openssl x509 -in "$C1" -noout -ext crlDistributionPoints 2>/dev/null | grep -o 'URI:.*' | sed 's/^URI://')
check "the leaf's CRL Distribution Points name the plain-http CRL ($CDP)" test "$CDP" = "http://127.0.0.1:$CRL_PORT/crl/0"
S1=$(openssl x509 -in "$C1" -noout -serial | sed 's/serial=//') S2=$(openssl x509 -in "$C2" -noout -serial | sed 's/serial=//')

cp "$C1" "$T/c1.pem" # lego moves what it revokes to its archive
lego_ -d crl1.example.com revoke --reason 1
lego_ -d crl2.example.com revoke --reason 4
check "lego revokes both (keyCompromise, superseded)" sh -c "grep -c 'Certificate was revoked' '$T/lego.out' | grep -qx 2"
curl -sS -o "$T/after.der" "$CDP"
crl_ok "after the revocations the CRL at the CDP URL still verifies" "$T/after.der" "$T/inter0.pem"
crl_text "$T/after.der" >"$T/after.txt"
check "...and lists serial $S1 with reason Key Compromise" \
	sh -c "grep -A4 'Serial Number: $S1' '$T/after.txt' | grep -q 'Key Compromise'"
check "...and serial $S2 with reason Superseded" sh -c "grep -A4 'Serial Number: $S2' '$T/after.txt' | grep -q 'Superseded'"
check "...with CRL Number 3 (signed anew on each revocation)" \
	sh -c "grep -A1 'X509v3 CRL Number' '$T/after.txt' | grep -q ' 3\$'"
mgmt /crl/0 >"$T/mgmt0.der"
check "the management listener's /crl/0 is the same CRL" cmp "$T/mgmt0.der" "$T/after.der"
mgmt /crl/1 >"$T/mgmt1.der"
crl_ok "/crl/1, the alternate hierarchy's CRL, verifies against its intermediate" "$T/mgmt1.der" "$T/inter1.pem"
check "...and lists the same serials" sh -c "crl_text() { openssl crl -inform DER -in \"\$1\" -noout -text; };
	crl_text '$T/mgmt1.der' | grep -q 'Serial Number: $S1' && crl_text '$T/mgmt1.der' | grep -q 'Serial Number: $S2'"
check "openssl verify -crl_check: the revoked leaf is refused as revoked" sh -c "
	openssl crl -inform DER -in '$T/after.der' -out '$T/after.pem' &&
	! openssl verify -crl_check -CAfile '$T/root0.pem' -untrusted '$T/inter0.pem' -CRLfile '$T/after.pem' '$T/c1.pem' >'$T/v.out' 2>&1 &&
	grep -q 'certificate revoked' '$T/v.out'"
curl -sS -o /dev/null -w '%{http_code} %{content_type}\n' "http://127.0.0.1:$CRL_PORT/crl/0" >"$T/ct.txt"
check "served as 200 application/pkix-crl" grep -qx '200 application/pkix-crl' "$T/ct.txt"
curl -sS -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$CRL_PORT/dir" >"$T/404.txt"
check "the plain-http listener serves nothing but CRLs (404 for /dir)" grep -qx 404 "$T/404.txt"
curl -sS -o "$T/bad.json" -w '%{http_code}\n' "http://127.0.0.1:$CRL_PORT/crl/7" >"$T/bad.txt"
check "/crl/7: 404 naming the indexes there are" sh -c "grep -qx 404 '$T/bad.txt' && grep -q 'from 0 to 1' '$T/bad.json'"
stop_cobble

echo '{"crlDistributionPoints": true}' >"$T/nolisten.json"
"$COBBLE_BIN" -config "$T/nolisten.json" --check-config >"$T/cc.out" 2>&1
check "crlDistributionPoints without crlListenAddress: --check-config exits 1 naming both" \
	sh -c "test $? -eq 1 && grep -q 'crlDistributionPoints is true but crlListenAddress is empty' '$T/cc.out'"
start_cobble COBBLE_VA_ALWAYS_VALID=1 COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 ||
	{ notok "cobble starts on its defaults"; exit 1; }
rm -rf "$LG"
lego_ -d plain.example.com --http --http.port "127.0.0.1:$HTTP_PORT" run
check "by default leaves have no CRL Distribution Points (the switch is off)" sh -c "
	test -s '$LG/certificates/plain.example.com.crt' &&
	! openssl x509 -in '$LG/certificates/plain.example.com.crt' -noout -text | grep -q 'CRL Distribution'"
mgmt /crl/0 >"$T/def.der"
crl_ok "...and the CRL is still on the management listener" "$T/def.der" "$(mgmt /intermediates/0 >"$T/i.pem"; echo "$T/i.pem")"
stop_cobble
