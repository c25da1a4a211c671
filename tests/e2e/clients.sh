#!/usr/bin/env bash
# shellcheck disable=SC2317 # the t_* check functions run indirectly, through check()
# tests/e2e/clients.sh -- the static helper with REAL clients, end to end (SPEC 3, 7, 11, 13).
#
# Usage: tests/e2e/clients.sh PATH/TO/docker-credential-ecr-login
#
# Set up (loopback only, all torn down by the EXIT trap):
#   * the ECR API: moto (tests/support/ecr_server.py) on http://127.0.0.M:PORT. The helper reaches
#     it through AWS_ENDPOINT_URL_ECR (and _ECR_PUBLIC) with fake keys, AWS_EC2_METADATA_DISABLED
#     and a temporary AWS_ECR_CACHE_DIR (a fresh one per check, so that each check's API call
#     count shows that OUR binary answered: Debian's Go helper at /usr/bin honours no endpoint
#     override and cannot reach moto).
#   * the "ECR registry": Debian's docker-registry posing as
#     123456789012.dkr.ecr.us-east-1.amazonaws.com on 127.0.0.R:443, with TLS (a test CA from
#     tests/support/gen-test-ca.sh) and htpasswd (bcrypt) auth: user AWS, password
#     123456789012-auth-token, which is exactly what moto's token decodes to.
#   * an "other registry": a second, anonymous docker-registry, registry.e2e-clients.test on
#     127.0.0.O:443 (same storage): the registry whose not-found answer must never abort a client.
#   * a tiny image (one file; an OCI layout built here by hand), pushed with
#     skopeo copy --dest-creds (the helper is not involved in the push).
#
# Name resolution never leaves the machine, and whatever /etc/hosts already says about the three
# names (the registry, the other registry, the alias) (nothing, or another address) neither breaks a run nor is lost by it:
#   * skopeo runs in private mount namespaces (unshare -m) with a hosts file bind-mounted over
#     /etc/hosts: our lines, then the machine's file minus any line naming our hosts.
#     Nothing global changes, and each mount dies with its namespace.
#   * DinD job containers get the names with --add-host.
#   * The Docker engine runs outside our namespaces and resolves registry names through the
#     machine's /etc/hosts. For the docker phases ONLY, this script puts three lines tagged
#     "# ecr-login e2e-clients.sh <pid>" at the TOP of /etc/hosts (the file is rewritten in
#     place, never replaced: it may be a bind mount). Resolvers take the first line that names a
#     host (glibc) or try the addresses in file order (Go), so an existing line that maps a name
#     to another address stays but loses to ours. The trap deletes exactly the tagged lines
#     (every other byte stays as it was) and FAILs the run unless /etc/hosts then has the
#     sha256 it had before; tagged lines left by a killed run are removed at start.
#   * TLS: /etc/docker/certs.d/{<host>,<host>:443,<other>,<alias>}/ gets this run's CA as
#     ecr-login-e2e-<pid>.crt (a directory we create is removed by the trap, else only our file).
#     Runs are serialized with flock on target/.e2e-clients.lock.
#
# Every container and every imported or built image carries the label
# org.example.ecr-login-e2e.run=<pid>; the trap removes them (and the pulled test images by
# name), stops the servers and any running check's whole process tree, and deletes the temp dir.
# Labelled leftovers of a run killed with SIGKILL are removed by the next run.
#
# Clients (each a table row; a client that is not installed is a loud SKIP):
#   helper (direct)  the SPEC 11 request shapes: host, host:443, https://host, https://host/v2/,
#                    host/repo; fast exact not-found for other registries; `list` with a stdin
#                    that never closes; store/erase: silent for the ECR host (D18), `not
#                    implemented` for another host unless AWS_ECR_IGNORE_CREDS_STORAGE
#   skopeo           inspect and copy to dir: through credHelpers in an --authfile, host:443, an
#                    unrelated credHelpers entry, registries.conf credential-helpers for every
#                    registry (not-found never aborts; skopeo 1.9.3 needs --registries-conf, it
#                    ignores CONTAINERS_REGISTRIES_CONF), a negative control (no helper: refused),
#                    an alias (AWS_ECR_CONFIG_FILE `[alias NAME]`, D19) of the registry: its token
#                    under another name
#   docker CLI       every docker CLI found on PATH (e.g. a static upstream one and Debian's
#                    docker.io), with credHelpers and with credsStore: manifest inspect (host,
#                    host:443, other registry, an alias of the registry in AWS_ECR_CONFIG_FILE,
#                    D19), login HOST, https://HOST and HOST:443 (get, then
#                    store succeeds for ECR hosts, D18: Login Succeeded), login -u
#                    --password-stdin (store succeeds), logout (erase), pull, legacy `docker build` (credsStore: list + get), and
#                    a BuildKit build (SKIPs when the CLI lacks buildx, or the engine's BuildKit
#                    cannot trust the per-run test CA: it reads certs.d only at engine start)
#   docker engine    pull through the daemon (the CLI passes the helper's answer), host:443, the
#                    other registry, image removed; negative control without a helper
#   docker-py        each distinct one (python3 on PATH, Debian's /usr/bin/python3): pull via
#                    credHelpers, get_all_credentials with credsStore (list, stdin never closed)
#   DinD/job         images docker-imported here from tests/e2e/rootfs trees plus a docker CLI:
#                    alpine-like (busybox + musl, no glibc) with a static CLI, debian-minbase
#                    (glibc) with a dynamic one; --network host, the helper bind-mounted :ro at
#                    /usr/local/bin/docker-credential-ecr-login, the engine socket mounted, a job
#                    docker config naming ecr-login, --add-host; `docker pull` from inside.
#
# Output: per-check lines, then a table (client, version, verbs, result ok/FAIL/SKIP, time);
# every SKIP says why. Exit 1 on any FAIL (E2E_STRICT=1: also on any SKIP), 2 on bad usage.
#
# Environment: ECR_TEST_PYTHON (Python with moto[server]; default target/test-venv/bin/python,
# then python3), ECR_TEST_REQUIRE_SERVER=1 (no moto is a FAIL, not a SKIP), E2E_STRICT=1,
# E2E_KEEP_TMP=1 (keep the temp dir for debugging), E2E_CMD_TIMEOUT (seconds per client command,
# default 120).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly ROOT

readonly ACCOUNT=123456789012
readonly REG_HOST=$ACCOUNT.dkr.ecr.us-east-1.amazonaws.com
readonly OTHER_HOST=registry.e2e-clients.test
readonly ALIAS_HOST=ecr-alias.e2e-clients.test
readonly REG_USER=AWS
readonly REG_PASS=$ACCOUNT-auth-token
readonly REPO=e2e/tiny
readonly TAG=1
readonly NOT_FOUND='credentials not found in native keychain'
readonly HOSTS_TAG='# ecr-login e2e-clients.sh'
readonly IMAGE_PREFIX=ecr-login-e2e
# Every container and built/imported image of a run carries this label (value: the run's PID),
# so that the trap finds them even when a check was killed half-way.
readonly RUN_LABEL=org.example.ecr-login-e2e.run
CMD_TIMEOUT=${E2E_CMD_TIMEOUT:-120}

usage() {
    sed -n '3,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

case ${1:-} in
    -h|--help) usage; exit 0 ;;
    '') usage >&2; exit 2 ;;
esac
[ $# -eq 1 ] || { usage >&2; exit 2; }

say() { printf 'e2e-clients: %s\n' "$*"; }
loud() { printf '\n*** %s ***\n\n' "$*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { # ms -> "12.3 s"
    printf '%d.%d s' $(( $1 / 1000 )) $(( ($1 % 1000) / 100 ))
}
T_START=$(now_ms)

if [ ! -f "$1" ] || [ ! -x "$1" ]; then
    echo "e2e-clients: ERROR: no executable binary at $1 (run ./scripts/build first)" >&2
    exit 1
fi
BIN=$(realpath "$1")
readonly BIN

# ------------------------------------------------------------------------------ results
R_CLIENT=() R_VERSION=() R_VERBS=() R_RESULT=() R_NOTE=() R_MS=()
CUR_CLIENT='' CUR_VERSION='' CUR_VERBS='' CUR_FAILS=0 CUR_CHECKS=0 CUR_T0=0 CUR_NOTE=''
CHECK_SEQ=0
CHECK_PID=
SKIPPED_CHECKS=0

add_row() { # client version verbs result note ms
    R_CLIENT+=("$1") R_VERSION+=("$2") R_VERBS+=("$3") R_RESULT+=("$4") R_NOTE+=("$5") R_MS+=("$6")
}

row_begin() { # client version verbs
    CUR_CLIENT=$1 CUR_VERSION=$2 CUR_VERBS=$3 CUR_FAILS=0 CUR_CHECKS=0 CUR_NOTE=''
    CUR_T0=$(now_ms)
    printf '\n=== %s %s\n' "$1" "$2"
}

row_note() { CUR_NOTE=${CUR_NOTE:+$CUR_NOTE; }$*; }

row_end() {
    local result=ok
    if [ "$CUR_FAILS" -gt 0 ]; then
        result=FAIL
        row_note "$CUR_FAILS of $CUR_CHECKS checks failed"
    elif [ "$CUR_CHECKS" -eq 0 ]; then
        result=FAIL
        row_note "no check ran"
    fi
    add_row "$CUR_CLIENT" "$CUR_VERSION" "$CUR_VERBS" "$result" "$CUR_NOTE" $(( $(now_ms) - CUR_T0 ))
}

row_skip() { # client version verbs reason
    loud "SKIP: $1 ${2:+($2)}: $4"
    add_row "$1" "${2:--}" "$3" SKIP "$4" 0
}

# check DESCRIPTION FUNCTION [ARGS...]: runs FUNCTION in a subshell with `set -e` in force (a
# background job, so that errexit is not suppressed the way it is inside an `if` condition),
# its output captured; prints ok or FAIL plus the output's tail.
check() {
    local desc=$1 rc=0 out t0
    shift
    CHECK_SEQ=$(( CHECK_SEQ + 1 ))
    CUR_CHECKS=$(( CUR_CHECKS + 1 ))
    out="$W/logs/check-$(printf '%03d' "$CHECK_SEQ").log"
    t0=$(now_ms)
    ( set -euo pipefail; "$@" ) </dev/null >"$out" 2>&1 &
    CHECK_PID=$!
    wait "$CHECK_PID" || rc=$?
    CHECK_PID=
    if [ -s "$W/note.$CHECK_SEQ" ]; then row_note "$(paste -sd ';' "$W/note.$CHECK_SEQ")"; fi
    if [ "$rc" -eq 0 ]; then
        printf '  ok    %s (%s)\n' "$desc" "$(secs $(( $(now_ms) - t0 )))"
        if [ -n "${E2E_VERBOSE:-}" ]; then sed 's/^/        | /' "$out"; fi
    elif [ "$rc" -eq 77 ] && [ -s "$W/skip.$CHECK_SEQ" ]; then
        CUR_CHECKS=$(( CUR_CHECKS - 1 ))
        SKIPPED_CHECKS=$(( SKIPPED_CHECKS + 1 ))
        printf '  SKIP  %s *** %s ***\n' "$desc" "$(cat "$W/skip.$CHECK_SEQ")"
        row_note "SKIPPED check '$desc': $(cat "$W/skip.$CHECK_SEQ")"
    else
        CUR_FAILS=$(( CUR_FAILS + 1 ))
        printf '  FAIL  %s (exit %d, %s; log %s)\n' "$desc" "$rc" "$(secs $(( $(now_ms) - t0 )))" "$out"
        tail -n 40 "$out" | sed 's/^/        | /'
    fi
}

fail() { echo "ASSERTION FAILED: $*" >&2; return 1; }
# note TEXT: from inside a check, a remark for the table row (client quirks worth knowing).
note() { echo "NOTE: $*"; echo "$*" >>"$W/note.$CHECK_SEQ"; }
# skip REASON: from inside a check, it cannot run here (exit 77); reported loudly, not a failure.
skip() { echo "$*" >"$W/skip.$CHECK_SEQ"; exit 77; }
tmo() { timeout -k 5 "$CMD_TIMEOUT" "$@"; }
# run CMD...: echo the command (into the check's log), then run it with the client time limit.
run() { printf '+ %s\n' "$*"; tmo "$@"; }

print_table() {
    local i w1=6 w2=7 w3=5
    for i in "${!R_CLIENT[@]}"; do
        if [ "${#R_CLIENT[$i]}" -gt "$w1" ]; then w1=${#R_CLIENT[$i]}; fi
        if [ "${#R_VERSION[$i]}" -gt "$w2" ]; then w2=${#R_VERSION[$i]}; fi
        if [ "${#R_VERBS[$i]}" -gt "$w3" ]; then w3=${#R_VERBS[$i]}; fi
    done
    printf '\n%s\n' "==================== e2e-clients: results ===================="
    printf "%-${w1}s  %-${w2}s  %-${w3}s  %-6s %s\n" client version verbs result time
    for i in "${!R_CLIENT[@]}"; do
        printf "%-${w1}s  %-${w2}s  %-${w3}s  %-6s %s\n" "${R_CLIENT[$i]}" "${R_VERSION[$i]}" \
            "${R_VERBS[$i]}" "${R_RESULT[$i]}" "$(secs "${R_MS[$i]}")"
        if [ -n "${R_NOTE[$i]}" ]; then
            if [ "${R_RESULT[$i]}" = SKIP ]; then
                printf '    ^^^ SKIPPED: %s\n' "${R_NOTE[$i]}"
            else
                printf '    note: %s\n' "${R_NOTE[$i]}"
            fi
        fi
    done
}

# ------------------------------------------------------------------------------ cleanup
W=
PIDS=()               # background servers we started
IMAGES=()             # image references we pulled (by name; also everything labelled RUN_LABEL)
DOCKER_OK=0
CERTS_DIRS=()         # /etc/docker/certs.d/<x> directories we created
CERTS_FILES=()        # our CA files in /etc/docker/certs.d/<x> directories that were there already
CERTS_PARENT_MADE=0   # we created /etc/docker/certs.d itself
HOSTS_EDITED=0
HOSTS_SUM_BEFORE=     # sha256 of /etc/hosts before we added our lines

hosts_sum() { sha256sum </etc/hosts | cut -d' ' -f1; }
# A line this script wrote (any run): "<ip> <host> # ecr-login e2e-clients.sh <pid>".
readonly HOSTS_LINE_RE="[[:space:]]${HOSTS_TAG//./\\.} [0-9]+\$"
# Remove our tagged lines from /etc/hosts and nothing else: sed keeps every other byte (even a
# last line without its newline), and the file is rewritten in place (it may be a bind mount).
hosts_restore() {
    grep -qE "$HOSTS_LINE_RE" /etc/hosts 2>/dev/null || return 0
    local keep
    keep=$(mktemp "${TMPDIR:-/tmp}/e2e-clients-hosts.XXXXXX")
    sed -E "/$HOSTS_LINE_RE/d" /etc/hosts >"$keep" && cat "$keep" >/etc/hosts
    rm -f -- "$keep"
}

# A process and all its descendants (by PID, collected before any is signalled).
descendants() {
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do echo "$c"; descendants "$c"; done
}
# alive PID: running (not gone, not a zombie).
alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}
# stop_pids PID...: SIGTERM, up to 5 s, then SIGKILL. The trap never uses `wait`: a `wait` in a
# trap that interrupted another `wait` can block on the still-running servers forever.
stop_pids() {
    local p i any
    [ $# -gt 0 ] || return 0
    kill "$@" 2>/dev/null || true
    for (( i = 0; i < 50; i++ )); do
        any=0
        for p in "$@"; do if alive "$p"; then any=1; fi; done
        [ "$any" -eq 1 ] || return 0
        sleep 0.1
    done
    kill -9 "$@" 2>/dev/null || true
}
# kill_tree PID: the process and all its descendants.
kill_tree() {
    local all
    all=$(descendants "$1")
    # shellcheck disable=SC2086 # a list of PIDs
    stop_pids "$1" $all
}

# docker_cleanup LABEL-FILTER: containers and images labelled so, plus the pulled names.
docker_cleanup() {
    local ids i
    ids=$(docker ps -aq --filter "label=$1" 2>/dev/null)
    # shellcheck disable=SC2086 # a list of ids
    if [ -n "$ids" ]; then docker rm -f $ids >/dev/null 2>&1; fi
    for i in "${IMAGES[@]}"; do docker image rm -f "$i" >/dev/null 2>&1; done
    ids=$(docker image ls -aq --filter "label=$1" 2>/dev/null | sort -u)
    # shellcheck disable=SC2086
    if [ -n "$ids" ]; then docker image rm -f $ids >/dev/null 2>&1; fi
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local rc=$? d
    set +e
    trap - EXIT INT TERM HUP
    if [ -n "$CHECK_PID" ]; then
        echo "e2e-clients: interrupted; stopping the running check and cleaning up" >&2
        kill_tree "$CHECK_PID"
        sleep 1   # let the engine finish what the killed client had asked for
    fi
    if [ "$DOCKER_OK" -eq 1 ]; then docker_cleanup "$RUN_LABEL=$$"; fi
    stop_pids "${PIDS[@]}"
    if [ "$HOSTS_EDITED" -eq 1 ]; then
        hosts_restore
        if [ "$(hosts_sum)" != "$HOSTS_SUM_BEFORE" ]; then
            echo "e2e-clients: FAIL: /etc/hosts differs from before the run (sha256 $HOSTS_SUM_BEFORE):" >&2
            diff "$W/hosts.before" /etc/hosts >&2
            if [ "$rc" -eq 0 ]; then rc=1; fi
        else
            say "/etc/hosts restored (sha256 $HOSTS_SUM_BEFORE, as before the run)"
        fi
    fi
    rm -f -- "${CERTS_FILES[@]}"
    for d in "${CERTS_DIRS[@]}"; do rm -rf -- "$d"; done
    if [ "$CERTS_PARENT_MADE" -eq 1 ]; then rmdir /etc/docker/certs.d 2>/dev/null; fi
    if [ -n "$W" ] && [ -d "$W" ]; then
        # Our only mounts live in private namespaces; make sure none leaked here.
        if awk -v d="$W" 'index($2, d) == 1 { f = 1 } END { exit !f }' /proc/self/mounts; then
            echo "e2e-clients: WARNING: mounts left below $W; not removing it" >&2
        elif [ -n "${E2E_KEEP_TMP:-}" ]; then
            echo "e2e-clients: kept $W (E2E_KEEP_TMP)" >&2
        else
            rm -rf --one-file-system -- "$W"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ------------------------------------------------------------------------------ preconditions
say "binary: $BIN ($(stat -c %s "$BIN") bytes; $(file -b "$BIN" 2>/dev/null || echo 'file: n/a'))"
HELPER_VERSION_LINE=$("$BIN" version 2>&1 || true)
HELPER_VERSION=$(sed -n 's/^docker-credential-ecr-login (.*) \([^ ]*\)$/\1/p' <<<"$HELPER_VERSION_LINE")
case $HELPER_VERSION_LINE in
    "docker-credential-ecr-login (github.com/awslabs/amazon-ecr-credential-helper/ecr-login) "*) ;;
    *) echo "e2e-clients: ERROR: $BIN version printed: $HELPER_VERSION_LINE" >&2; exit 1 ;;
esac
say "helper version: $HELPER_VERSION"

ALL_ROWS=("helper (direct)" skopeo "docker CLI" "docker engine" docker-py "DinD job alpine-like"
    "DinD job debian-minbase")
skip_everything() { # reason
    local r
    for r in "${ALL_ROWS[@]}"; do row_skip "$r" - - "$1"; done
    print_table
    if [ -n "${E2E_STRICT:-}" ]; then exit 1; fi
    exit 0
}

if [ "$(id -u)" -ne 0 ]; then
    skip_everything "needs root (port 443, mount namespaces, /etc/hosts, /etc/docker/certs.d)"
fi
missing=()
for c in docker-registry htpasswd openssl unshare flock timeout; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
if [ "${#missing[@]}" -gt 0 ]; then
    skip_everything "missing tools: ${missing[*]} (Debian: docker-registry apache2-utils openssl util-linux coreutils)"
fi

# Pythons with moto (each is tried in turn when the server starts: an old moto may import but
# lack what tests/support/ecr_server.py needs).
PYS=()
for cand in "${ECR_TEST_PYTHON:-}" "$ROOT/target/test-venv/bin/python" python3; do
    [ -n "$cand" ] || continue
    if "$cand" -c 'import moto, werkzeug' >/dev/null 2>&1; then PYS+=("$cand"); fi
done
if [ "${#PYS[@]}" -eq 0 ]; then
    if [ "${ECR_TEST_REQUIRE_SERVER:-}" = 1 ]; then
        echo "e2e-clients: FAIL: no Python with moto[server] (ECR_TEST_PYTHON, target/test-venv)" >&2
        exit 1
    fi
    skip_everything "no Python with moto[server]: set ECR_TEST_PYTHON or run scripts/test once"
fi

# One run at a time: /etc/hosts lines and certs.d directories are machine-wide.
mkdir -p "$ROOT/target"
exec {LOCK_FD}>"$ROOT/target/.e2e-clients.lock"
if ! flock -w 900 "$LOCK_FD"; then
    echo "e2e-clients: ERROR: another run holds $ROOT/target/.e2e-clients.lock" >&2
    exit 1
fi
# Lines left by a run that was killed with SIGKILL (we hold the lock: no run is live).
if grep -qE "$HOSTS_LINE_RE" /etc/hosts; then
    say "removing stale lines from /etc/hosts: $(grep -E "$HOSTS_LINE_RE" /etc/hosts | tr '\n' ' ')"
    hosts_restore
fi
for d in "/etc/docker/certs.d/$REG_HOST" "/etc/docker/certs.d/$REG_HOST:443" \
    "/etc/docker/certs.d/$OTHER_HOST" "/etc/docker/certs.d/$ALIAS_HOST"; do
    if [ -f "$d/.e2e-clients" ]; then rm -rf -- "$d"; else rm -f -- "$d"/ecr-login-e2e-*.crt; fi
done

W=$(mktemp -d "${TMPDIR:-/tmp}/e2e-clients.XXXXXX")
chmod 0755 "$W"
mkdir -p "$W"/{logs,bin,cache,aws,home,xdg,ca,certs,oci,layer,registry-data}
touch "$W/aws/config" "$W/aws/credentials"

# ------------------------------------------------------------------------------ environment
# The helper is found on PATH (the clients exec `docker-credential-<name>`): ours first.
ln -s "$BIN" "$W/bin/docker-credential-ecr-login"
export PATH="$W/bin:$PATH"
found=$(command -v docker-credential-ecr-login)
[ "$found" = "$W/bin/docker-credential-ecr-login" ] || { echo "PATH lookup found $found" >&2; exit 1; }
other_helpers=$(type -aP docker-credential-ecr-login | xargs -r realpath | sort -u \
    | grep -vxF "$BIN" | tr '\n' ' ' || true)
say "on PATH first: $found -> $BIN${other_helpers:+ (shadowed: $other_helpers)}"

# Nothing from the caller's AWS or proxy setup may leak in.
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p')
unset HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy NO_PROXY no_proxy \
    DOCKER_CONFIG DOCKER_AUTH_CONFIG DOCKER_CERT_PATH DOCKER_TLS_VERIFY REGISTRY_AUTH_FILE \
    CONTAINERS_REGISTRIES_CONF SSL_CERT_FILE SSL_CERT_DIR
export AWS_ACCESS_KEY_ID=AKIDE2ECLIENTS AWS_SECRET_ACCESS_KEY=e2e-clients-fake-secret
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE="$W/aws/config"
export AWS_SHARED_CREDENTIALS_FILE="$W/aws/credentials" AWS_ECR_LOG_LEVEL=debug AWS_ECR_TIMEOUT=10
export AWS_ECR_CACHE_DIR="$W/cache/default"
export HOME="$W/home" XDG_RUNTIME_DIR="$W/xdg"
export DOCKER_CLI_HINTS=false

pick_ip() { # excluded... -> a free-looking 127.0.0.X
    local ip n
    for (( n = 0; n < 10; n++ )); do
        ip=127.0.0.$(( 100 + RANDOM % 150 ))
        case " $* " in *" $ip "*) continue ;; esac
        if ! ss -Hltn 2>/dev/null | awk '{print $4}' | grep -qE "^($ip|0\.0\.0\.0|\*|\[::\]):443$"; then
            echo "$ip"; return 0
        fi
    done
    return 1
}

wait_port() { # ip port pid seconds
    local i
    for (( i = 0; i < $4 * 10; i++ )); do
        if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# ------------------------------------------------------------------------------ moto
T0=$(now_ms)
MOTO_IP=$(pick_ip) || { echo "no free loopback address" >&2; exit 1; }
MOTO_PORT='' PY=''
for cand in "${PYS[@]}"; do
    : >"$W/logs/moto.out"   # the child opens it later: it must exist before we poll it
    "$cand" "$ROOT/tests/support/ecr_server.py" --host "$MOTO_IP" --port 0 \
        >"$W/logs/moto.out" 2>"$W/logs/moto.err" &
    PIDS+=($!)
    MOTO_PID=$!
    for (( i = 0; i < 300; i++ )); do
        MOTO_PORT=$(sed -n 's/.*"port": *\([0-9]*\).*/\1/p' "$W/logs/moto.out")
        [ -n "$MOTO_PORT" ] && break
        kill -0 "$MOTO_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -n "$MOTO_PORT" ]; then PY=$cand; break; fi
    say "the ECR server did not start with $cand: $(tail -n 1 "$W/logs/moto.err")"
    stop_pids "$MOTO_PID"
done
if [ -z "$MOTO_PORT" ]; then
    tail -n 20 "$W/logs/moto.err" >&2
    if [ "${ECR_TEST_REQUIRE_SERVER:-}" = 1 ]; then
        echo "e2e-clients: FAIL: the moto ECR server did not start (tried: ${PYS[*]})" >&2
        exit 1
    fi
    skip_everything "tests/support/ecr_server.py did not start with ${PYS[*]} (moto too old?); set ECR_TEST_PYTHON or run scripts/test once"
fi
MOTO_URL="http://$MOTO_IP:$MOTO_PORT"
export AWS_ENDPOINT_URL_ECR="$MOTO_URL" AWS_ENDPOINT_URL_ECR_PUBLIC="$MOTO_URL"
say "moto ECR API: $MOTO_URL ($PY, moto $("$PY" -c 'import moto; print(moto.__version__)'); ready in $(secs $(( $(now_ms) - T0 ))))"

moto_calls() { # -> number of ECR + ECR Public API calls so far
    "$PY" -c 'import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1] + "/_test/calls", timeout=10))
print(d["ecr"] + d["ecr-public"])' "$MOTO_URL"
}

# ------------------------------------------------------------------------------ CA, registries
T0=$(now_ms)
"$ROOT/tests/support/gen-test-ca.sh" "$W/ca" "$REG_HOST" "$OTHER_HOST" "$ALIAS_HOST" >/dev/null
cp "$W/ca/ca.pem" "$W/certs/ca.crt"
htpasswd -Bbn "$REG_USER" "$REG_PASS" >"$W/htpasswd" 2>/dev/null

REG_IP='' OTHER_IP=''
start_registry() { # name ip auth(0|1)
    local name=$1 ip=$2 auth=$3 cfg="$W/registry-$1.yml"
    {
        cat <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $W/registry-data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $ip:443
  secret: $(openssl rand -hex 16)
  tls:
    certificate: $W/ca/server.pem
    key: $W/ca/server.key
EOF
        if [ "$auth" = 1 ]; then
            cat <<EOF
auth:
  htpasswd:
    realm: ecr-login-e2e
    path: $W/htpasswd
EOF
        fi
    } >"$cfg"
    docker-registry serve "$cfg" >"$W/logs/registry-$name.log" 2>&1 &
    PIDS+=($!)
    wait_port "$ip" 443 "$!" 15
}

for attempt in 1 2 3; do
    REG_IP=$(pick_ip "$MOTO_IP") && start_registry ecr "$REG_IP" 1 && break
    say "registry on ${REG_IP:-?}:443 did not start (attempt $attempt): $(tail -n 1 "$W/logs/registry-ecr.log")"
    REG_IP=
done
[ -n "$REG_IP" ] || { echo "e2e-clients: FAIL: the ECR-like registry did not start" >&2; exit 1; }
for attempt in 1 2 3; do
    OTHER_IP=$(pick_ip "$MOTO_IP" "$REG_IP") && start_registry other "$OTHER_IP" 0 && break
    OTHER_IP=
done
[ -n "$OTHER_IP" ] || { echo "e2e-clients: FAIL: the other registry did not start" >&2; exit 1; }
say "registries: $REG_HOST = $REG_IP:443 (htpasswd), $OTHER_HOST = $OTHER_IP:443 (anonymous) (ready in $(secs $(( $(now_ms) - T0 ))))"

# The hosts file for private namespaces (skopeo, the namespace sanity check): ours, then the
# machine's lines except those naming our hosts (whatever address they give).
NAMES_RE="[[:space:]](${REG_HOST//./\\.}|${OTHER_HOST//./\\.}|${ALIAS_HOST//./\\.})([[:space:]]|#|\$)"
{
    printf '%s %s\n%s %s\n%s %s\n' "$REG_IP" "$REG_HOST" "$OTHER_IP" "$OTHER_HOST" "$REG_IP" "$ALIAS_HOST"
    grep -vE "$NAMES_RE" /etc/hosts || true
} >"$W/hosts"
HOSTS_SUM_START=$(hosts_sum)
# in_ns CMD...: CMD (not a function) in a private mount namespace whose /etc/hosts is $W/hosts,
# with the client time limit. ns_run: the same, echoing the command first.
in_ns() {
    # shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
    timeout -k 5 "$CMD_TIMEOUT" unshare --mount --propagation private -- /bin/sh -c \
        'mount --bind "$0" /etc/hosts && exec "$@"' "$W/hosts" "$@"
}
ns_run() { printf '+ [mount ns, private /etc/hosts] %s\n' "$*"; in_ns "$@"; }

# ------------------------------------------------------------------------------ the image
# One gzip layer holding /hello.txt; OCI layout by hand, so nothing is pulled from anywhere.
make_oci() {
    local d="$W/oci" ld ls diff cd cs md ms
    mkdir -p "$d/blobs/sha256"
    printf 'hello from tests/e2e/clients.sh\n' >"$W/layer/hello.txt"
    tar --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$W/layer" -cf "$W/layer.tar" hello.txt
    diff=$(sha256sum <"$W/layer.tar" | cut -d' ' -f1)
    gzip -n -c "$W/layer.tar" >"$W/layer.tgz"
    ld=$(sha256sum <"$W/layer.tgz" | cut -d' ' -f1); ls=$(stat -c %s "$W/layer.tgz")
    mv "$W/layer.tgz" "$d/blobs/sha256/$ld"
    printf '{"created":"1970-01-01T00:00:00Z","architecture":"amd64","os":"linux","config":{"Cmd":["/hello.txt"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"tests/e2e/clients.sh"}]}' \
        "$diff" >"$W/config.json"
    cd=$(sha256sum <"$W/config.json" | cut -d' ' -f1); cs=$(stat -c %s "$W/config.json")
    mv "$W/config.json" "$d/blobs/sha256/$cd"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
        "$cd" "$cs" "$ld" "$ls" >"$W/manifest.json"
    md=$(sha256sum <"$W/manifest.json" | cut -d' ' -f1); ms=$(stat -c %s "$W/manifest.json")
    mv "$W/manifest.json" "$d/blobs/sha256/$md"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
        "$md" "$ms" "$TAG" >"$d/index.json"
    printf '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
    rm -f "$W/layer.tar"
    CONFIG_DIGEST=sha256:$cd
}
make_oci

HAVE_SKOPEO=0
if command -v skopeo >/dev/null 2>&1; then HAVE_SKOPEO=1; fi
printf '{}\n' >"$W/empty-auth.json"
printf '%s\n' 'unqualified-search-registries = []' >"$W/registries-plain.conf"
# skopeo 1.9.3 ignores CONTAINERS_REGISTRIES_CONF; its hidden --registries-conf flag works.
SKOPEO=(skopeo --registries-conf "$W/registries-plain.conf")

# Push (the helper is not involved: explicit --dest-creds). skopeo is the only pusher here; with
# no skopeo nothing can be tested against a registry, and every registry row SKIPs.
if [ "$HAVE_SKOPEO" -eq 0 ]; then
    skip_everything "skopeo is not installed: it pushes the test image (apt-get install skopeo)"
fi
T0=$(now_ms)
if ! in_ns "${SKOPEO[@]}" copy --quiet --format v2s2 --dest-cert-dir "$W/certs" \
        --dest-creds "$REG_USER:$REG_PASS" "oci:$W/oci:$TAG" "docker://$REG_HOST/$REPO:$TAG" \
        >"$W/logs/push.log" 2>&1; then
    cat "$W/logs/push.log" >&2
    tail -n 20 "$W/logs/registry-ecr.log" >&2
    echo "e2e-clients: FAIL: could not push the test image with skopeo" >&2
    exit 1
fi
MANIFEST_DIGEST=$(in_ns "${SKOPEO[@]}" inspect --cert-dir "$W/certs" --creds "$REG_USER:$REG_PASS" \
    --format '{{.Digest}}' "docker://$REG_HOST/$REPO:$TAG")
SKOPEO_VERSION=$(skopeo --version | awk '{print $3}')
say "pushed $REG_HOST/$REPO:$TAG ($MANIFEST_DIGEST, config $CONFIG_DIGEST) in $(secs $(( $(now_ms) - T0 )))"

# ------------------------------------------------------------------------------ check helpers
use_cache() { # name: a fresh cache (and log) directory for this check
    export AWS_ECR_CACHE_DIR="$W/cache/$CHECK_SEQ-$1"
    mkdir -p "$AWS_ECR_CACHE_DIR"
}
helper_log() { cat "$AWS_ECR_CACHE_DIR/log/ecr-login.log" 2>/dev/null || true; }
# expect_api_calls BEFORE: our helper (it alone can reach moto) made at least one API call.
expect_api_calls() {
    local now
    now=$(moto_calls)
    echo "moto API calls: $1 -> $now"
    [ "$now" -gt "$1" ] || fail "no ECR API call reached moto: our helper was not the one called"
}
# expect_log ERE: the helper's log for this check has a matching line (and show the log).
expect_log() {
    echo "--- helper log ($AWS_ECR_CACHE_DIR/log/ecr-login.log):"
    helper_log | sed 's/^/    /'
    helper_log | grep -qE -- "$1" || fail "helper log has no line matching /$1/"
}
expect_in() { # file ERE description
    grep -qE -- "$2" "$1" || fail "${3:-output} does not match /$2/"
}
show() { sed 's/"Secret":"[^"]*"/"Secret":"<redacted>"/; s/"Password":"[^"]*"/"Password":"<redacted>"/' "$@"; }

# ------------------------------------------------------------------------------ helper (direct)
t_get_shape() { # input: a get in one of the client shapes answers JSON with the token
    use_cache direct
    local before
    before=$(moto_calls)
    printf '%s' "$1" | tmo docker-credential-ecr-login get >"$W/out.$CHECK_SEQ"
    show "$W/out.$CHECK_SEQ"
    "$PY" - "$W/out.$CHECK_SEQ" "$1" "$REG_USER" "$REG_PASS" <<'EOF'
import json, sys
raw = open(sys.argv[1], "rb").read()
assert raw.endswith(b"}\n"), raw
d = json.loads(raw)
assert list(d) == ["ServerURL", "Username", "Secret"], list(d)
assert d["ServerURL"] == sys.argv[2], d["ServerURL"]
assert d["Username"] == sys.argv[3] and d["Secret"] == sys.argv[4], "wrong credentials"
EOF
    expect_api_calls "$before"
}

t_not_found() { # input: a non-ECR registry: exact not-found, nothing on stderr, fast
    use_cache direct-nf
    local rc=0 t0 ms
    t0=$(now_ms)
    printf '%s' "$1" | tmo docker-credential-ecr-login get >"$W/out.$CHECK_SEQ" 2>"$W/err.$CHECK_SEQ" || rc=$?
    ms=$(( $(now_ms) - t0 ))
    echo "exit $rc in $ms ms; stdout: $(cat "$W/out.$CHECK_SEQ"); stderr: $(cat "$W/err.$CHECK_SEQ")"
    [ "$rc" -eq 1 ] || fail "exit $rc, want 1"
    [ "$(cat "$W/out.$CHECK_SEQ")" = "$NOT_FOUND" ] || fail "stdout is not exactly the not-found text"
    [ ! -s "$W/err.$CHECK_SEQ" ] || fail "stderr is not empty"
    [ "$ms" -lt 1000 ] || fail "not-found took $ms ms"
}

t_list_open_stdin() { # list answers with a stdin that never reaches EOF (docker-py, a TTY)
    use_cache direct-list
    printf '%s' "$REG_HOST" | tmo docker-credential-ecr-login get >/dev/null
    local fifo="$W/fifo.$CHECK_SEQ" rc=0
    mkfifo "$fifo"
    exec 7<>"$fifo"    # a writer stays open: reading stdin would block until the timeout
    timeout -k 2 10 docker-credential-ecr-login list <&7 >"$W/out.$CHECK_SEQ" || rc=$?
    exec 7>&-
    echo "exit $rc; stdout: $(cat "$W/out.$CHECK_SEQ")"
    [ "$rc" -eq 0 ] || fail "list exit $rc (124 = it waited for stdin)"
    # Every cached endpoint (ECR Public is primed too, from the stub), compact, keys sorted.
    "$PY" - "$W/out.$CHECK_SEQ" "https://$REG_HOST" <<'EOF2'
import json, sys
raw = open(sys.argv[1], "rb").read()
assert raw.endswith(b"}\n") and b" " not in raw, raw
d = json.loads(raw)
assert d.get(sys.argv[2]) == "AWS", d
assert list(d) == sorted(d), "keys not sorted"
EOF2
}

t_storage() { # verb ignore(0|1) want(ok|refused) input
    use_cache direct-storage
    local rc=0
    if [ "$2" = 1 ]; then export AWS_ECR_IGNORE_CREDS_STORAGE=true; fi
    printf '%s' "$4" | tmo docker-credential-ecr-login "$1" >"$W/out.$CHECK_SEQ" 2>&1 || rc=$?
    echo "exit $rc; output: $(cat "$W/out.$CHECK_SEQ")"
    if [ "$3" = ok ]; then
        if [ "$rc" -ne 0 ] || [ -s "$W/out.$CHECK_SEQ" ]; then fail "want exit 0 and no output"; fi
    else
        if [ "$rc" -ne 1 ] || [ "$(cat "$W/out.$CHECK_SEQ")" != "not implemented" ]; then
            fail "want exit 1 and exactly 'not implemented'"
        fi
    fi
}

row_direct() {
    row_begin "helper (direct)" "$HELPER_VERSION" "get (5 shapes), get not-found, list, store, erase"
    local s
    for s in "$REG_HOST" "$REG_HOST:443" "https://$REG_HOST" "https://$REG_HOST/v2/" \
        "$REG_HOST/$REPO"; do
        check "get '$s' -> JSON with the token" t_get_shape "$s"
    done
    check "get '$OTHER_HOST' -> exact not-found, fast" t_not_found "$OTHER_HOST"
    check "get 'https://index.docker.io/v1/' (credsStore) -> exact not-found" t_not_found "https://index.docker.io/v1/"
    check "list with a stdin that never closes" t_list_open_stdin
    check "store $REG_HOST -> silent, exit 0 (D18)" t_storage store 0 ok \
        "{\"ServerURL\":\"$REG_HOST\",\"Username\":\"AWS\",\"Secret\":\"x\"}"$'\n'
    check "store $OTHER_HOST -> 'not implemented', exit 1" t_storage store 0 refused \
        "{\"ServerURL\":\"$OTHER_HOST\",\"Username\":\"AWS\",\"Secret\":\"x\"}"$'\n'
    check "store $OTHER_HOST with AWS_ECR_IGNORE_CREDS_STORAGE=true -> silent, exit 0" t_storage store 1 ok \
        "{\"ServerURL\":\"$OTHER_HOST\",\"Username\":\"AWS\",\"Secret\":\"x\"}"$'\n'
    check "erase $REG_HOST -> silent, exit 0 (D18)" t_storage erase 0 ok "$REG_HOST"
    check "erase $OTHER_HOST -> 'not implemented', exit 1" t_storage erase 0 refused "$OTHER_HOST"
    row_end
}

# ------------------------------------------------------------------------------ skopeo
write_authfile() { # file host...: credHelpers naming ecr-login for each host
    local f=$1 h sep=''
    shift
    {
        printf '{"credHelpers":{'
        for h in "$@"; do printf '%s"%s":"ecr-login"' "$sep" "$h"; sep=,; done
        printf '}}\n'
    } >"$f"
}

t_ns_sanity() { # the namespace sees our names; the machine's /etc/hosts is untouched
    local h got
    for h in "$REG_HOST:$REG_IP" "$OTHER_HOST:$OTHER_IP"; do
        got=$(in_ns getent ahostsv4 "${h%%:*}" | awk '{print $1}' | sort -u | paste -sd ' ')
        echo "namespace: ${h%%:*} -> $got"
        [ "$got" = "${h#*:}" ] || fail "the namespace does not resolve ${h%%:*} to ${h#*:} (only)"
    done
    echo "outside: $(grep -E "$NAMES_RE" /etc/hosts || echo 'no line names our hosts')"
    [ "$(hosts_sum)" = "$HOSTS_SUM_START" ] || fail "/etc/hosts changed"
    echo "outside: /etc/hosts untouched (sha256 $HOSTS_SUM_START)"
}

t_skopeo_negative() { # no helper, no creds: the registry refuses (so the other checks mean something)
    use_cache sk-neg
    local rc=0
    in_ns "${SKOPEO[@]}" inspect --authfile "$W/empty-auth.json" --cert-dir "$W/certs" \
        "docker://$REG_HOST/$REPO:$TAG" >"$W/out.$CHECK_SEQ" 2>&1 || rc=$?
    cat "$W/out.$CHECK_SEQ"
    [ "$rc" -ne 0 ] || fail "anonymous inspect succeeded: the registry does not require auth"
    expect_in "$W/out.$CHECK_SEQ" 'unauthorized|authentication required|401' "skopeo's error"
}

t_skopeo_inspect() { # ref-host (host or host:443)
    use_cache sk-inspect
    local auth="$W/auth.$CHECK_SEQ.json" before
    write_authfile "$auth" "$1"
    cat "$auth"
    before=$(moto_calls)
    ns_run "${SKOPEO[@]}" inspect --authfile "$auth" --cert-dir "$W/certs" \
        "docker://$1/$REPO:$TAG" >"$W/out.$CHECK_SEQ"
    grep -E '"(Name|Digest)"' "$W/out.$CHECK_SEQ"
    expect_in "$W/out.$CHECK_SEQ" "\"Digest\": \"$MANIFEST_DIGEST\"" "skopeo inspect"
    expect_api_calls "$before"
    expect_log "serverURL=\"?$1\"?( |$)"
}

t_skopeo_copy() {
    use_cache sk-copy
    local auth="$W/auth.$CHECK_SEQ.json" before dest="$W/copy.$CHECK_SEQ"
    write_authfile "$auth" "$REG_HOST" "$OTHER_HOST" "unrelated.example.com"
    before=$(moto_calls)
    ns_run "${SKOPEO[@]}" copy --authfile "$auth" --src-cert-dir "$W/certs" \
        "docker://$REG_HOST/$REPO:$TAG" "dir:$dest"
    ls -l "$dest"
    [ -f "$dest/manifest.json" ] || fail "no manifest.json in the dir: copy"
    [ -f "$dest/${CONFIG_DIGEST#sha256:}" ] || fail "the config blob is missing from the dir: copy"
    expect_api_calls "$before"
}

t_skopeo_other() { # the other registry through a credHelpers entry: not-found, anonymous, no abort
    use_cache sk-other
    local auth="$W/auth.$CHECK_SEQ.json"
    write_authfile "$auth" "$REG_HOST" "$OTHER_HOST"
    ns_run "${SKOPEO[@]}" inspect --authfile "$auth" --cert-dir "$W/certs" \
        "docker://$OTHER_HOST/$REPO:$TAG" >"$W/out.$CHECK_SEQ"
    expect_in "$W/out.$CHECK_SEQ" "\"Digest\": \"$MANIFEST_DIGEST\"" "skopeo inspect"
    expect_log "$OTHER_HOST"
}

t_skopeo_global_helpers() { # registries.conf credential-helpers = ["ecr-login"]: asked for every registry
    use_cache sk-global
    local conf="$W/registries.$CHECK_SEQ.conf" before
    printf 'unqualified-search-registries = []\ncredential-helpers = ["ecr-login"]\n' >"$conf"
    cat "$conf"
    before=$(moto_calls)
    ns_run skopeo --registries-conf "$conf" copy --src-cert-dir "$W/certs" \
        "docker://$OTHER_HOST/$REPO:$TAG" "dir:$W/copy-other.$CHECK_SEQ"
    ns_run skopeo --registries-conf "$conf" inspect --cert-dir "$W/certs" \
        "docker://$REG_HOST/$REPO:$TAG" >"$W/out.$CHECK_SEQ"
    expect_in "$W/out.$CHECK_SEQ" "\"Digest\": \"$MANIFEST_DIGEST\"" "skopeo inspect"
    expect_api_calls "$before"
    expect_log "$OTHER_HOST"
}

t_skopeo_alias() { # an alias of the registry (D19): its token, asked for under the alias
    use_cache sk-alias
    local auth="$W/auth.$CHECK_SEQ.json" before
    export AWS_ECR_CONFIG_FILE="$W/ecr-config.$CHECK_SEQ"
    printf '[alias %s]\nregistry = %s\n' "$ALIAS_HOST" "$REG_HOST" >"$AWS_ECR_CONFIG_FILE"
    cat "$AWS_ECR_CONFIG_FILE"
    write_authfile "$auth" "$ALIAS_HOST"
    before=$(moto_calls)
    ns_run "${SKOPEO[@]}" inspect --authfile "$auth" --cert-dir "$W/certs" \
        "docker://$ALIAS_HOST/$REPO:$TAG" >"$W/out.$CHECK_SEQ"
    expect_in "$W/out.$CHECK_SEQ" "\"Digest\": \"$MANIFEST_DIGEST\"" "skopeo inspect"
    expect_api_calls "$before"
    expect_log "Alias.*alias=\"?$ALIAS_HOST\"?( |$)"
}

row_skopeo() {
    row_begin skopeo "$SKOPEO_VERSION" \
        "get via inspect, copy (credHelpers; host, host:443; global credential-helpers)"
    row_note "https:// forms do not apply: skopeo sends host[:port] only"
    check "private mount namespace resolves the fake ECR name; /etc/hosts untouched" t_ns_sanity
    check "negative control: no helper -> the registry refuses" t_skopeo_negative
    check "inspect docker://$REG_HOST/$REPO:$TAG (credHelpers)" t_skopeo_inspect "$REG_HOST"
    check "inspect docker://$REG_HOST:443/... (credHelpers host:443)" t_skopeo_inspect "$REG_HOST:443"
    check "copy docker://$REG_HOST/... -> dir: (with unrelated credHelpers entries)" t_skopeo_copy
    check "inspect $OTHER_HOST via a credHelpers entry: not-found -> anonymous" t_skopeo_other
    check "registries.conf credential-helpers=[ecr-login]: other registry anonymous, ECR authed" \
        t_skopeo_global_helpers
    check "inspect docker://$ALIAS_HOST/... (an alias of $REG_HOST in AWS_ECR_CONFIG_FILE)" t_skopeo_alias
    row_end
}

# ------------------------------------------------------------------------------ docker CLI / engine
DOCKER_WHY=
if ! command -v docker >/dev/null 2>&1; then
    DOCKER_WHY="no docker CLI on PATH"
elif ! tmo docker info >/dev/null 2>&1; then
    DOCKER_WHY="no Docker engine reachable ('docker info' failed)"
else
    DOCKER_OK=1
fi

# docker CLIs: every distinct `docker` on PATH.
CLIS=() CLI_VERSIONS=() CLI_KINDS=()
if [ "$DOCKER_OK" -eq 1 ]; then
    declare -A seen_cli=()
    while read -r p; do
        rp=$(realpath "$p")
        [ -z "${seen_cli[$rp]:-}" ] || continue
        seen_cli[$rp]=1
        v=$("$p" --version 2>/dev/null | sed -n 's/^Docker version \([^,]*\),.*/\1/p')
        [ -n "$v" ] || continue
        kind=dynamic
        if file -b "$rp" 2>/dev/null | grep -q 'statically linked'; then kind=static; fi
        CLIS+=("$p") CLI_VERSIONS+=("$v") CLI_KINDS+=("$kind")
        say "docker CLI: $p ($v, $kind)"
    done < <(type -aP docker)
    ENGINE_VERSION=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')
    DOCKER_SOCK=/var/run/docker.sock
    case ${DOCKER_HOST:-} in unix://*) DOCKER_SOCK=${DOCKER_HOST#unix://} ;; esac
fi

# Machine-wide pieces for the engine: /etc/hosts lines and certs.d (see the header).
setup_engine_names() {
    local d tmp existing
    # Containers and images of a run that was killed with SIGKILL (we hold the lock).
    docker_cleanup "$RUN_LABEL"
    if [ ! -d /etc/docker/certs.d ]; then mkdir -p /etc/docker/certs.d; CERTS_PARENT_MADE=1; fi
    for d in "$REG_HOST" "$REG_HOST:443" "$OTHER_HOST" "$ALIAS_HOST"; do
        d=/etc/docker/certs.d/$d
        if [ -e "$d" ]; then
            # Not ours: add our CA beside whatever is there (the engine reads every *.crt).
            CERTS_FILES+=("$d/ecr-login-e2e-$$.crt")
            say "$d exists (not ours): adding ecr-login-e2e-$$.crt to it until exit"
        else
            CERTS_DIRS+=("$d")
            mkdir "$d"
            touch "$d/.e2e-clients"
            CERTS_FILES+=("$d/ecr-login-e2e-$$.crt")
        fi
        cp "$W/ca/ca.pem" "$d/ecr-login-e2e-$$.crt"
    done
    # Our lines go FIRST: an existing line for the same name (any address) stays, but resolvers
    # take the first match (glibc) or try addresses in file order (Go), so ours wins.
    existing=$(grep -E "$NAMES_RE" /etc/hosts || true)
    if [ -n "$existing" ]; then
        say "/etc/hosts already names our hosts (kept; ours go first): $(tr '\n' ';' <<<"$existing")"
    fi
    HOSTS_SUM_BEFORE=$(hosts_sum)
    cp /etc/hosts "$W/hosts.before"
    tmp="$W/hosts.engine"
    {
        printf '%s %s %s\n%s %s %s\n%s %s %s\n' "$REG_IP" "$REG_HOST" "$HOSTS_TAG $$" \
            "$OTHER_IP" "$OTHER_HOST" "$HOSTS_TAG $$" "$REG_IP" "$ALIAS_HOST" "$HOSTS_TAG $$"
        cat "$W/hosts.before"
    } >"$tmp"
    HOSTS_EDITED=1
    cat "$tmp" >/etc/hosts
    say "added to the top of /etc/hosts (until exit): $REG_IP $REG_HOST, $OTHER_IP $OTHER_HOST, $REG_IP $ALIAS_HOST"
    # Go (dockerd, the CLIs) caches /etc/hosts for 5 s: let a cached older copy expire.
    sleep 6
    getent hosts "$REG_HOST" | head -n 1 | grep -q "^$REG_IP " \
        || { echo "e2e-clients: FAIL: $REG_HOST does not resolve to $REG_IP first" >&2; return 1; }
}

IMG_REG="$REG_HOST/$REPO:$TAG"
IMG_REG443="$REG_HOST:443/$REPO:$TAG"
IMG_OTHER="$OTHER_HOST/$REPO:$TAG"
IMG_BUILT="$IMAGE_PREFIX/built:$$"
IMAGES+=("$IMG_REG" "$IMG_REG443" "$IMG_OTHER" "$IMG_BUILT")

rmi() { docker image rm -f "$@" >/dev/null 2>&1 || true; }

mk_dockercfg() { # mode(credHelpers|credsStore|none) [auths-host] -> prints a fresh DOCKER_CONFIG dir
    local d="$W/dockercfg.$CHECK_SEQ.$RANDOM" auths='{}'
    mkdir -p "$d"
    if [ -n "${2:-}" ]; then auths="{\"$2\":{}}"; fi
    case $1 in
        credHelpers) printf '{"auths":%s,"credHelpers":{"%s":"ecr-login","%s":"ecr-login","%s":"ecr-login","%s":"ecr-login"}}\n' \
            "$auths" "$REG_HOST" "$REG_HOST:443" "$OTHER_HOST" "$ALIAS_HOST" >"$d/config.json" ;;
        credsStore) printf '{"auths":%s,"credsStore":"ecr-login"}\n' "$auths" >"$d/config.json" ;;
        none) printf '{"auths":{}}\n' >"$d/config.json" ;;
    esac
    echo "$d"
}

t_manifest() { # cli mode ref-host
    use_cache manifest
    local before
    export DOCKER_CONFIG
    DOCKER_CONFIG=$(mk_dockercfg "$2")
    cat "$DOCKER_CONFIG/config.json"
    before=$(moto_calls)
    DOCKER_CLI_EXPERIMENTAL=enabled run "$1" manifest inspect "$3/$REPO:$TAG" >"$W/out.$CHECK_SEQ"
    cat "$W/out.$CHECK_SEQ"
    expect_in "$W/out.$CHECK_SEQ" "\"digest\": \"$CONFIG_DIGEST\"" "manifest inspect"
    if [ "$3" != "$OTHER_HOST" ]; then
        expect_api_calls "$before"
    fi
    expect_log "$3"
}

t_manifest_alias() { # cli mode: an alias of the registry (D19) in AWS_ECR_CONFIG_FILE
    export AWS_ECR_CONFIG_FILE="$W/ecr-config.$CHECK_SEQ"
    printf '[alias %s]\nregistry = %s\n' "$ALIAS_HOST" "$REG_HOST" >"$AWS_ECR_CONFIG_FILE"
    cat "$AWS_ECR_CONFIG_FILE"
    t_manifest "$1" "$2" "$ALIAS_HOST"
    expect_log "Alias.*alias=\"?$ALIAS_HOST\"?( |$)"
}

# `docker login HOST` with no -u: the CLI gets the stored (helper's) credentials, logs in through
# the engine (which checks them against the registry), then stores them.
t_login() { # cli mode server ignore(0|1)
    use_cache login
    local rc=0 before
    export DOCKER_CONFIG
    DOCKER_CONFIG=$(mk_dockercfg "$2")
    if [ "$4" = 1 ]; then export AWS_ECR_IGNORE_CREDS_STORAGE=true; fi
    before=$(moto_calls)
    run "$1" login "$3" >"$W/out.$CHECK_SEQ" 2>&1 || rc=$?
    cat "$W/out.$CHECK_SEQ"
    echo "exit $rc"
    expect_api_calls "$before"
    expect_log "serverURL=\"?(https://)?${3#https://}\"?( |$)"
    # store succeeds for ECR hosts (D18), with or without AWS_ECR_IGNORE_CREDS_STORAGE.
    [ "$rc" -eq 0 ] || fail "login failed (store must succeed for an ECR host)"
    expect_in "$W/out.$CHECK_SEQ" 'Login Succeeded' "docker login"
    if grep -q 'stored unencrypted' "$W/out.$CHECK_SEQ"; then
        # credHelpers keys are bare hosts; this CLI picks the store for the address as typed.
        note "login $3: this CLI got the credentials from the helper but stored them in config.json (no credHelpers entry for '$3')"
    else
        expect_log 'store'
    fi
    echo "--- config.json after login:"; cat "$DOCKER_CONFIG/config.json"
}

# `docker login -u AWS --password-stdin HOST`: no get; store gets the new credentials.
t_login_stdin() { # cli mode
    use_cache login-stdin
    local rc=0
    export DOCKER_CONFIG
    DOCKER_CONFIG=$(mk_dockercfg "$2")
    printf '%s\n' "$REG_PASS" >"$W/pw.$CHECK_SEQ"
    run "$1" login -u "$REG_USER" --password-stdin "$REG_HOST" <"$W/pw.$CHECK_SEQ" >"$W/out.$CHECK_SEQ" 2>&1 || rc=$?
    cat "$W/out.$CHECK_SEQ"
    echo "exit $rc"
    [ "$rc" -eq 0 ] || fail "login failed (store must succeed for an ECR host, D18)"
    expect_in "$W/out.$CHECK_SEQ" 'Login Succeeded' "docker login"
    expect_log 'store'
}

t_logout() { # cli mode ignore(0|1)
    use_cache logout
    local rc=0
    export DOCKER_CONFIG
    # An auths entry, as `docker login` leaves with a credsStore: the CLI only erases then.
    DOCKER_CONFIG=$(mk_dockercfg "$2" "$REG_HOST")
    if [ "$3" = 1 ]; then export AWS_ECR_IGNORE_CREDS_STORAGE=true; fi
    run "$1" logout "$REG_HOST" >"$W/out.$CHECK_SEQ" 2>&1 || rc=$?
    cat "$W/out.$CHECK_SEQ"
    echo "exit $rc"
    [ "$rc" -eq 0 ] || fail "logout exit $rc: erase failures must be ignored"
    expect_log 'erase'
    echo "--- config.json after logout:"; cat "$DOCKER_CONFIG/config.json"
}

t_pull() { # cli mode image [negative]
    use_cache pull
    local before rc=0
    export DOCKER_CONFIG
    DOCKER_CONFIG=$(mk_dockercfg "$2")
    rmi "$3"
    before=$(moto_calls)
    run "$1" pull "$3" >"$W/out.$CHECK_SEQ" 2>&1 || rc=$?
    cat "$W/out.$CHECK_SEQ"
    if [ "${4:-}" = negative ]; then
        [ "$rc" -ne 0 ] || fail "pull without a helper succeeded: the registry does not require auth"
        # 127.0.0.0/8 is an insecure registry for dockerd by default: after the 401 over TLS it
        # retries plain HTTP on port 80 and reports that error instead.
        expect_in "$W/out.$CHECK_SEQ" \
            'no basic auth credentials|unauthorized|authentication required|http://[^ ]*/v2/.*:80: connect: connection refused' \
            "docker pull"
        grep -qE '"GET /v2/e2e/tiny/manifests/[^ ]* HTTP/[0-9.]+" 401|"GET /v2/ HTTP/[0-9.]+" 401' \
            "$W/logs/registry-ecr.log" || fail "the registry logged no 401"
        return 0
    fi
    [ "$rc" -eq 0 ] || fail "docker pull exit $rc"
    expect_in "$W/out.$CHECK_SEQ" "Digest: $MANIFEST_DIGEST" "docker pull"
    docker image inspect --format '{{.Id}}' "$3" | grep -qx "$CONFIG_DIGEST" \
        || fail "the pulled image's id is not $CONFIG_DIGEST"
    case $3 in "$OTHER_HOST"/*) ;; *) expect_api_calls "$before" ;; esac
    expect_log "${3%%/*}"
    run docker image rm "$3"
    ! docker image inspect "$3" >/dev/null 2>&1 || fail "image $3 still present after rm"
}

t_build_legacy() { # cli mode: the legacy builder sends every credential: list (credsStore) + get
    use_cache build
    local before ctx="$W/build.$CHECK_SEQ" rc=0
    export DOCKER_CONFIG
    DOCKER_CONFIG=$(mk_dockercfg "$2")
    # With a credsStore, `list` is all the CLI sees: prime it from the default region.
    if [ "$2" = credsStore ]; then export AWS_REGION=us-east-1; fi
    mkdir -p "$ctx"
    # The run label on the first step: an interrupted build leaves only images the trap finds.
    printf 'FROM %s\nLABEL %s=%s\n' "$IMG_REG" "$RUN_LABEL" "$$" >"$ctx/Dockerfile"
    rmi "$IMG_REG" "$IMG_BUILT"
    before=$(moto_calls)
    DOCKER_BUILDKIT=0 run "$1" build -t "$IMG_BUILT" "$ctx" >"$W/out.$CHECK_SEQ" 2>&1 || rc=$?
    cat "$W/out.$CHECK_SEQ"
    [ "$rc" -eq 0 ] || fail "docker build exit $rc"
    expect_api_calls "$before"
    if [ "$2" = credsStore ]; then
        # The CLI can only have this https:// key from `list` (the helper primed it from
        # AWS_REGION, then the CLI ran get on every listed key).
        expect_log "serverURL=\"?https://$REG_HOST\"?( |$)"
    else
        expect_log "serverURL=\"?$REG_HOST\"?( |$)"
    fi
    rmi "$IMG_BUILT" "$IMG_REG"
}

t_build_buildkit() { # cli mode: BuildKit in the engine asks the CLI's session for credentials
    use_cache buildkit
    local before ctx="$W/buildkit.$CHECK_SEQ" rc=0
    export DOCKER_CONFIG
    DOCKER_CONFIG=$(mk_dockercfg "$2")
    mkdir -p "$ctx"
    printf 'FROM %s\nLABEL %s=%s\n' "$IMG_REG" "$RUN_LABEL" "$$" >"$ctx/Dockerfile"
    rmi "$IMG_REG" "$IMG_BUILT"
    before=$(moto_calls)
    DOCKER_BUILDKIT=1 run "$1" build --progress plain -t "$IMG_BUILT" "$ctx" >"$W/out.$CHECK_SEQ" 2>&1 || rc=$?
    cat "$W/out.$CHECK_SEQ"
    if [ "$rc" -ne 0 ] && grep -qi 'buildx' "$W/out.$CHECK_SEQ"; then
        skip "BuildKit with this CLI needs the buildx plugin, which is not installed"
    fi
    if [ "$rc" -ne 0 ] && grep -q 'x509: certificate signed by unknown authority' "$W/out.$CHECK_SEQ"; then
        # moby 20.10 builds BuildKit's registry TLS config from /etc/docker/certs.d once, at
        # engine start; the test CA is newer. Restarting a shared engine is out of bounds.
        skip "the engine's BuildKit reads /etc/docker/certs.d only at engine start, so it does not trust this run's test CA (restarting the shared engine is out of scope)"
    fi
    [ "$rc" -eq 0 ] || fail "docker build (BuildKit) exit $rc"
    expect_api_calls "$before"
    expect_log "serverURL=\"?$REG_HOST\"?( |$)"
    rmi "$IMG_BUILT"
}

# DOCKER_AUTH_CONFIG={"credHelpers":...} (what a GitLab runner-wide DOCKER_AUTH_CONFIG puts into
# every job) never gives the docker CLI credentials: CLI <= 28.2 ignores the variable, CLI >= 28.3
# (docker/cli cli/config/configfile/file.go) accepts only "auths" there and prints the JSON error
# on every lookup. With a config file naming the helper as well, the CLI falls back to the file.
t_env_auth_config() { # cli version
    use_cache envauth
    local rc=0 newer=0 out="$W/out.$CHECK_SEQ"
    local msg='Failed to create credential store from DOCKER_AUTH_CONFIG: +json: unknown field "credHelpers"'
    if [ "$(printf '%s\n' 28.3.0 "${2%%[+~]*}" | sort -V | head -n 1)" = 28.3.0 ]; then newer=1; fi
    export DOCKER_CONFIG DOCKER_AUTH_CONFIG
    DOCKER_AUTH_CONFIG="{\"credHelpers\":{\"$REG_HOST\":\"ecr-login\"}}"
    echo "DOCKER_AUTH_CONFIG=$DOCKER_AUTH_CONFIG"
    # 1. the variable alone: no helper call, the registry refuses.
    DOCKER_CONFIG=$(mk_dockercfg none)
    DOCKER_CLI_EXPERIMENTAL=enabled run "$1" manifest inspect "$IMG_REG" >"$out" 2>&1 || rc=$?
    cat "$out"
    [ "$rc" -ne 0 ] || fail "manifest inspect succeeded with credHelpers only in DOCKER_AUTH_CONFIG"
    expect_in "$out" 'unauthorized|authentication required|no basic auth credentials' "manifest inspect"
    ! helper_log | grep -q 'serverURL' || fail "the helper was asked although only DOCKER_AUTH_CONFIG names it"
    if [ "$newer" -eq 1 ]; then
        expect_in "$out" "$msg" "CLI >= 28.3"
    elif grep -q 'DOCKER_AUTH_CONFIG' "$out"; then
        fail "CLI $2 (< 28.3) mentions DOCKER_AUTH_CONFIG"
    else
        note "CLI $2 ignores DOCKER_AUTH_CONFIG (it is read from 28.3 on, and then only 'auths')"
    fi
    # 2. the variable plus a config file naming the helper (what the example job writes).
    local before
    DOCKER_CONFIG=$(mk_dockercfg credHelpers)
    before=$(moto_calls)
    DOCKER_CLI_EXPERIMENTAL=enabled run "$1" manifest inspect "$IMG_REG" >"$out" 2>&1
    cat "$out"
    expect_in "$out" "\"digest\": \"$CONFIG_DIGEST\"" "manifest inspect"
    expect_api_calls "$before"
    if [ "$newer" -eq 1 ]; then expect_in "$out" "$msg" "CLI >= 28.3"; fi
}

row_docker_cli() { # index mode
    local cli=${CLIS[$1]} ver=${CLI_VERSIONS[$1]} mode=$2 verbs
    verbs="get, store, erase (manifest inspect, login, logout, pull, build)"
    if [ "$mode" = credsStore ]; then verbs="list, $verbs"; fi
    row_begin "docker CLI $cli ($mode)" "$ver" "$verbs"
    check "manifest inspect $IMG_REG" t_manifest "$cli" "$mode" "$REG_HOST"
    if [ "$mode" = credHelpers ]; then
        check "manifest inspect $IMG_REG443 (credHelpers key host:443)" t_manifest "$cli" "$mode" "$REG_HOST:443"
    fi
    check "manifest inspect $IMG_OTHER (not-found -> anonymous)" t_manifest "$cli" "$mode" "$OTHER_HOST"
    check "manifest inspect $ALIAS_HOST/$REPO:$TAG (an alias of $REG_HOST in AWS_ECR_CONFIG_FILE)" \
        t_manifest_alias "$cli" "$mode"
    if [ "$mode" = credHelpers ]; then
        check "DOCKER_AUTH_CONFIG={credHelpers}: no credentials from it (>= 28.3: 'unknown field'); a config file still works" \
            t_env_auth_config "$cli" "$ver"
    fi
    check "login $REG_HOST: get, then store succeeds (D18) -> Login Succeeded" t_login "$cli" "$mode" "$REG_HOST" 0
    check "login https://$REG_HOST, AWS_ECR_IGNORE_CREDS_STORAGE=true -> Login Succeeded" \
        t_login "$cli" "$mode" "https://$REG_HOST" 1
    check "login $REG_HOST:443, AWS_ECR_IGNORE_CREDS_STORAGE=true -> Login Succeeded" \
        t_login "$cli" "$mode" "$REG_HOST:443" 1
    check "login -u AWS --password-stdin $REG_HOST -> store succeeds (D18), Login Succeeded" \
        t_login_stdin "$cli" "$mode"
    check "logout $REG_HOST: erase succeeds (D18), exit 0" t_logout "$cli" "$mode" 0
    check "logout $REG_HOST, AWS_ECR_IGNORE_CREDS_STORAGE=true" t_logout "$cli" "$mode" 1
    check "pull $IMG_REG, then rm" t_pull "$cli" "$mode" "$IMG_REG"
    check "legacy build FROM $IMG_REG (DOCKER_BUILDKIT=0)" t_build_legacy "$cli" "$mode"
    if [ "$mode" = credHelpers ]; then
        check "BuildKit build FROM $IMG_REG (DOCKER_BUILDKIT=1)" t_build_buildkit "$cli" "$mode"
    fi
    row_end
}

row_engine() {
    local cli=${CLIS[0]}
    row_begin "docker engine (dockerd)" "$ENGINE_VERSION" "pull (helper via CLI $(basename "$cli") ${CLI_VERSIONS[0]}), image rm"
    check "negative control: pull $IMG_REG without a helper is refused" t_pull "$cli" none "$IMG_REG" negative
    check "pull $IMG_REG (credHelpers), rm" t_pull "$cli" credHelpers "$IMG_REG"
    check "pull $IMG_REG443 (credHelpers host:443), rm" t_pull "$cli" credHelpers "$IMG_REG443"
    check "pull $IMG_OTHER: helper not-found does not abort, rm" t_pull "$cli" credHelpers "$IMG_OTHER"
    check "pull $IMG_REG (credsStore), rm" t_pull "$cli" credsStore "$IMG_REG"
    check "pull $IMG_OTHER (credsStore: not-found -> anonymous), rm" t_pull "$cli" credsStore "$IMG_OTHER"
    row_end
}

# ------------------------------------------------------------------------------ docker-py
cat >"$W/dockerpy_check.py" <<'EOF'
"""docker-py as a client: get_all_credentials (list + get), then pull through the engine."""
import os
import signal
import sys

import docker
from docker import auth

signal.alarm(90)
mode, image, reg = sys.argv[1:4]
# A stdin that never reaches EOF: a helper whose `list` read stdin would hang here (SPEC 3).
r, w = os.pipe()
os.dup2(r, 0)
cfg = auth.load_config()
print("docker-py", docker.__version__, "creds store:", cfg.creds_store, "helpers:", cfg.cred_helpers)
if mode == "list":
    creds = cfg.get_all_credentials()
    print("get_all_credentials keys:", sorted(creds))
    good = [k for k, v in creds.items()
            if reg in k and v and v.get("Username") == "AWS" and v.get("Password")]
    assert good, "no credentials for %s from get_all_credentials" % reg
client = docker.from_env(timeout=60)
repo, tag = image.rsplit(":", 1)
img = client.images.pull(repo, tag=tag)
print("pulled", img.id, img.tags)
client.images.remove(image)
print("removed", image)
EOF

t_dockerpy() { # python mode(credHelpers|credsStore) what(get|list)
    local py=$1
    shift
    use_cache dockerpy
    local before
    export DOCKER_CONFIG
    DOCKER_CONFIG=$(mk_dockercfg "$1")
    if [ "$2" = list ]; then export AWS_REGION=us-east-1; fi
    rmi "$IMG_REG"
    before=$(moto_calls)
    run "$py" "$W/dockerpy_check.py" "$2" "$IMG_REG" "$REG_HOST"
    expect_api_calls "$before"
    expect_log "$REG_HOST"
}

# Every distinct docker-py: python3 on PATH and Debian's /usr/bin/python3 (python3-docker).
row_dockerpy() {
    local py v seen=' ' n=0
    for py in python3 /usr/bin/python3; do
        command -v "$py" >/dev/null 2>&1 || continue
        v=$("$py" -c 'import docker; print(docker.__version__)' 2>/dev/null) || continue
        case $seen in *" $v "*) continue ;; esac
        seen="$seen$v "
        n=$(( n + 1 ))
        row_begin "docker-py ($(command -v "$py"))" "$v" \
            "get, list (no stdin) via get_all_credentials; pull via the engine"
        check "credHelpers: images.pull $IMG_REG" t_dockerpy "$py" credHelpers get
        check "credsStore: get_all_credentials (list, stdin never closes) + images.pull" \
            t_dockerpy "$py" credsStore list
        row_end
    done
    if [ "$n" -eq 0 ]; then
        row_skip docker-py - "list, get" "no python3 can import docker (apt-get install python3-docker)"
    fi
}

# ------------------------------------------------------------------------------ DinD / job pattern
# The job a GitLab DinD job would run: a job docker config naming ecr-login, the helper from
# /usr/local/bin (bind-mounted :ro), `docker pull` through the mounted engine socket.
# shellcheck disable=SC2016 # expanded by the container's shell
JOB_SCRIPT='set -e
echo "job: $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}")"
if [ -e /lib/ld-musl-x86_64.so.1 ]; then echo "libc: musl"; fi
if ls /lib/x86_64-linux-gnu/libc.so.6 >/dev/null 2>&1; then echo "libc: glibc"; else echo "glibc: none"; fi
echo "helper: $(command -v docker-credential-ecr-login)"
docker-credential-ecr-login version
if [ -n "$E2E_BEFORE_SCRIPT" ]; then
    echo "--- examples/gitlab-runner/.gitlab-ci.yml dind-pull-job before_script; DOCKER_AUTH_CONFIG=${DOCKER_AUTH_CONFIG:-<unset>}"
    eval "$E2E_BEFORE_SCRIPT"
    echo "--- DOCKER_AUTH_CONFIG after it: ${DOCKER_AUTH_CONFIG-<unset>}"
    [ -z "${DOCKER_AUTH_CONFIG+x}" ]
else
    mkdir -p "$HOME/.docker"
    printf "{\"credHelpers\":{\"%s\":\"ecr-login\",\"%s\":\"ecr-login\"}}\n" "$E2E_REG" "$E2E_OTHER" >"$HOME/.docker/config.json"
fi
cat "$HOME/.docker/config.json"
printf %s "$E2E_REG" | docker-credential-ecr-login get >/tmp/get.json
sed "s/\"Secret\":\"[^\"]*\"/\"Secret\":\"<redacted>\"/" /tmp/get.json
grep -q "\"Username\":\"AWS\"" /tmp/get.json
if [ -n "$E2E_CLI" ]; then
    "$E2E_CLI" --version
    "$E2E_CLI" pull "$E2E_REG/$E2E_REPO"
    "$E2E_CLI" pull "$E2E_OTHER/$E2E_REPO"
fi
echo "job: done"'

# make_job_image tree cli-path image: docker-import a tests/e2e/rootfs tree plus a docker CLI.
make_job_image() {
    local tree=$1 cli=$2 image=$3 stage
    stage="$W/stage-$(basename "$1")"
    mkdir -p "$stage/usr/local/bin"
    cp -L "$cli" "$stage/usr/local/bin/docker"
    # The rootfs lock keeps a concurrent tests/e2e/rootfs rebuild from swapping the tree mid-tar.
    flock -w 300 "$ROOT/target/rootfs/.lock" \
        tar --numeric-owner --exclude=./usr/local/bin/docker-credential-ecr-login \
            -cf - -C "$tree" . -C "$stage" ./usr/local/bin/docker \
        | docker import --change 'CMD ["/bin/sh"]' --change "LABEL $RUN_LABEL=$$" - "$image" >/dev/null
}

t_dind() { # image cli-inside(empty: helper only) [example|example-dac]
    use_cache dind
    local before name="$IMAGE_PREFIX-$$-$CHECK_SEQ" job_env=(-e E2E_BEFORE_SCRIPT=)
    if [ -n "${3:-}" ] && [ -z "$EXAMPLE_BEFORE_SCRIPT" ]; then
        skip "no Python with PyYAML to read examples/gitlab-runner/.gitlab-ci.yml"
    fi
    case ${3:-} in
        example) job_env=(-e E2E_BEFORE_SCRIPT="$EXAMPLE_BEFORE_SCRIPT" -e ECR_REGISTRY="$REG_HOST" -e AWS_REGION=us-east-1) ;;
        example-dac) job_env=(-e E2E_BEFORE_SCRIPT="$EXAMPLE_BEFORE_SCRIPT" -e ECR_REGISTRY="$REG_HOST" -e AWS_REGION=us-east-1
            -e DOCKER_AUTH_CONFIG="{\"credHelpers\":{\"$REG_HOST\":\"ecr-login\",\"$OTHER_HOST\":\"ecr-login\"}}") ;;
    esac
    rmi "$IMG_REG" "$IMG_OTHER"
    before=$(moto_calls)
    run docker run --rm --pull never --name "$name" --label "$RUN_LABEL=$$" --network host \
        --add-host "$REG_HOST:$REG_IP" --add-host "$OTHER_HOST:$OTHER_IP" \
        -v "$BIN:/usr/local/bin/docker-credential-ecr-login:ro" \
        -v "$DOCKER_SOCK:/var/run/docker.sock" \
        -v "$AWS_ECR_CACHE_DIR:/ecr-cache" \
        -e AWS_ECR_CACHE_DIR=/ecr-cache -e AWS_ECR_LOG_LEVEL=debug \
        -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_EC2_METADATA_DISABLED=true \
        -e AWS_ENDPOINT_URL_ECR -e E2E_REG="$REG_HOST" -e E2E_OTHER="$OTHER_HOST" \
        -e E2E_REPO="$REPO:$TAG" -e E2E_CLI="$2" "${job_env[@]}" \
        "$1" /bin/sh -c "$JOB_SCRIPT" >"$W/out.$CHECK_SEQ" 2>&1
    cat "$W/out.$CHECK_SEQ"
    expect_in "$W/out.$CHECK_SEQ" '^job: done' "the job"
    expect_api_calls "$before"
    if [ -n "$2" ]; then
        expect_in "$W/out.$CHECK_SEQ" "Digest: $MANIFEST_DIGEST" "docker pull in the job"
        docker image inspect "$IMG_REG" >/dev/null || fail "$IMG_REG not in the engine after the job"
        # The example job without DOCKER_AUTH_CONFIG names only $ECR_REGISTRY.
        if [ "${3:-}" != example ]; then expect_log "$OTHER_HOST"; fi
    fi
    rmi "$IMG_REG" "$IMG_OTHER"
}

# The example's dind-pull-job before_script, as GitLab runs it (t_dind example*).
EXAMPLE_BEFORE_SCRIPT=
for ypy in "$PY" python3 /usr/bin/python3; do
    if EXAMPLE_BEFORE_SCRIPT=$("$ypy" -c 'import sys, yaml
print("\n".join(yaml.safe_load(open(sys.argv[1]))["dind-pull-job"]["before_script"]))' \
        "$ROOT/examples/gitlab-runner/.gitlab-ci.yml" 2>/dev/null); then break; fi
    EXAMPLE_BEFORE_SCRIPT=
done

rows_dind() {
    local alpine_tree debian_tree i static_cli='' dyn_cli='' s_ver='' d_ver='' log="$W/logs/rootfs.log"
    for i in "${!CLIS[@]}"; do
        if [ "${CLI_KINDS[$i]}" = static ] && [ -z "$static_cli" ]; then
            static_cli=${CLIS[$i]} s_ver=${CLI_VERSIONS[$i]}
        elif [ "${CLI_KINDS[$i]}" = dynamic ] && [ -z "$dyn_cli" ]; then
            dyn_cli=${CLIS[$i]} d_ver=${CLI_VERSIONS[$i]}
        fi
    done
    # Trees from tests/e2e/rootfs (cached under target/rootfs; built on first use).
    local t0
    t0=$(now_ms)
    if "$ROOT/tests/e2e/rootfs" alpine-like >>"$log" 2>&1; then
        alpine_tree=$("$ROOT/tests/e2e/rootfs" path alpine-like)
    else
        alpine_tree=
        tail -n 5 "$log" >&2
    fi
    if "$ROOT/tests/e2e/rootfs" debian-minbase >>"$log" 2>&1; then
        debian_tree=$("$ROOT/tests/e2e/rootfs" path debian-minbase)
    else
        debian_tree=
        tail -n 5 "$log" >&2
    fi
    say "rootfs trees ready in $(secs $(( $(now_ms) - t0 )))"

    # alpine-like: busybox + musl, no glibc. A static CLI runs there; a glibc one cannot.
    local img_a="$IMAGE_PREFIX/job-alpine-like:$$" cli_a="$static_cli" note_a=''
    if [ -z "$alpine_tree" ]; then
        row_skip "DinD job alpine-like" - "get, pull" "tests/e2e/rootfs alpine-like failed (see $log)"
    else
        if [ -z "$cli_a" ]; then
            cli_a=${dyn_cli:-${CLIS[0]}}
            note_a="no static docker CLI on this host: the glibc one cannot run here, so only the helper (get) is proved"
        fi
        t0=$(now_ms)
        if ! make_job_image "$alpine_tree" "$cli_a" "$img_a" 2>"$W/logs/import-alpine.log"; then
            row_skip "DinD job alpine-like" - "get, pull" "docker import failed: $(tail -n 1 "$W/logs/import-alpine.log")"
        else
            say "imported $img_a in $(secs $(( $(now_ms) - t0 )))"
            row_begin "DinD job alpine-like (busybox+musl)" "CLI ${s_ver:-none}" \
                "helper get in-container; docker pull (ECR + other registry)"
            if [ -n "$note_a" ]; then
                row_note "$note_a"
                check "job: helper get answers JSON in busybox+musl" t_dind "$img_a" ""
            else
                check "job: helper get + docker pull via the mounted socket" t_dind "$img_a" /usr/local/bin/docker
                check "job: the example's dind-pull-job before_script (ECR_REGISTRY), docker pull" \
                    t_dind "$img_a" /usr/local/bin/docker example
                check "job: the example's before_script with a runner-wide DOCKER_AUTH_CONFIG {credHelpers}, docker pull" \
                    t_dind "$img_a" /usr/local/bin/docker example-dac
            fi
            row_end
        fi
    fi

    # debian-minbase: glibc, with the dynamic (e.g. Debian docker.io) CLI if there is one.
    local img_d="$IMAGE_PREFIX/job-debian-minbase:$$" cli_d=${dyn_cli:-$static_cli} v_d=${d_ver:-$s_ver}
    if [ -z "$debian_tree" ]; then
        row_skip "DinD job debian-minbase" - "get, pull" "tests/e2e/rootfs debian-minbase failed (see $log)"
    else
        t0=$(now_ms)
        if ! make_job_image "$debian_tree" "$cli_d" "$img_d" 2>"$W/logs/import-debian.log"; then
            row_skip "DinD job debian-minbase" - "get, pull" "docker import failed: $(tail -n 1 "$W/logs/import-debian.log")"
        else
            say "imported $img_d in $(secs $(( $(now_ms) - t0 )))"
            row_begin "DinD job debian-minbase (glibc)" "CLI $v_d" \
                "helper get in-container; docker pull (ECR + other registry)"
            check "job: helper get + docker pull via the mounted socket" t_dind "$img_d" /usr/local/bin/docker
            check "job: the example's before_script with a runner-wide DOCKER_AUTH_CONFIG {credHelpers}, docker pull" \
                t_dind "$img_d" /usr/local/bin/docker example-dac
            row_end
        fi
    fi
    rmi "$img_a" "$img_d"
}

# ------------------------------------------------------------------------------ run
row_direct
row_skopeo

if [ "$DOCKER_OK" -eq 1 ]; then
    setup_engine_names
    for i in "${!CLIS[@]}"; do
        row_docker_cli "$i" credHelpers
        row_docker_cli "$i" credsStore
    done
    row_engine
    row_dockerpy
    rows_dind
else
    for r in "docker CLI" "docker engine" docker-py "DinD job alpine-like" "DinD job debian-minbase"; do
        row_skip "$r" - - "$DOCKER_WHY"
    done
fi

# What the helper saw, over every check (the request shapes the real clients sent).
echo
echo "server URLs our helper was asked for (all checks):"
cat "$W"/cache/*/log/ecr-login.log 2>/dev/null | grep -oE 'serverURL=("[^"]*"|[^ ]*)' \
    | sort | uniq -c | sed 's/^/  /' || echo "  (none logged)"

print_table
fails=0 skips=0
for r in "${R_RESULT[@]}"; do
    case $r in FAIL) fails=$(( fails + 1 )) ;; SKIP) skips=$(( skips + 1 )) ;; esac
done
printf '\n%d rows: %d FAIL, %d SKIP (plus %d single checks SKIPPED, see the notes); total %s\n' \
    "${#R_RESULT[@]}" "$fails" "$skips" "$SKIPPED_CHECKS" "$(secs $(( $(now_ms) - T_START )))"
if [ "$fails" -gt 0 ]; then exit 1; fi
if [ $(( skips + SKIPPED_CHECKS )) -gt 0 ] && [ -n "${E2E_STRICT:-}" ]; then
    echo "E2E_STRICT: SKIPs count as failures" >&2
    exit 1
fi
exit 0
