#!/usr/bin/env bash
# Make a throw-away test CA and a server certificate signed by it.
#
# Usage: gen-test-ca.sh OUTDIR NAME [NAME...]
#
# Each NAME is a DNS name (e.g. api.ecr.us-east-1.amazonaws.com, localhost) or an
# IPv4/IPv6 address (e.g. 127.0.0.5); all of them go into the server
# certificate's subjectAltName. The first NAME is also its common name.
#
# Files written to OUTDIR (created if needed):
#   ca.pem       CA certificate (use as SSL_CERT_FILE / AWS_CA_BUNDLE)
#   ca.key       CA private key
#   server.pem   server certificate followed by the CA certificate (chain)
#   server.key   server private key (unencrypted)
#
# Keys are ECDSA P-256 in PKCS#8 (fast to make, accepted by rustls, Python and
# Go); both certificates are valid from now for 30 days. Needs the openssl CLI
# (1.1.1 or 3.x).
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 OUTDIR NAME [NAME...]" >&2
    exit 2
fi

outdir=$1
shift
mkdir -p -- "$outdir"
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# subjectAltName entries: IP:... for addresses, DNS:... for everything else.
san=""
for name in "$@"; do
    if [[ $name =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ || $name == *:* ]]; then
        entry="IP:$name"
    else
        entry="DNS:$name"
    fi
    san=${san:+$san,}$entry
done

cat >"$work/ca.ext" <<'EOF'
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF

cat >"$work/server.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

newkey() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# Random 128-bit serial numbers (no serial file left behind).
serial() {
    echo "0x$(openssl rand -hex 16)"
}

# The CA: a self-signed certificate.
newkey "$outdir/ca.key"
openssl req -new -key "$outdir/ca.key" -subj "/CN=ecr-login test CA" -out "$work/ca.csr"
openssl x509 -req -in "$work/ca.csr" -signkey "$outdir/ca.key" -set_serial "$(serial)" -days 30 \
    -extfile "$work/ca.ext" -out "$outdir/ca.pem" 2>/dev/null

# The server certificate, signed by the CA.
newkey "$outdir/server.key"
openssl req -new -key "$outdir/server.key" -subj "/CN=$1" -out "$work/server.csr"
openssl x509 -req -in "$work/server.csr" -CA "$outdir/ca.pem" -CAkey "$outdir/ca.key" \
    -set_serial "$(serial)" -days 30 -extfile "$work/server.ext" -out "$work/server.crt" 2>/dev/null
cat "$work/server.crt" "$outdir/ca.pem" >"$outdir/server.pem"

chmod 600 "$outdir/ca.key" "$outdir/server.key"
openssl verify -CAfile "$outdir/ca.pem" "$work/server.crt" >/dev/null
