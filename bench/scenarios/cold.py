"""Cold `get`s: cache off (AWS_ECR_DISABLE_CACHE=true) and empty cache (cache.json removed before
every run), each in both CA settings. The four commands (ours and Go, two settings) run
interleaved in the same hyperfine rounds, and a bare request to the server is sampled before each
round: its own column, never subtracted."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Callable

from .. import hyperfine
from ..util import log, median

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
    b.server.reset_calls()
    cmds = [
        (f"{who}/{key}", hyperfine.command(b, path, b.cache_dir(who, f"off-{key}"), "get", env=ca), None)
        for key, _, ca in settings
        for who, path in b.binaries()
    ]
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
        f"to moto (server count, both binaries, both settings, warmups included: {calls} cache-off, "
        f"{calls_empty} empty-cache). The times are gross: moto's answer (Python, on this machine) "
        "is inside both binaries' times and narrows the ratio, but is not subtracted. The \"in both, "
        "alone\" column is the same request (CONNECT, TLS, POST) made from the already running bench "
        f"process, sampled between the same hyperfine rounds (median {server_ms:.2f} ms, "
        f"min {min(allp):.2f}, n = {len(allp)}); it includes that client's own TLS work."
    )
    b.notes.append(b.ca.note())
