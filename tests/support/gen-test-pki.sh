#!/usr/bin/env bash
# Make throw-away certificate sets that a strict TLS client must accept or refuse, for the TLS
# strictness tests (tests/it/tls.rs). The sibling of gen-test-ca.sh (same files, same keys).
#
# Usage: gen-test-pki.sh OUTDIR KIND NAME [NAME...]
#
# Each NAME is a DNS name or an IPv4/IPv6 address, as for gen-test-ca.sh: all of them go into the
# leaf's subjectAltName, the first is also its common name. KIND is one of:
#
#   chain                root -> intermediate -> leaf; the server presents leaf + intermediate
#                        (valid: accepted with the root alone trusted)
#   chain-leaf-only      the same, but the server presents the leaf alone (intermediate missing)
#   expired              root -> leaf valid from 2 days ago to 1 day ago
#   not-yet-valid        root -> leaf valid from 1 day ahead to 30 days ahead
#   same-name            the trusted root, and an impostor CA with the same subject DN and the same
#                        subjectKeyIdentifier but its own key; the leaf is signed by the impostor
#                        (its authorityKeyIdentifier names the trusted root's key id too); the
#                        server presents leaf + impostor
#   non-ca-intermediate  root -> "intermediate" with basicConstraints CA:FALSE (keyCertSign set)
#                        -> leaf; the server presents leaf + that intermediate
#
# Files written to OUTDIR (created if needed):
#   ca.pem       the root to trust (use as SSL_CERT_FILE / AWS_CA_BUNDLE)
#   ca.key       its private key
#   server.pem   the chain the server presents (leaf first)
#   server.key   the leaf's private key (unencrypted)
#   leaf.pem     the leaf certificate alone
#   other-ca.pem same-name only: the impostor CA
#
# Keys are ECDSA P-256 in PKCS#8; certificates not otherwise dated are valid from now for 30
# days. Needs the openssl CLI (1.1.1 or 3.x; dated leaves use `openssl ca -startdate/-enddate`,
# since `x509 -not_before` is only in 3.4+) and a `date` that formats `-d @EPOCH` (GNU, busybox).
set -euo pipefail

if [[ $# -lt 3 ]]; then
    echo "usage: $0 OUTDIR KIND NAME [NAME...]" >&2
    exit 2
fi

outdir=$1
kind=$2
shift 2
case $kind in
    chain | chain-leaf-only | expired | not-yet-valid | same-name | non-ca-intermediate) ;;
    *)
        echo "$0: unknown KIND $kind" >&2
        exit 2
        ;;
esac
mkdir -p -- "$outdir"
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

san=""
for name in "$@"; do
    if [[ $name =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ || $name == *:* ]]; then
        entry="IP:$name"
    else
        entry="DNS:$name"
    fi
    san=${san:+$san,}$entry
done

newkey() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

serial() {
    echo "0x$(openssl rand -hex 16)"
}

# A random key identifier, AA:BB:... (20 bytes, as a SHA-1 one).
keyid() {
    openssl rand -hex 20 | sed 's/../&:/g; s/:$//'
}

# csr KEYFILE SUBJECT OUT
csr() {
    openssl req -new -key "$1" -subj "$2" -out "$3"
}

# selfsign NAME SUBJECT EXTFILE: NAME.key, NAME.pem in $work.
selfsign() {
    newkey "$work/$1.key"
    csr "$work/$1.key" "$2" "$work/$1.csr"
    openssl x509 -req -in "$work/$1.csr" -signkey "$work/$1.key" -set_serial "$(serial)" \
        -days 30 -extfile "$3" -out "$work/$1.pem" 2>/dev/null
}

# issue NAME SUBJECT EXTFILE ISSUER: NAME.key, NAME.pem in $work, signed by ISSUER.{pem,key}.
issue() {
    newkey "$work/$1.key"
    csr "$work/$1.key" "$2" "$work/$1.csr"
    openssl x509 -req -in "$work/$1.csr" -CA "$work/$4.pem" -CAkey "$work/$4.key" \
        -set_serial "$(serial)" -days 30 -extfile "$3" -out "$work/$1.pem" 2>/dev/null
}

# issue_dated NAME SUBJECT EXTFILE ISSUER FROM_OFFSET_SECS TO_OFFSET_SECS: as issue, valid from
# now+FROM to now+TO (offsets may be negative).
issue_dated() {
    local now from to
    now=$(date -u +%s)
    from=$(date -u -d "@$((now + $5))" +%Y%m%d%H%M%SZ)
    to=$(date -u -d "@$((now + $6))" +%Y%m%d%H%M%SZ)
    newkey "$work/$1.key"
    csr "$work/$1.key" "$2" "$work/$1.csr"
    mkdir -p "$work/db"
    : >"$work/db/index.txt"
    openssl rand -hex 16 >"$work/db/serial"
    cat >"$work/db/ca.cnf" <<EOF
[ ca ]
default_ca = test
[ test ]
database = $work/db/index.txt
serial = $work/db/serial
new_certs_dir = $work/db
default_md = sha256
policy = any
email_in_dn = no
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
EOF
    openssl ca -batch -config "$work/db/ca.cnf" -cert "$work/$4.pem" -keyfile "$work/$4.key" \
        -in "$work/$1.csr" -out "$work/$1.pem" -notext \
        -startdate "$from" -enddate "$to" -extfile "$3" 2>/dev/null
}

root_subj="/O=ecr-login tests/CN=ecr-login test root CA"

# Extensions. The root has no pathlen limit, so that an intermediate is refused only for what
# the KIND makes wrong.
cat >"$work/root.ext" <<EOF
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
cat >"$work/inter.ext" <<'EOF'
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
cat >"$work/nonca.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
cat >"$work/leaf.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

leaf_subj="/CN=$1"
case $kind in
    chain | chain-leaf-only)
        selfsign root "$root_subj" "$work/root.ext"
        issue inter "/O=ecr-login tests/CN=ecr-login test intermediate CA" "$work/inter.ext" root
        issue leaf "$leaf_subj" "$work/leaf.ext" inter
        if [[ $kind == chain ]]; then
            cat "$work/leaf.pem" "$work/inter.pem" >"$outdir/server.pem"
        else
            cat "$work/leaf.pem" >"$outdir/server.pem"
        fi
        openssl verify -CAfile "$work/root.pem" -untrusted "$work/inter.pem" \
            "$work/leaf.pem" >/dev/null
        ;;
    expired | not-yet-valid)
        selfsign root "$root_subj" "$work/root.ext"
        if [[ $kind == expired ]]; then
            issue_dated leaf "$leaf_subj" "$work/leaf.ext" root -172800 -86400
        else
            issue_dated leaf "$leaf_subj" "$work/leaf.ext" root 86400 2592000
        fi
        cat "$work/leaf.pem" "$work/root.pem" >"$outdir/server.pem"
        # Right but for its dates.
        openssl verify -no_check_time -CAfile "$work/root.pem" "$work/leaf.pem" >/dev/null
        if openssl verify -CAfile "$work/root.pem" "$work/leaf.pem" >/dev/null 2>&1; then
            echo "$0: the $kind leaf verifies" >&2
            exit 1
        fi
        ;;
    same-name)
        id=$(keyid)
        sed -i "s/^subjectKeyIdentifier = .*/subjectKeyIdentifier = $id/" "$work/root.ext"
        selfsign root "$root_subj" "$work/root.ext"
        selfsign impostor "$root_subj" "$work/root.ext"
        issue leaf "$leaf_subj" "$work/leaf.ext" impostor
        cat "$work/leaf.pem" "$work/impostor.pem" >"$outdir/server.pem"
        cp "$work/impostor.pem" "$outdir/other-ca.pem"
        # Same name and key id as the trusted root, but not its signature.
        [[ $(openssl x509 -in "$work/root.pem" -noout -subject) == \
            $(openssl x509 -in "$work/impostor.pem" -noout -subject) ]]
        openssl verify -CAfile "$work/impostor.pem" "$work/leaf.pem" >/dev/null
        if openssl verify -CAfile "$work/root.pem" "$work/leaf.pem" >/dev/null 2>&1; then
            echo "$0: the impostor's leaf verifies against the trusted root" >&2
            exit 1
        fi
        ;;
    non-ca-intermediate)
        selfsign root "$root_subj" "$work/root.ext"
        issue inter "/O=ecr-login tests/CN=ecr-login test not-a-CA" "$work/nonca.ext" root
        issue leaf "$leaf_subj" "$work/leaf.ext" inter
        cat "$work/leaf.pem" "$work/inter.pem" >"$outdir/server.pem"
        if openssl verify -CAfile "$work/root.pem" -untrusted "$work/inter.pem" \
            "$work/leaf.pem" >/dev/null 2>&1; then
            echo "$0: the leaf of a non-CA issuer verifies" >&2
            exit 1
        fi
        ;;
esac

cp "$work/root.pem" "$outdir/ca.pem"
cp "$work/root.key" "$outdir/ca.key"
cp "$work/leaf.key" "$outdir/server.key"
cp "$work/leaf.pem" "$outdir/leaf.pem"
chmod 600 "$outdir/ca.key" "$outdir/server.key"
