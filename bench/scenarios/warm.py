"""Warm `get`: each binary's own primed cache, no API call; the exec wrapper alone beside it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .. import hyperfine
from ..util import die, log, median

if TYPE_CHECKING:
    from ..core import Bench


def prime_warm_caches(b: Bench) -> None:
    """Each binary primes its own cache (Go 0.6.0 writes legacy keys, we write SHA-256 keys)."""
    for who, binary in b.binaries():
        d = b.cache_dir(who, "warm")
        b.warm_dirs[who] = d
        b.expect_get_ok(who, binary, b.base_env(AWS_ECR_CACHE_DIR=d), "priming the warm cache")
        if not os.path.isfile(os.path.join(d, "cache.json")):
            die(f"{who} wrote no cache.json in {d}")
        b.expect_get_ok(who, binary, b.base_env(AWS_ECR_CACHE_DIR=d), "warm")


def measure_warm(b: Bench) -> None:
    log("warm `get` (cache primed by each binary itself)")
    prime_warm_caches(b)
    b.server.reset_calls()
    cmds = [(who, hyperfine.command(b, path, b.warm_dirs[who], "get"), None) for who, path in b.binaries()]
    cmds.append(("harness", f"{b.bins.wrapper} {b.reg_file()}", None))
    times = hyperfine.rounds(b, "warm", cmds, b.n(300, 10), b.n(20, 2), b.n(3, 1), b.base_env())
    calls = b.server.api_calls()
    harness = [t * 1000 for t in times.pop("harness")]
    h = median(harness)
    b.add_time_row(
        "`get`, warm cache (ms)",
        times,
        "≥ 8× faster and ≤ ~1 ms",
        lambda o, g: o <= 1.0 and (g is None or g / o >= 8),
        alone=harness,
    )
    b.notes.append(
        f"Warm `get`: {calls} API call(s) were made during the timed warm runs (both binaries; "
        f"expected 0). Both sides' `get` timings include the same exec wrapper (hyperfine 1.15 cannot "
        f"feed stdin), whose own median, {h:.3f} ms, is in the \"in both, alone\" column; it is not "
        "subtracted, so the ratio is the gross one (it narrows the ratio)."
    )
