"""Cold `get`s: cache off (AWS_ECR_DISABLE_CACHE=true) and empty cache (cache.json removed before
every run), each in both CA settings. The six commands (ours, Go and the floor program, two
settings) run interleaved in the same hyperfine rounds, and a bare request to the server is sampled
before each round. The floor program (examples/floor.rs: one CONNECT, one rustls handshake, one
signed GetAuthorizationToken, same environment, proxy and bundle) is the least any helper can
do: its own column, like the bare request never subtracted."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING, Callable

from .. import hyperfine
from ..config import API_HOST, REGION
from ..util import die, log, median

if TYPE_CHECKING:
    from ..core import Bench

GOAL = "≤ 0.5× Go"


def sampler(b: Bench, probes: list[float]) -> Callable[[], None]:
    """Samples the server alone (CONNECT, TLS, POST from this process) between rounds."""
    return lambda: probes.extend(b.server.round_trip() for _ in range(b.n(5, 2)))


def add_rows(b: Bench, what: str, times: dict[str, list[float]], probes: list[float]) -> None:
    for key, label, _ in b.ca.settings():
        b.add_time_row(
            f"`get`, {what}, {label} (ms)",
            times,
            GOAL,
            (lambda o, g: g is not None and g / o >= 2) if b.bins.with_go else None,
            setting=key,
            alone=probes,
        )


def floor_cmd(b: Bench, key: str, ca: dict[str, str]) -> hyperfine.Cmd:
    """The floor program of setting `key` (no cache; the same stdin file through the wrapper)."""
    return (f"floor/{key}", hyperfine.command(b, b.bins.floor, None, REGION, API_HOST, env=ca), None)


def expect_floor_ok(b: Bench, env: dict[str, str], key: str) -> None:
    """One run of the floor program that must succeed (exit 0) before it is timed."""
    with open(b.reg_file(), "rb") as stdin:
        res = subprocess.run(
            [b.bins.floor, REGION, API_HOST], stdin=stdin, capture_output=True, env=env, timeout=60, check=False
        )
    if res.returncode != 0 or res.stdout:
        die(f"the floor program ({key}) failed: exit {res.returncode}, stderr {res.stderr[-300:]!r}")


def cache_off(b: Bench, runs: int, nrounds: int, probes: list[float]) -> int:
    """Cache-off rows; returns the API calls the server counted."""
    settings = b.ca.settings()
    names = ", ".join(label for _, label, _ in settings)
    log(f"`get` with AWS_ECR_DISABLE_CACHE=true (SDK + TLS via the CONNECT proxy + API); settings: {names}")
    env = b.base_env(AWS_ECR_DISABLE_CACHE="true")
    for key, _, ca in settings:
        env_ca = dict(b.base_env(AWS_ECR_DISABLE_CACHE="true"), **ca)
        for who, binary in b.binaries():
            d = b.cache_dir(who, f"off-{key}")
            b.expect_get_ok(who, binary, dict(env_ca, AWS_ECR_CACHE_DIR=d), f"cache off, {key}")
        expect_floor_ok(b, env_ca, key)
    b.server.reset_calls()
    cmds = []
    for key, _, ca in settings:
        for who, path in b.binaries():
            d = b.cache_dir(who, f"off-{key}")
            cmds.append((f"{who}/{key}", hyperfine.command(b, path, d, "get", env=ca), None))
        cmds.append(floor_cmd(b, key, ca))
    times = hyperfine.rounds(b, "cacheoff", cmds, runs, b.n(3, 1), nrounds, env, between=sampler(b, probes))
    calls = b.server.api_calls()
    add_rows(b, "cache off", times, probes)
    return calls


def empty_cache(b: Bench, runs: int, nrounds: int, probes: list[float]) -> int:
    """Empty-cache rows; returns the API calls the server counted."""
    log("`get` with an empty cache (cache.json removed before each run)")
    env = b.base_env()
    rm = shutil.which("rm") or "/bin/rm"
    cmds = []
    for key, _, ca in b.ca.settings():
        for who, path in b.binaries():
            d = b.cache_dir(who, f"empty-{key}")
            prep = f"{rm} -f {os.path.join(d, 'cache.json')}"
            cmds.append((f"{who}/{key}", hyperfine.command(b, path, d, "get", env=ca), prep))
        cmds.append(floor_cmd(b, key, ca))
    b.server.reset_calls()
    times = hyperfine.rounds(b, "empty", cmds, runs, b.n(3, 1), nrounds, env, between=sampler(b, probes))
    calls = b.server.api_calls()
    add_rows(b, "empty cache", times, probes)
    return calls


def measure_cold(b: Bench) -> None:
    runs = b.n(60, 3)
    nrounds = b.n(6, 1)
    off: list[float] = []
    empty: list[float] = []
    calls = cache_off(b, runs, nrounds, off)
    calls_empty = empty_cache(b, runs, nrounds, empty)
    allp = off + empty
    server_ms = median(allp)
    b.notes.append(
        f"Cold rows: every run is one GetAuthorizationToken through the CONNECT proxy and TLS "
        f"to moto (server count, both helpers and the floor, both settings, warmups included: {calls} cache-off, "
        f"{calls_empty} empty-cache). The times are gross: moto's answer (Python, on this machine) "
        "is inside both binaries' times and narrows the ratio, but is not subtracted. The \"in both, "
        "alone\" column is the same request (CONNECT, TLS, POST) made from the already running bench "
        f"process, sampled between the same hyperfine rounds (median {server_ms:.2f} ms, "
        f"min {min(allp):.2f}, n = {len(allp)}); it includes that client's own TLS work."
    )
    b.notes.append(
        "Floor (cold rows): `examples/floor.rs`, built by `scripts/build --example floor` exactly like "
        "ours (static musl, same profile and flags) and copied like ours: one CONNECT through the same "
        "proxy, one rustls + ring handshake, one SigV4-signed GetAuthorizationToken (`POST /`, body `{}`), "
        "Connection: close; no runtime, no HTTP library, no SDK, no cache. It gets the same environment "
        "through the same wrapper, in the same interleaved rounds, and parses the same full bundle (in the "
        "distro setting it finds the bind-mounted distro bundle itself, no variable). It is the lower bound "
        "of a cold `get`: `ours/floor` divides the gross medians, nothing is subtracted."
    )
    b.notes.append(b.ca.note())
