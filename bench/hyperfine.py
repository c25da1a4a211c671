"""Driving hyperfine: every timed command runs through the exec wrapper with --shell=none (-N),
and the binaries are interleaved (rounds of alternating order, all commands of a row in the same
hyperfine invocation)."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple

from .util import die

if TYPE_CHECKING:
    from .core import Bench

Cmd = Tuple[str, str, Optional[str]]  # label, command, prepare command or None


def command(
    b: Bench, binary: str, cache: Optional[str], *verb: str, stdin: Optional[str] = None, env: Optional[dict[str, str]] = None
) -> str:
    """`benchexec STDIN [AWS_ECR_CACHE_DIR=cache] [VAR=VAL...] binary verb...`."""
    parts = [b.bins.wrapper, stdin or b.reg_file()]
    if cache is not None:
        parts.append(f"AWS_ECR_CACHE_DIR={cache}")
    for k, v in (env or {}).items():
        parts.append(f"{k}={v}")
    parts.append(binary)
    parts.extend(verb)
    return " ".join(parts)


def rounds(
    b: Bench,
    key: str,
    cmds: list[Cmd],
    runs: int,
    warmup: int,
    nrounds: int,
    env: dict[str, str],
    expect_exit: int = 0,
    between: Optional[Callable[[], None]] = None,
) -> dict[str, list[float]]:
    """Runs `cmds` `runs` times each in `nrounds` hyperfine invocations of alternating order;
    returns seconds per label. A label is `who` or `who/setting` (who: ours, go or another
    harness command). Every run of ours must exit with `expect_exit`; the Go helper's other exits
    are counted in b.go_failures (Go 0.6.0 fails now and then, see the notes) and its samples
    kept. `between` runs before each round (e.g. to sample the server alone, interleaved with
    the binaries)."""
    times: dict[str, list[float]] = {label: [] for label, _, _ in cmds}
    per_round = max(2, math.ceil(runs / nrounds))
    for r in range(nrounds):
        if between is not None:
            between()
        order = cmds if r % 2 == 0 else list(reversed(cmds))
        out = b.path(f"hf-{key}-{r}.json")
        argv = hyperfine_argv(b, order, warmup, per_round, out)
        res = subprocess.run(
            argv,
            env=env,
            stdout=sys.stderr if b.args.verbose else subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            die(f"hyperfine ({key}) failed:\n{res.stdout or ''}\n{' '.join(argv)}")
        with open(out, encoding="utf-8") as f:
            data = json.load(f)
        for result in data["results"]:
            collect(b, key, result, times, expect_exit)
        shutil.copy2(out, os.path.join(b.raw_dir, os.path.basename(out)))
    return times


def hyperfine_argv(b: Bench, order: list[Cmd], warmup: int, runs: int, out: str) -> list[str]:
    argv = [b.hyperfine, "-N", "--style", "basic" if b.args.verbose else "none"]
    argv += ["--warmup", str(warmup), "--runs", str(runs), "--export-json", out, "-i"]
    if any(p for _, _, p in order):
        for _, _, prep in order:
            argv += ["--prepare", prep or "/bin/true"]
    for label, _, _ in order:
        argv += ["-n", label]
    argv += [cmd for _, cmd, _ in order]
    return argv


def collect(b: Bench, key: str, result: dict[str, Any], times: dict[str, list[float]], expect_exit: int) -> None:
    """One command's result of one round: its samples, its CPU time, its failures."""
    label = result["command"]
    times[label].extend(result["times"])
    who, _, setting = label.partition("/")
    skey = f"{key}/{setting}" if setting else key
    cpu = b.cpu.setdefault(skey, {}).setdefault(who, [0.0, 0])
    cpu[0] += (result["user"] + result["system"]) * len(result["times"])
    cpu[1] += len(result["times"])
    bad = [c for c in result.get("exit_codes") or [] if c != expect_exit]
    if bad and who != "go":
        die(f"{label} ({key}): {len(bad)} run(s) exited {bad[:5]} (expected {expect_exit})")
    if who == "go":
        b.go_failed(skey, len(bad))
        b.go_runs[skey] = b.go_runs.get(skey, 0) + len(result["times"])
