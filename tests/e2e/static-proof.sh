#!/usr/bin/env bash
# tests/e2e/static-proof.sh -- prove that the ONE static binary runs unchanged in an Alpine-like (musl,
# busybox) tree, a Debian minbase (glibc) tree and an empty tree, both under chroot and in Docker
# containers of imported images (SPEC 1, 11, 12).
#
# Usage: tests/e2e/static-proof.sh [--tls-server] [BINARY]
#   BINARY defaults to target/x86_64-unknown-linux-musl/release/docker-credential-ecr-login.
#
# An aarch64 BINARY (target/aarch64-unknown-linux-musl/...) gets the arm64 rows instead:
#   chroot:alpine-like-arm64  target/rootfs/alpine-like-arm64 (Debian's arm64 busybox-static + musl)
#   chroot:empty-arm64        a fresh directory holding only the binary (and the CA, for tls-get)
# On a non-aarch64 host each run is `chroot TREE /qemu-aarch64-static /docker-credential-ecr-login`:
# Debian's qemu-user-static (a static x86_64 file) is copied into the tree next to the binary and
# removed again, so no binfmt_misc registration (machine-global state) is needed. The checks and
# their time limits are the same as for x86_64. There are no Docker rows for arm64.
#
# Environments (rows of the summary):
#   chroot:alpine-like     target/rootfs/alpine-like      (tests/e2e/rootfs builds and caches them)
#   chroot:debian-minbase  target/rootfs/debian-minbase
#   chroot:empty           a fresh directory holding only the binary (and the CA, for tls-get)
#   docker:alpine-like     ecr-login-test/alpine-like:latest    (tests/e2e/rootfs import)
#   docker:debian-minbase  ecr-login-test/debian-minbase:latest
# In chroots the binary is copied to /docker-credential-ecr-login (removed again on exit); in
# containers it is bind-mounted read-only at /usr/local/bin/docker-credential-ecr-login and called
# by name (docker run --rm --network host). Every run gets a clean environment (env -i / docker
# run): no SSL_CERT_FILE, no AWS_* from the caller.
#
# Checks (columns):
#   version      `docker-credential-ecr-login version` prints exactly
#                "docker-credential-ecr-login (github.com/awslabs/amazon-ecr-credential-helper/ecr-login) <VERSION>\n"
#                and exits 0 (VERSION from Cargo.toml, or PROOF_VERSION).
#   get-refused  `get` of 123456789012.dkr.ecr.us-east-1.amazonaws.com against a closed
#                https://127.0.0.1:<port> prints exactly "credentials not found in native keychain\n",
#                nothing on stderr, exits 1, within AWS_ECR_TIMEOUT (5 s) + 3 s.
#   tls-no-ca    (with a TLS endpoint) the same `get` against PROOF_ECR_ENDPOINT before the test CA
#                is installed: not-found, exit 1 (the test CA is trusted only through the bundle).
#   tls-wrong-ca (with a TLS endpoint) the same with an unrelated CA (made with openssl) as the
#                bundle: not-found, exit 1 (the server certificate really is verified).
#   tls-get      (with a TLS endpoint) the test CA copied to the distro's own bundle path,
#                /etc/ssl/certs/ca-certificates.crt (bind-mounted :ro in containers), and `get`
#                prints exactly
#                {"ServerURL":"123456789012.dkr.ecr.us-east-1.amazonaws.com","Username":"AWS","Secret":"123456789012-auth-token"}
#                and exits 0.
# `get` always runs with AWS_ECR_DISABLE_CACHE=1 AWS_EC2_METADATA_DISABLED=true
# AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y AWS_ENDPOINT_URL_ECR=<endpoint> AWS_ECR_TIMEOUT=5.
#
# TLS endpoint: the caller exports PROOF_ECR_ENDPOINT (https://127.0.0.1:PORT, loopback only)
# and PROOF_CA_PEM (the PEM of the CA that signed its certificate); or pass --tls-server to start
# tests/support/ecr_server.py (moto) over TLS with a throw-away CA from
# tests/support/gen-test-ca.sh (Python: $ECR_TEST_PYTHON, else target/test-venv/bin/python, else
# python3; it needs moto[server] 5.x). Without either, the TLS checks are SKIPped, loudly.
#
# Other environment: PROOF_CHROOT=0 / PROOF_DOCKER=0 skip those rows; PROOF_TIMEOUT (default 30)
# bounds each run; PROOF_VERSION overrides the expected version; PROOF_STRICT=1 turns any SKIP
# into a failure. chroot needs root (otherwise those rows are SKIP); Docker rows are SKIP when no
# engine is reachable. Exit status: 1 if any check FAILed (or SKIPped under PROOF_STRICT=1),
# 2 on bad usage, else 0. Progress goes to stderr, the summary table to stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly ROOT
readonly TARGET=x86_64-unknown-linux-musl
readonly NAME=docker-credential-ecr-login
readonly PACKAGE=github.com/awslabs/amazon-ecr-credential-helper/ecr-login
readonly REGISTRY=123456789012.dkr.ecr.us-east-1.amazonaws.com
readonly EXPECT_GET='{"ServerURL":"123456789012.dkr.ecr.us-east-1.amazonaws.com","Username":"AWS","Secret":"123456789012-auth-token"}'
readonly NOT_FOUND='credentials not found in native keychain'
readonly ECR_TIMEOUT=5
readonly RUN_TIMEOUT=${PROOF_TIMEOUT:-30}
readonly CHECKS=(version get-refused tls-no-ca tls-wrong-ca tls-get)
readonly IMAGE_PREFIX=ecr-login-test
readonly BUNDLE=/etc/ssl/certs/ca-certificates.crt

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

start_server=0
bin=
while [ $# -gt 0 ]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --tls-server) start_server=1 ;;
        -*) printf 'static-proof: unknown option: %s\n\n' "$1" >&2; usage >&2; exit 2 ;;
        *) [ -z "$bin" ] || { printf 'static-proof: more than one BINARY\n' >&2; exit 2; }
           bin=$1 ;;
    esac
    shift
done
bin=${bin:-$ROOT/target/$TARGET/release/$NAME}

say() { printf 'static-proof: %s\n' "$*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---------------------------------------------------------------- results
declare -A RESULT=() DETAIL=()
ENVS=()
add_env() { ENVS+=("$1"); }
record() { # env check status [detail]
    RESULT["$1|$2"]=$3
    DETAIL["$1|$2"]=${4:-}
    printf '%-5s %-26s %-12s %s\n' "$3" "$1" "$2" "${4:-}" >&2
}
skip_env() { # env reason: every check of the row is SKIP
    local c
    for c in "${CHECKS[@]}"; do record "$1" "$c" SKIP "$2"; done
}

# ---------------------------------------------------------------- cleanup
CLEANUP_FILES=()      # files we created inside cached trees
RESTORE=()            # "backup|original" pairs
TMP_DIRS=()
CONTAINERS=()
SERVER_PID=
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local f pair c
    for c in "${CONTAINERS[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
    for f in "${CLEANUP_FILES[@]}"; do rm -rf -- "$f"; done
    for pair in "${RESTORE[@]}"; do mv -f -- "${pair%%|*}" "${pair#*|}" 2>/dev/null || true; done
    for f in "${TMP_DIRS[@]}"; do rm -rf --one-file-system -- "$f"; done
    if [ -n "$SERVER_PID" ]; then
        if [ -n "${SRV_IN:-}" ]; then exec {SRV_IN}>&-; fi
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- preconditions
if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
    say "ERROR: no executable binary at $bin (run scripts/build first)"
    exit 1
fi
bin=$(realpath "$bin")

# The binary's architecture decides the rows: x86_64 as before, aarch64 the arm64 rows (under
# qemu-user unless the host is aarch64).
bin_machine=$(LC_ALL=C readelf -h "$bin" 2>/dev/null | sed -n 's/^ *Machine: *//p')
ARM64=0
QEMU=
QEMU_ERR=
case $bin_machine in
    AArch64)
        ARM64=1
        if [ "$(uname -m)" != aarch64 ]; then
            QEMU=$(command -v qemu-aarch64-static || true)
            [ -n "$QEMU" ] || QEMU_ERR="qemu-aarch64-static not installed (apt-get install qemu-user-static)"
        fi ;;
    'Advanced Micro Devices X86-64'|'') ;;
    *) say "ERROR: $bin is for '$bin_machine' (x86_64 or aarch64 expected)"; exit 1 ;;
esac
# What runs the binary inside a tree: /qemu-aarch64-static /NAME, or /NAME.
IN_TREE=("/$NAME")
[ -z "$QEMU" ] || IN_TREE=(/qemu-aarch64-static "/$NAME")
version=${PROOF_VERSION:-$(awk '/^\[/{s=$0} s=="[package]" && /^version[[:space:]]*=/{gsub(/.*=[[:space:]]*"|".*/,""); print; exit}' "$ROOT/Cargo.toml")}
[ -n "$version" ] || { say "ERROR: cannot read the package version from Cargo.toml"; exit 1; }
readonly EXPECT_VERSION="$NAME ($PACKAGE) $version"
say "binary: $bin ($(stat -c %s "$bin") bytes; $(file -b "$bin" 2>/dev/null || echo 'file: n/a'))"
say "expect: $EXPECT_VERSION"
[ -z "$QEMU" ] || say "arm64 binary on $(uname -m): every run goes through $QEMU ($($QEMU --version | head -n 1))"

# A closed loopback port for get-refused.
refused_port=
for p in $(seq 47391 47491); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then refused_port=$p; break; fi
done
[ -n "$refused_port" ] || { say "ERROR: no closed port found in 47391..47491"; exit 1; }

# ---------------------------------------------------------------- optional TLS server
# start_tls_server: sets PROOF_ECR_ENDPOINT and PROOF_CA_PEM, or returns 1 with SERVER_ERR set.
SERVER_ERR=
start_tls_server() {
    local srv_dir py line port
    srv_dir=$(mktemp -d)
    TMP_DIRS+=("$srv_dir")
    if ! "$ROOT/tests/support/gen-test-ca.sh" "$srv_dir" 127.0.0.1 localhost >/dev/null 2>"$srv_dir/gen.err"; then
        cat "$srv_dir/gen.err" >&2
        SERVER_ERR="--tls-server: tests/support/gen-test-ca.sh failed"
        return 1
    fi
    # Its stdin is a FIFO held open on SRV_IN: the server exits when this script does, even
    # when killed (--exit-on-stdin-eof).
    mkfifo "$srv_dir/in"
    # Same interpreter as the Rust harness (tests/it/common/server.rs): $ECR_TEST_PYTHON, else
    # target/test-venv/bin/python; else python3.
    py=${ECR_TEST_PYTHON:-$ROOT/target/test-venv/bin/python}
    [ -x "$py" ] || py=python3
    say "TLS server: starting tests/support/ecr_server.py with $py"
    "$py" "$ROOT/tests/support/ecr_server.py" --host 127.0.0.1 --port 0 \
        --tls-cert "$srv_dir/server.pem" --tls-key "$srv_dir/server.key" --exit-on-stdin-eof \
        <"$srv_dir/in" >"$srv_dir/out" 2>"$srv_dir/server.err" &
    SERVER_PID=$!
    exec {SRV_IN}>"$srv_dir/in"
    line=
    for _ in $(seq 1 600); do
        line=$(head -n 1 "$srv_dir/out" 2>/dev/null || true)
        case $line in *'"port"'*) break ;; esac
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    port=$(printf '%s' "$line" | sed -n 's/.*"port": *\([0-9][0-9]*\).*/\1/p')
    if [ -z "$port" ]; then
        tail -n 20 "$srv_dir/server.err" >&2 || true
        SERVER_ERR="--tls-server: tests/support/ecr_server.py ($py) did not start"
        return 1
    fi
    export PROOF_ECR_ENDPOINT="https://127.0.0.1:$port" PROOF_CA_PEM="$srv_dir/ca.pem"
    say "TLS server: tests/support/ecr_server.py pid $SERVER_PID at $PROOF_ECR_ENDPOINT"
}

tls=0
tls_reason="no PROOF_ECR_ENDPOINT"
if [ "$start_server" -eq 1 ] && [ -n "${PROOF_ECR_ENDPOINT:-}" ]; then
    say "--tls-server ignored: PROOF_ECR_ENDPOINT is set ($PROOF_ECR_ENDPOINT)"
elif [ "$start_server" -eq 1 ] && ! start_tls_server; then
    # Asked for, but unavailable: the TLS checks FAIL (with the reason), the others still run.
    tls=-1
    tls_reason=$SERVER_ERR
    say "ERROR: $SERVER_ERR"
fi
if [ "$tls" -eq 0 ] && [ -n "${PROOF_ECR_ENDPOINT:-}" ]; then
    if [ -z "${PROOF_CA_PEM:-}" ] || [ ! -r "$PROOF_CA_PEM" ]; then
        tls=-1
        tls_reason="PROOF_ECR_ENDPOINT set but PROOF_CA_PEM ('${PROOF_CA_PEM:-}') is not a readable file"
    else
        case $PROOF_ECR_ENDPOINT in
            https://127.*) tls=1; PROOF_CA_PEM=$(realpath "$PROOF_CA_PEM") ;;
            *) tls=-1; tls_reason="PROOF_ECR_ENDPOINT must be https://127.x.y.z:PORT (got $PROOF_ECR_ENDPOINT)" ;;
        esac
    fi
fi
if [ "$tls" -eq 0 ]; then
    printf '\n*** SKIP: tls get proof (no PROOF_ECR_ENDPOINT) ***\n\n' >&2
fi

# ---------------------------------------------------------------- scratch space, a wrong CA
OUT=$(mktemp -d)
TMP_DIRS+=("$OUT")
# A second, unrelated CA for tls-wrong-ca: certificate verification must reject the server.
WRONG_CA=
if [ "$tls" -eq 1 ] && command -v openssl >/dev/null 2>&1; then
    if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=static-proof unrelated CA" -keyout "$OUT/wrong-ca.key" -out "$OUT/wrong-ca.pem" \
        >/dev/null 2>&1; then
        WRONG_CA="$OUT/wrong-ca.pem"
    fi
fi

# ---------------------------------------------------------------- result checking

# judge env check rc stdout-file stderr-file ms expected-rc expected-stdout max-ms stderr-must-be-empty
judge() {
    local env=$1 check=$2 rc=$3 out=$4 err=$5 ms=$6 want_rc=$7 want_out=$8 max_ms=$9 quiet_err=${10}
    local problems=() shown
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        problems+=("timed out after ${RUN_TIMEOUT}s (rc $rc)")
    elif [ "$rc" -gt 128 ] && [ "$rc" -lt 160 ]; then
        problems+=("killed by signal $((rc - 128))")
    elif [ "$rc" -ne "$want_rc" ]; then
        problems+=("exit $rc, want $want_rc")
    fi
    if ! cmp -s "$out" <(printf '%s\n' "$want_out"); then
        if [ -s "$out" ]; then
            shown=$(head -c 300 "$out"; echo x)   # x: keep trailing newlines visible to %q
            shown=$(printf '%q' "${shown%x}")
        else
            shown="(empty)"
        fi
        problems+=("stdout differs: got ${shown}")
    fi
    if [ -s "$err" ]; then
        if [ "$quiet_err" = 1 ]; then
            problems+=("stderr not empty: $(head -c 200 "$err" | tr '\n' ' ')")
        else
            say "note: $env $check wrote to stderr: $(head -c 200 "$err" | tr '\n' ' ')"
        fi
    fi
    if [ "$max_ms" -gt 0 ] && [ "$ms" -gt "$max_ms" ]; then
        problems+=("took ${ms} ms, limit ${max_ms} ms")
    fi
    if [ "${#problems[@]}" -eq 0 ]; then
        record "$env" "$check" ok "${ms} ms"
    else
        local joined=${problems[0]} i
        for ((i = 1; i < ${#problems[@]}; i++)); do joined+="; ${problems[i]}"; done
        record "$env" "$check" FAIL "$joined"
    fi
}

get_env() { # endpoint -> KEY=VALUE lines
    printf '%s\n' AWS_ECR_DISABLE_CACHE=1 AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=x \
        AWS_SECRET_ACCESS_KEY=y "AWS_ENDPOINT_URL_ECR=$1" "AWS_ECR_TIMEOUT=$ECR_TIMEOUT"
}

# ---------------------------------------------------------------- chroot
# run_chroot tree home stdin-text|"" out err arg... ; sets RC and MS. Extra env: lines in $EXTRA_ENV.
EXTRA_ENV=()
run_chroot() {
    local tree=$1 home=$2 input=$3 out=$4 err=$5; shift 5
    local envs=(PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8)
    [ -n "$home" ] && envs+=("HOME=$home")
    envs+=("${EXTRA_ENV[@]}")
    local t0
    t0=$(now_ms)
    RC=0
    if [ -n "$input" ]; then
        printf '%s' "$input" | timeout -k 5 "$RUN_TIMEOUT" env -i "${envs[@]}" \
            chroot "$tree" "${IN_TREE[@]}" "$@" >"$out" 2>"$err" || RC=$?
    else
        timeout -k 5 "$RUN_TIMEOUT" env -i "${envs[@]}" \
            chroot "$tree" "${IN_TREE[@]}" "$@" </dev/null >"$out" 2>"$err" || RC=$?
    fi
    MS=$(( $(now_ms) - t0 ))
}

# Put a CA file at the bundle path of a tree (backing up anything already there).
install_ca() { # tree pem
    local dst="$1$BUNDLE"
    if [ -e "$dst" ] || [ -L "$dst" ]; then
        mv -f -- "$dst" "$dst.static-proof-backup"
        RESTORE+=("$dst.static-proof-backup|$dst")
    fi
    mkdir -p "$(dirname "$dst")"
    CLEANUP_FILES+=("$dst")
    cp -- "$2" "$dst"
    chmod 0644 "$dst"
}
remove_ca() { # tree
    local dst="$1$BUNDLE" pair keep=()
    rm -f -- "$dst"
    for pair in "${RESTORE[@]}"; do
        if [ "${pair#*|}" = "$dst" ]; then mv -f -- "${pair%%|*}" "$dst"; else keep+=("$pair"); fi
    done
    RESTORE=("${keep[@]}")
}

# run_in chroot|docker tree-or-image home stdin-text|"" ca-pem|"" out err arg... ; sets RC, MS.
# With a ca-pem, that file is the distro bundle /etc/ssl/certs/ca-certificates.crt for this run
# (copied into the tree, or bind-mounted read-only into the container); no SSL_CERT_FILE.
run_in() {
    local kind=$1 where=$2 home=$3 input=$4 ca=$5 out=$6 err=$7; shift 7
    if [ "$kind" = chroot ]; then
        [ -z "$ca" ] || install_ca "$where" "$ca"
        run_chroot "$where" "$home" "$input" "$out" "$err" "$@"
        [ -z "$ca" ] || remove_ca "$where"
    elif [ -n "$ca" ]; then
        run_docker "$where" "$input" "$out" "$err" -v "$ca:$BUNDLE:ro" -- "$@"
    else
        run_docker "$where" "$input" "$out" "$err" -- "$@"
    fi
}

# The checks of one environment.
prove() { # chroot|docker env tree-or-image home
    local kind=$1 env=$2 where=$3 home=$4 d="$OUT/${2//[:\/]/_}" limit
    mkdir -p "$d"
    # Time limit for a not-found `get`: AWS_ECR_TIMEOUT + 3 s, + 3 s more for container start-up.
    limit=$(( (ECR_TIMEOUT + 3) * 1000 ))
    [ "$kind" = chroot ] || limit=$(( limit + 3000 ))

    EXTRA_ENV=()
    run_in "$kind" "$where" "$home" "" "" "$d/version.out" "$d/version.err" version
    judge "$env" version "$RC" "$d/version.out" "$d/version.err" "$MS" 0 "$EXPECT_VERSION" 0 0

    mapfile -t EXTRA_ENV < <(get_env "https://127.0.0.1:$refused_port")
    run_in "$kind" "$where" "$home" "$REGISTRY" "" "$d/refused.out" "$d/refused.err" get
    judge "$env" get-refused "$RC" "$d/refused.out" "$d/refused.err" "$MS" 1 "$NOT_FOUND" "$limit" 1

    if [ "$tls" -ne 1 ]; then
        local st=SKIP c
        [ "$tls" -eq -1 ] && st=FAIL
        for c in tls-no-ca tls-wrong-ca tls-get; do record "$env" "$c" "$st" "$tls_reason"; done
        EXTRA_ENV=()
        return 0
    fi
    mapfile -t EXTRA_ENV < <(get_env "$PROOF_ECR_ENDPOINT")
    if [ "$kind" = chroot ] && [ -e "$where$BUNDLE" ]; then
        record "$env" tls-no-ca SKIP "the tree already has $BUNDLE"
    else
        run_in "$kind" "$where" "$home" "$REGISTRY" "" "$d/noca.out" "$d/noca.err" get
        judge "$env" tls-no-ca "$RC" "$d/noca.out" "$d/noca.err" "$MS" 1 "$NOT_FOUND" "$limit" 1
    fi
    if [ -z "$WRONG_CA" ]; then
        record "$env" tls-wrong-ca SKIP "no openssl to make a second CA"
    else
        run_in "$kind" "$where" "$home" "$REGISTRY" "$WRONG_CA" "$d/wrongca.out" "$d/wrongca.err" get
        judge "$env" tls-wrong-ca "$RC" "$d/wrongca.out" "$d/wrongca.err" "$MS" 1 "$NOT_FOUND" "$limit" 1
    fi
    tls_get_proof "$kind" "$env" "$where" "$home" "$d"
    EXTRA_ENV=()
}

# tls_get_proof chroot|docker env tree-or-image home dir: the test CA in the distro's own bundle
# path (no SSL_CERT_FILE), then `get` must return the token from PROOF_ECR_ENDPOINT.
tls_get_proof() {
    local kind=$1 env=$2 where=$3 home=$4 d=$5
    run_in "$kind" "$where" "$home" "$REGISTRY" "$PROOF_CA_PEM" "$d/tls.out" "$d/tls.err" get
    judge "$env" tls-get "$RC" "$d/tls.out" "$d/tls.err" "$MS" 0 "$EXPECT_GET" 0 1
}

# Put the binary into a tree at /docker-credential-ecr-login (removed again on exit), and the
# per-run HOME directory, then run the checks.
prove_chroot() { # env tree home
    local env=$1 tree=$2 home=$3
    CLEANUP_FILES+=("$tree/$NAME")
    cp -- "$bin" "$tree/$NAME"
    chmod 0755 "$tree/$NAME"
    if [ -n "$QEMU" ]; then
        CLEANUP_FILES+=("$tree/qemu-aarch64-static")
        cp -- "$QEMU" "$tree/qemu-aarch64-static"
        chmod 0755 "$tree/qemu-aarch64-static"
    fi
    if [ -n "$home" ]; then
        CLEANUP_FILES+=("$tree$home")
        mkdir -p "$tree$home"
    fi
    prove chroot "$env" "$tree" "$home"
    # Leave the shared tree as it was (the EXIT trap repeats this after an interruption).
    rm -f -- "$tree/$NAME" "$tree/qemu-aarch64-static"
    [ -z "$home" ] || rm -rf -- "${tree:?}$home"
}

# ---------------------------------------------------------------- docker
DOCKER_PULL=()
CONTAINER_N=0
# run_docker image stdin-text|"" out err [docker-args...] -- arg... ; sets RC and MS.
run_docker() {
    local image=$1 input=$2 out=$3 err=$4; shift 4
    local dargs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do dargs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    local e envs=()
    for e in "${EXTRA_ENV[@]}"; do envs+=(-e "$e"); done
    CONTAINER_N=$((CONTAINER_N + 1))
    local cname="static-proof-$$-$CONTAINER_N" t0
    CONTAINERS+=("$cname")
    t0=$(now_ms)
    RC=0
    if [ -n "$input" ]; then
        printf '%s' "$input" | timeout -k 5 "$RUN_TIMEOUT" docker run --rm -i --name "$cname" \
            "${DOCKER_PULL[@]}" --network host -v "$bin:/usr/local/bin/$NAME:ro" "${dargs[@]}" \
            "${envs[@]}" "$image" "$NAME" "$@" >"$out" 2>"$err" || RC=$?
    else
        timeout -k 5 "$RUN_TIMEOUT" docker run --rm --name "$cname" \
            "${DOCKER_PULL[@]}" --network host -v "$bin:/usr/local/bin/$NAME:ro" "${dargs[@]}" \
            "${envs[@]}" "$image" "$NAME" "$@" </dev/null >"$out" 2>"$err" || RC=$?
    fi
    MS=$(( $(now_ms) - t0 ))
    if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then docker rm -f "$cname" >/dev/null 2>&1 || true; fi
}

prove_docker() { # env image
    prove docker "$1" "$2" ""
}

# ---------------------------------------------------------------- run
# Decide what runs, then prepare trees and images (before any proof touches a tree, so that an
# image never captures the copied binary), then the chroot rows, then the container rows.
do_chroot=1 do_docker=1
chroot_skip='' docker_skip=''
if [ "${PROOF_CHROOT:-1}" = 0 ]; then
    do_chroot=0 chroot_skip="PROOF_CHROOT=0"
elif [ "$(id -u)" -ne 0 ]; then
    do_chroot=0 chroot_skip="chroot needs root"
    say "*** SKIP: chroot proofs need root ***"
fi
if [ "$ARM64" -eq 1 ]; then
    do_docker=0   # no arm64 container rows (they would need binfmt_misc): none listed either
elif [ "${PROOF_DOCKER:-1}" = 0 ]; then
    do_docker=0 docker_skip="PROOF_DOCKER=0"
elif ! command -v docker >/dev/null 2>&1 || ! timeout 20 docker info >/dev/null 2>&1; then
    do_docker=0 docker_skip="no Docker engine"
    say "*** SKIP: docker proofs (no Docker engine reachable) ***"
fi

# The chroot trees (and the name suffix of the rows) for this binary.
if [ "$ARM64" -eq 1 ]; then
    TREES=(alpine-like-arm64) SUFFIX=-arm64 ROOTFS_CMD=alpine-like-arm64
else
    TREES=(alpine-like debian-minbase) SUFFIX='' ROOTFS_CMD=all
fi
trees_ok=1
rootfs_err=
import_ok=1
if [ "$do_chroot" -eq 1 ] && [ -n "$QEMU_ERR" ]; then
    trees_ok=0
    rootfs_err=$QEMU_ERR
    say "ERROR: $QEMU_ERR"
elif [ "$do_chroot" -eq 1 ]; then
    t0=$(now_ms)
    mkdir -p "$ROOT/target/rootfs"
    if ! "$ROOT/tests/e2e/rootfs" "$ROOTFS_CMD" >"$OUT/rootfs.log" 2>&1; then
        trees_ok=0
        rootfs_err="tests/e2e/rootfs failed: $(tail -n 1 "$OUT/rootfs.log")"
        tail -n 20 "$OUT/rootfs.log" >&2
    fi
    say "rootfs trees ready in $(( $(now_ms) - t0 )) ms"
fi
if [ "$do_docker" -eq 1 ]; then
    if docker run --help 2>/dev/null | grep -q -- '--pull'; then DOCKER_PULL=(--pull never); fi
    t0=$(now_ms)
    # Builds the trees first when they are missing (that needs root, for debootstrap).
    if ! "$ROOT/tests/e2e/rootfs" import >"$OUT/import.log" 2>&1; then
        import_ok=0
        tail -n 20 "$OUT/import.log" >&2
    fi
    say "docker images ready in $(( $(now_ms) - t0 )) ms"
fi

if [ "$do_chroot" -eq 0 ]; then
    for t in "${TREES[@]}" "empty$SUFFIX"; do add_env "chroot:$t"; skip_env "chroot:$t" "$chroot_skip"; done
else
    # One proof run at a time: the trees are shared.
    exec {LOCK_FD}>"$ROOT/target/rootfs/.proof.lock"
    flock "$LOCK_FD"
    for t in "${TREES[@]}"; do
        add_env "chroot:$t"
        tree="$ROOT/target/rootfs/$t"
        if [ "$trees_ok" -eq 0 ] || [ ! -d "$tree" ]; then
            for c in "${CHECKS[@]}"; do record "chroot:$t" "$c" FAIL "${rootfs_err:-no tree at $tree}"; done
            continue
        fi
        # HOME: a per-run directory inside the tree (the log lands there), removed afterwards.
        prove_chroot "chroot:$t" "$tree" "/tmp/static-proof-home.$$"
    done
    e="chroot:empty$SUFFIX"
    add_env "$e"
    empty=$(mktemp -d "$ROOT/target/rootfs/.proof-empty.XXXXXX")
    TMP_DIRS+=("$empty")
    chmod 0755 "$empty"
    # Only the binary (arm64 on x86_64: and qemu-aarch64-static): no HOME, no /etc (no hosts,
    # passwd or CA bundle), no /tmp, no /proc.
    if [ -n "$QEMU_ERR" ]; then
        for c in "${CHECKS[@]}"; do record "$e" "$c" FAIL "$QEMU_ERR"; done
    elif "$ROOT/tests/e2e/rootfs" empty "$empty" "$bin:/$NAME" 2>>"$OUT/rootfs.log"; then
        prove_chroot "$e" "$empty" ""
    else
        for c in "${CHECKS[@]}"; do record "$e" "$c" FAIL "tests/e2e/rootfs empty failed"; done
    fi
fi

docker_envs=(alpine-like debian-minbase)
if [ "$ARM64" -eq 1 ]; then
    :   # no container rows for arm64
elif [ "$do_docker" -eq 0 ]; then
    for t in "${docker_envs[@]}"; do add_env "docker:$t"; skip_env "docker:$t" "$docker_skip"; done
else
    for t in "${docker_envs[@]}"; do
        add_env "docker:$t"
        image="$IMAGE_PREFIX/$t:latest"
        if [ "$import_ok" -eq 0 ] || ! docker image inspect "$image" >/dev/null 2>&1; then
            for c in "${CHECKS[@]}"; do
                record "docker:$t" "$c" FAIL "image $image missing (tests/e2e/rootfs import failed)"
            done
            continue
        fi
        prove_docker "docker:$t" "$image"
    done
fi

# ---------------------------------------------------------------- summary
fails=0
skips=0
for e in "${ENVS[@]}"; do
    for c in "${CHECKS[@]}"; do
        case ${RESULT["$e|$c"]:-SKIP} in FAIL) fails=$((fails + 1)) ;; SKIP) skips=$((skips + 1)) ;; esac
    done
done
{
    echo
    echo "static proof of $bin ($(stat -c %s "$bin") bytes)"
    printf '%-26s' environment
    for c in "${CHECKS[@]}"; do printf ' %-12s' "$c"; done
    echo
    for e in "${ENVS[@]}"; do
        printf '%-26s' "$e"
        for c in "${CHECKS[@]}"; do
            printf ' %-12s' "${RESULT["$e|$c"]:-SKIP}"
        done
        echo
    done
    for e in "${ENVS[@]}"; do
        for c in "${CHECKS[@]}"; do
            if [ "${RESULT["$e|$c"]:-}" = FAIL ]; then
                printf 'FAIL %s %s: %s\n' "$e" "$c" "${DETAIL["$e|$c"]}"
            fi
        done
    done
    [ "$tls" -ne 0 ] || echo "SKIP: tls get proof (no PROOF_ECR_ENDPOINT)"
    echo "static-proof: $fails FAIL, $skips SKIP"
    if [ "${PROOF_STRICT:-0}" = 1 ] && [ "$skips" -gt 0 ]; then
        echo "static-proof: PROOF_STRICT=1 and $skips SKIP: failing"
    fi
}
[ "$fails" -eq 0 ] || exit 1
if [ "${PROOF_STRICT:-0}" = 1 ] && [ "$skips" -gt 0 ]; then exit 1; fi
exit 0
