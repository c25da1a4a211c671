#!/usr/bin/env bash
# tests/e2e/shared-cache.sh -- one cache directory on a host volume, shared by concurrent job
# containers with the same instance role (issue 12; README "Cache and log").
#
# Usage: tests/e2e/shared-cache.sh PATH/TO/static/docker-credential-ecr-login [CONTAINERS]
#
# Set up (loopback only, all removed by the EXIT trap):
#   * moto and the suite's IMDS stub (tests/support/ecr_server.py) on http://127.0.0.M:PORT:
#     every job container reaches ECR through AWS_ENDPOINT_URL_ECR and instance metadata
#     through AWS_EC2_METADATA_SERVICE_ENDPOINT, the same instance role for all;
#   * a job image docker-imported from the tests/e2e/rootfs alpine-like tree (busybox + musl;
#     nothing is pulled), run with --pull never and --network host, the helper bind-mounted
#     :ro at /usr/local/bin/docker-credential-ecr-login, and one host directory bind-mounted at
#     /ecr-cache with AWS_ECR_CACHE_DIR=/ecr-cache in every container.
#
# Checks:
#   1. CONTAINERS (default 20) containers started together, each waiting for a go file on the
#      shared volume, then each running `get` 3 times: every `get` answers the token, and the
#      ECR API counts exactly ONE GetAuthorizationToken in all (the fetch lock and the cache
#      are shared through the volume).
#   2. A second wave of CONTAINERS containers, one `get` each: no ECR call and no request to
#      instance metadata at all (the cache and the instance-metadata memo beside it serve them).
#
# Docker unusable (no CLI, no engine, no permission), no Python with moto, or no alpine-like
# tree: a loud SKIP and exit 0 (E2E_STRICT=1: exit 1). Any failed check: exit 1.
#
# Environment: ECR_TEST_PYTHON (Python with moto[server]; default target/test-venv/bin/python),
# E2E_STRICT=1, E2E_KEEP_TMP=1 (keep the temp dir).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly ROOT
readonly REG=123456789012.dkr.ecr.us-east-1.amazonaws.com
readonly SECRET=123456789012-auth-token
readonly LABEL=org.example.ecr-login-e2e.run

usage() { sed -n '3,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
say() { printf 'shared-cache: %s\n' "$*"; }
skip() {
    printf '\n*** SKIP shared-cache: %s ***\n\n' "$*" >&2
    [ "${E2E_STRICT:-}" = 1 ] && exit 1
    exit 0
}
fail() { printf 'shared-cache: FAIL: %s\n' "$*" >&2; failed=1; }

case ${1:-} in -h | --help) usage; exit 0 ;; '') usage >&2; exit 2 ;; esac
BIN=$(realpath "$1")
N=${2:-20}
[ -x "$BIN" ] || { echo "shared-cache: ERROR: no executable at $1" >&2; exit 2; }
failed=0

command -v docker >/dev/null || skip "no docker CLI"
docker info >/dev/null 2>&1 || skip "the Docker engine is not reachable: $(docker info 2>&1 | tail -n 1)"
PY=${ECR_TEST_PYTHON:-$ROOT/target/test-venv/bin/python}
"$PY" -c 'import moto' 2>/dev/null || skip "no Python with moto (set ECR_TEST_PYTHON)"
file -L "$BIN" | grep -Eq 'static(-pie)? |statically linked' || skip "$BIN is not a static binary (run scripts/build)"

W=$(mktemp -d)
IMAGE=ecr-login-e2e/shared-cache:$$
SERVER_PID=
cleanup() {
    docker ps -aq --filter "label=$LABEL=$$" | xargs -r docker rm -f >/dev/null 2>&1 || true
    docker image rm -f "$IMAGE" >/dev/null 2>&1 || true
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    if [ "${E2E_KEEP_TMP:-}" = 1 ]; then say "kept $W"; else rm -rf -- "$W"; fi
}
trap cleanup EXIT

# --- the job image -------------------------------------------------------------------------
"$ROOT/tests/e2e/rootfs" alpine-like >"$W/rootfs.log" 2>&1 || skip "tests/e2e/rootfs alpine-like failed: $(tail -n 1 "$W/rootfs.log")"
TREE=$("$ROOT/tests/e2e/rootfs" path alpine-like)
flock -w 300 "$ROOT/target/rootfs/.lock" tar --numeric-owner -cf - -C "$TREE" . \
    | docker import --change 'CMD ["/bin/sh"]' --change "LABEL $LABEL=$$" - "$IMAGE" >/dev/null

# --- moto and the IMDS stub ------------------------------------------------------------------
HOST=127.0.0.$((RANDOM % 150 + 100))
mkfifo "$W/ready"
"$PY" "$ROOT/tests/support/ecr_server.py" --host "$HOST" --port 0 >"$W/ready" 2>"$W/server.log" &
SERVER_PID=$!
read -r -t 60 line <"$W/ready" || { cat "$W/server.log" >&2; echo "shared-cache: ERROR: server did not start" >&2; exit 1; }
PORT=$(printf '%s' "$line" | sed -n 's/.*"port": *\([0-9]*\).*/\1/p')
EP=http://$HOST:$PORT
calls() { # service: requests recorded since the last reset
    curl -s "$EP/_test/calls" | "$PY" -c 'import json, sys
d = json.load(sys.stdin); s = sys.argv[1]
print(d["ecr"] if s == "ecr" else sum(1 for r in d["other"] if r.get("service") == s))' "$1"
}
say "moto + IMDS stub at $EP; $N containers, image $IMAGE"

mkdir -p "$W/cache" "$W/out"
# wave NAME GETS: start $N containers that wait for $W/cache/.go-NAME, then run `get` GETS times.
wave() {
    local name=$1 gets=$2 i
    for i in $(seq "$N"); do
        docker run -d --pull never --label "$LABEL=$$" --network host \
            -v "$BIN:/usr/local/bin/docker-credential-ecr-login:ro" -v "$W/cache:/ecr-cache" \
            -e AWS_ECR_CACHE_DIR=/ecr-cache -e HOME=/root -e AWS_ECR_LOG_LEVEL=debug \
            -e AWS_EC2_METADATA_SERVICE_ENDPOINT="$EP/" -e AWS_ENDPOINT_URL_ECR="$EP" \
            -e REG="$REG" -e GO="/ecr-cache/.go-$name" -e GETS="$gets" \
            "$IMAGE" /bin/sh -c 'while [ ! -e "$GO" ]; do sleep 0.05 2>/dev/null || sleep 1; done
                for i in $(seq "$GETS"); do printf %s "$REG" | docker-credential-ecr-login get || exit 1; echo; done' \
            >"$W/out/$name-$i.id"
    done
    touch "$W/cache/.go-$name"
    for i in $(seq "$N"); do
        local id
        id=$(cat "$W/out/$name-$i.id")
        [ "$(docker wait "$id")" = 0 ] || fail "$name container $i exited non-zero: $(docker logs "$id" 2>&1 | tail -n 3)"
        docker logs "$id" >"$W/out/$name-$i.log" 2>&1
        [ "$(grep -c "\"Secret\":\"$SECRET\"" "$W/out/$name-$i.log")" = "$gets" ] \
            || fail "$name container $i: not $gets answers: $(head -c 300 "$W/out/$name-$i.log")"
        docker rm "$id" >/dev/null
    done
}

curl -s -X POST "$EP/_test/reset" >/dev/null
wave cold 3
ecr=$(calls ecr)
imds=$(calls imds)
say "wave 1: $N containers x 3 gets: $ecr ECR call(s), $imds IMDS request(s)"
[ "$ecr" = 1 ] || fail "wave 1 made $ecr ECR calls, want exactly 1"

curl -s -X POST "$EP/_test/reset" >/dev/null
wave warm 1
ecr=$(calls ecr)
imds=$(calls imds)
say "wave 2: $N containers x 1 get: $ecr ECR call(s), $imds IMDS request(s)"
[ "$ecr" = 0 ] || fail "wave 2 made $ecr ECR calls, want 0"
[ "$imds" = 0 ] || fail "wave 2 made $imds IMDS requests, want 0 (the memo beside the cache)"

if [ "$failed" = 0 ]; then say "PASS"; else exit 1; fi
