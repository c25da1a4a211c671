"""Concurrent `get`s, all released at once: the stampede (N processes, one registry, empty cache:
how many API calls) and lost entries (10 registries at once into one cache: how many survive)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import TYPE_CHECKING

from ..config import EXPECTED_SECRET, REGION, REGISTRY
from ..report import Row
from ..util import die, log

if TYPE_CHECKING:
    from ..core import Bench


def concurrent(b: Bench, binary: str, env: dict[str, str], registries: list[str]) -> list[tuple[int, bytes]]:
    """Starts one `get` per registry, all blocked on stdin, then releases them together."""
    procs = []
    for _ in registries:
        p = subprocess.Popen([binary, "get"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        procs.append(p)
        b.procs.append(p)
    time.sleep(0.5 if len(procs) > 16 else 0.25)  # let every process reach its read of stdin
    for p, reg in zip(procs, registries):
        assert p.stdin is not None
        try:
            p.stdin.write(reg.encode())
            p.stdin.close()
        except BrokenPipeError:
            pass
        p.stdin = None  # closed: communicate() must not flush it
    out = []
    for p in procs:
        stdout, _ = p.communicate(timeout=120)
        out.append((p.returncode, stdout))
        b.procs.remove(p)
    return out


def measure_stampede(b: Bench) -> None:
    nproc = b.n(64, 16)
    trials = b.n(5, 1)
    log(f"{nproc} concurrent cold `get`s of one registry, {trials} trial(s) per binary")
    calls: dict[str, list[float]] = {}
    failed: dict[str, int] = {}
    for t in range(trials):
        for who, binary in b.binaries(t):
            d = b.cache_dir(who, f"stampede-{t}")
            b.server.reset_calls()
            res = concurrent(b, binary, b.base_env(AWS_ECR_CACHE_DIR=d), [REGISTRY] * nproc)
            bad = sum(1 for rc, out in res if rc != 0 or EXPECTED_SECRET.encode() not in out)
            if bad and who == "ours":
                die(f"ours: {bad} of {nproc} concurrent `get`s failed")
            failed[who] = failed.get(who, 0) + bad
            calls.setdefault(who, []).append(float(b.server.api_calls()))
    ours = calls["ours"]
    b.rows.append(
        Row(
            f"API calls, {nproc} concurrent cold `get`s, 1 registry ({trials} trial{'s' if trials > 1 else ''})",
            "n",
            ours,
            calls.get("go"),
            "exactly 1",
            all(c == 1 for c in ours),
        )
    )
    if b.bins.with_go:
        b.notes.append(f"Stampede: {failed.get('go', 0)} of the Go processes failed (ours: 0).")


def cached_accounts(cache_dir: str, accounts: list[str]) -> int:
    """How many of `accounts` have an entry in cache_dir/cache.json (legacy or SHA-256 keys)."""
    try:
        with open(os.path.join(cache_dir, "cache.json"), encoding="utf-8") as f:
            keys = list((json.load(f).get("Registries") or {}).keys())
    except (OSError, ValueError, AttributeError):
        keys = []
    return sum(1 for a in accounts if any(k.endswith("-" + a) for k in keys))


def measure_lost(b: Bench) -> None:
    nreg = 10
    trials = b.n(20, 2)
    log(f"{nreg} registries fetched at once, {trials} trials per binary")
    accounts = [f"{200000000000 + i}" for i in range(nreg)]
    registries = [f"{a}.dkr.ecr.{REGION}.amazonaws.com" for a in accounts]
    lost: dict[str, list[float]] = {}
    for t in range(trials):
        for who, binary in b.binaries(t):
            d = b.cache_dir(who, f"lost-{t}")
            res = concurrent(b, binary, b.base_env(AWS_ECR_CACHE_DIR=d), registries)
            if who == "ours" and any(rc != 0 for rc, _ in res):
                die("ours: a `get` of the 10-registry test failed")
            lost.setdefault(who, []).append(float(nreg - cached_accounts(d, accounts)))

    def text(xs: list[float]) -> str:
        return f"{sum(1 for x in xs if x)}/{len(xs)} trials, {int(sum(xs))} lost"

    ours = lost["ours"]
    go = lost.get("go")
    b.rows.append(
        Row(
            f"entries lost, {nreg} registries at once ({trials} trials)",
            "n",
            ours,
            go,
            "none lost",
            sum(ours) == 0,
            ours_text=text(ours),
            go_text=text(go) if go else None,
            ratio="—",
        )
    )
