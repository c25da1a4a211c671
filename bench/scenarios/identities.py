"""Warm `get` per identity (issue 12): static keys, an assumed role, web identity, SSO, an
instance role and container credentials. Each binary has one cache per identity, primed by
itself; then (1) the calls each makes over N warm `get`s per identity (credential sources and
ECR, from the server's records) and (2) the warm `get` times, all commands of the row in the same
interleaved hyperfine rounds.

Identical conditions: both binaries get the same variables and files per identity. STS and the
SSO portal are reached through the same CONNECT proxy as ECR (Go 0.6.0 ignores
AWS_ENDPOINT_URL*; the test certificate names those hosts too); instance metadata through
AWS_EC2_METADATA_SERVICE_ENDPOINT and container credentials through
AWS_CONTAINER_CREDENTIALS_FULL_URI, both on the server's plain-HTTP control port (both binaries
honour those two variables)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from typing import TYPE_CHECKING

from .. import hyperfine
from ..config import ACCOUNT, EXPECTED_SECRET, REGION
from ..report import Row
from ..util import die, log, median

if TYPE_CHECKING:
    from ..core import Bench

IDENTITIES = [
    ("static", "static keys"),
    ("role", "role profile"),
    ("web", "web identity"),
    ("sso", "SSO"),
    ("instance", "instance role"),
    ("container", "container"),
]
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/bench"
START_URL = "https://bench.awsapps.com/start"
# Which server records are credential-source requests (IMDS: 3 per resolution).
SOURCES = ["sts", "sso", "imds", "container"]


def jwt(exp: int) -> str:
    def b64(d: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{b64({'sub': 'bench', 'exp': exp})}.c2ln"


def write(path: str, text: str) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def identity_vars(b: Bench, name: str) -> dict[str, str]:
    """The variables of one identity on top of the base environment ("" unsets)."""
    if name == "static":
        return {}
    out = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    d = b.path("identities", name)
    if name == "role":
        cfg = (
            f"[profile bench-role]\nrole_arn = {ROLE_ARN}\nsource_profile = bench-base\nregion = {REGION}\n\n"
            "[profile bench-base]\naws_access_key_id = AKIDBENCHBASE0000001\n"
            "aws_secret_access_key = bench-base-secret-key\n"
        )
        out.update(AWS_PROFILE="bench-role", AWS_CONFIG_FILE=write(os.path.join(d, "config"), cfg))
    elif name == "web":
        token = write(os.path.join(d, "token"), jwt(int(time.time()) + 86400))
        out.update(AWS_ROLE_ARN=ROLE_ARN, AWS_ROLE_SESSION_NAME="bench", AWS_WEB_IDENTITY_TOKEN_FILE=token)
    elif name == "sso":
        cfg = (
            f"[profile bench-sso]\nsso_start_url = {START_URL}\nsso_region = {REGION}\n"
            f"sso_account_id = {ACCOUNT}\nsso_role_name = BenchRole\nregion = {REGION}\n"
        )
        out.update(AWS_PROFILE="bench-sso", AWS_CONFIG_FILE=write(os.path.join(d, "config"), cfg))
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
        token = {"accessToken": "bench-sso-token", "expiresAt": expires, "region": REGION, "startUrl": START_URL}
        name_hash = hashlib.sha1(START_URL.encode()).hexdigest()
        write(b.path("home", ".aws", "sso", "cache", f"{name_hash}.json"), json.dumps(token))
    elif name == "instance":
        out.update(AWS_EC2_METADATA_DISABLED="", AWS_EC2_METADATA_SERVICE_ENDPOINT=b.server.control + "/")
    elif name == "container":
        out.update(
            AWS_CONTAINER_CREDENTIALS_FULL_URI=b.server.control + "/_test/container-credentials",
            AWS_CONTAINER_AUTHORIZATION_TOKEN="bench-container-token",
        )
    return out


def env_for(b: Bench, cache: str, extra: dict[str, str]) -> dict[str, str]:
    env = b.base_env(AWS_ECR_CACHE_DIR=cache, **extra)
    return {k: v for k, v in env.items() if v != ""}


def get_ok(b: Bench, binary: str, env: dict[str, str]) -> bool:
    res = b.single_get(binary, env)
    try:
        return res.returncode == 0 and json.loads(res.stdout).get("Secret") == EXPECTED_SECRET
    except ValueError:
        return False


def count_calls(b: Bench, n: int, dirs: dict[tuple[str, str], str]) -> dict[tuple[str, str], dict[str, int]]:
    """Primes each (binary, identity) cache, then counts the calls of `n` warm `get`s."""
    out = {}
    for who, binary in b.binaries():
        for name, _ in IDENTITIES:
            d = b.cache_dir(who, f"id-{name}")
            dirs[(who, name)] = d
            env = env_for(b, d, identity_vars(b, name))
            b.expect_get_ok(who, binary, env, f"priming {name}")
            b.server.reset_calls()
            failed = sum(not get_ok(b, binary, env) for _ in range(n))
            if failed and who != "go":
                die(f"ours: {failed} of {n} warm `get`s with {name} failed")
            if failed:
                b.go_failed(f"ident/{name}", failed)
            out[(who, name)] = b.server.calls_by_service()
    return out


def calls_text(calls: dict[str, int]) -> str:
    parts = [f"{s.upper() if s != 'container' else 'container'} {calls[s]}" for s in SOURCES if calls.get(s)]
    return ", ".join(parts + [f"ECR {calls.get('ecr', 0)}"])


def measure_identities(b: Bench) -> None:
    n = b.n(100, 5)
    log(f"warm `get` per identity: calls over {n} warm gets, then timings")
    dirs: dict[tuple[str, str], str] = {}
    calls = count_calls(b, n, dirs)
    cmds = []
    for name, _ in IDENTITIES:
        for who, path in b.binaries():
            cmds.append((f"{who}/{name}", hyperfine.command(b, path, dirs[(who, name)], "get", env=identity_vars(b, name)), None))
    times = hyperfine.rounds(b, "ident", cmds, b.n(60, 3), b.n(3, 1), b.n(3, 1), b.base_env())
    static = median(times["ours/static"]) * 1000
    for name, label in IDENTITIES:
        b.extra_cpu_rows.append((f"ident/{name}", f"`get`, warm, {label}"))
        goal, check = "—", None
        if name != "static":
            goal = "≤ 1.5× ours static" + (" and ≥ 8× faster than Go" if name == "instance" else "")

            def check(o: float, g: float | None, inst: bool = name == "instance") -> bool:
                return o <= 1.5 * static and (not inst or g is None or g / o >= 8)

        b.add_time_row(f"`get`, warm, {label} (ms)", times, goal, check, setting=name)
    for name, label in IDENTITIES:
        ours = calls[("ours", name)]
        go = calls.get(("go", name))
        resolutions = sum(ours.get(s, 0) for s in SOURCES if s != "imds") + (ours.get("imds", 0) + 2) // 3
        b.rows.append(
            Row(
                f"calls, {n} warm `get`s, {label}",
                "",
                None,
                None,
                "≤ 1 credential resolution and ≤ 1 ECR call",
                resolutions <= 1 and ours.get("ecr", 0) <= 1,
                ours_text=calls_text(ours),
                go_text=calls_text(go) if go is not None else None,
                ratio="—",
            )
        )
    b.notes.append(
        f"Identity rows: one cache per binary and identity, primed by that binary; the calls are the "
        f"server's records over {n} sequential warm `get`s (IMDS: every request, 3 per resolution). STS "
        "and the SSO portal through the same CONNECT proxy for both; instance metadata "
        "(AWS_EC2_METADATA_SERVICE_ENDPOINT) and container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI) "
        "on the server's plain-HTTP port for both. moto's STS issues a new access key id per call, so Go "
        "(keyed by it) misses and adds an entry on every role and web-identity `get`; its cache file grows "
        "through the run, as it would in use."
    )
