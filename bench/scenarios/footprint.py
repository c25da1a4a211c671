"""What one process costs: `version` time, peak RSS (warm and cache off), binary size and the
instructions of the warm path (callgrind; perf when callgrind is missing)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import TYPE_CHECKING, Optional

from .. import hyperfine
from ..config import EXPECTED_SECRET
from ..report import Row
from ..util import die, log, loud, median

if TYPE_CHECKING:
    from ..core import Bench


def measure_version(b: Bench) -> None:
    log("`version`")
    cmds = [(who, f"{path} version", None) for who, path in b.binaries()]
    times = hyperfine.rounds(b, "version", cmds, b.n(300, 10), b.n(20, 2), b.n(3, 1), b.base_env())
    b.add_time_row("`version` (ms)", times, "— (prototype 0.4 ms)")


def peak_rss(b: Bench, who: str, binary: str, mode: str) -> Optional[float]:
    """KiB of one `get` under /usr/bin/time; None when the Go helper failed (counted)."""
    if mode == "warm":
        env = b.base_env(AWS_ECR_CACHE_DIR=b.warm_dirs[who])
    else:
        env = b.base_env(AWS_ECR_CACHE_DIR=b.cache_dir(who, "off"), AWS_ECR_DISABLE_CACHE="true")
    out = b.path("time.out")
    with open(b.reg_file(), "rb") as stdin:
        res = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", out, binary, "get"],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
    if res.returncode != 0 and who == "go":
        b.go_failed(f"rss-{mode}")
        return None
    if res.returncode != 0:
        die(f"{who} `get` ({mode}) under /usr/bin/time failed: {res.stderr[-500:]!r}")
    with open(out, encoding="ascii") as f:
        return float(f.read().strip().splitlines()[-1])


def measure_rss(b: Bench) -> None:
    if not os.access("/usr/bin/time", os.X_OK):
        loud("/usr/bin/time is missing (apt-get install time): no peak RSS rows")
        b.notes.append("Peak RSS: SKIPPED, /usr/bin/time is not installed.")
        return
    log("peak RSS (/usr/bin/time -f %M)")
    results: dict[tuple[str, str], list[float]] = {}
    for i in range(b.n(20, 2)):
        for mode in ("warm", "off"):
            for who, binary in b.binaries(i):
                kib = peak_rss(b, who, binary, mode)
                if kib is not None:
                    results.setdefault((who, mode), []).append(kib)
    for mode, label in (("warm", "peak RSS, warm `get` (KiB)"), ("off", "peak RSS, cache off (KiB)")):
        ours = results[("ours", mode)]
        go = results.get(("go", mode))
        if mode == "warm":
            b.rows.append(Row(label, "KiB", ours, go, "≤ 3 MB (3,072 KiB)", median(ours) <= 3072))
        else:
            b.rows.append(Row(label, "KiB", ours, go))


def measure_size(b: Bench) -> None:
    ours = float(os.stat(b.bins.ours).st_size)
    go = float(os.stat(b.bins.go).st_size) if b.bins.with_go else None
    b.rows.append(
        Row(
            "binary size (bytes)",
            "B",
            [ours],
            [go] if go is not None else None,
            "≤ 4,000,000 (SPEC: uncertain with ECR Public)",
            ours <= 4_000_000,
        )
    )


def perf_works() -> bool:
    res = subprocess.run(["perf", "stat", "-x,", "-e", "instructions:u", "true"], capture_output=True, text=True, check=False)
    return res.returncode == 0 and "not supported" not in res.stderr and "<not" not in res.stderr


def count_instructions(b: Bench, who: str, binary: str, valgrind: Optional[str]) -> float:
    """Instructions of one warm `get`: callgrind's Ir with valgrind, else perf's instructions:u."""
    env = b.base_env(AWS_ECR_CACHE_DIR=b.warm_dirs[who])
    if who == "go":
        # Go's signal-based async preemption (SIGURG) crashes callgrind 3.19.
        env["GODEBUG"] = "asyncpreemptoff=1"
    if valgrind:
        argv = [valgrind, "--tool=callgrind", f"--callgrind-out-file={b.path('callgrind.out')}"]
    else:
        argv = ["perf", "stat", "-x,", "-e", "instructions:u"]
    with open(b.reg_file(), "rb") as stdin:
        res = subprocess.run(
            [*argv, binary, "get"],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
    if valgrind:
        m = re.search(r"Collected : (\d+)", res.stderr)
    else:
        m = re.search(r"^(\d+),[^,]*,instructions", res.stderr, re.M)
    if res.returncode != 0 or not m or EXPECTED_SECRET not in res.stdout:
        tool = "callgrind" if valgrind else "perf"
        die(f"{who} warm `get` under {tool} failed (exit {res.returncode}):\n{res.stderr[-1500:]}")
    return float(m.group(1))


def measure_instructions(b: Bench) -> None:
    valgrind = shutil.which("valgrind")
    perf_ok = False
    if not valgrind and shutil.which("perf"):
        perf_ok = perf_works()
    if not valgrind and not perf_ok:
        loud("neither valgrind nor a working `perf stat -e instructions` : no instruction counts")
        b.notes.append("Instructions: SKIPPED (install valgrind).")
        return
    tool = "callgrind" if valgrind else "perf"
    log(f"instructions of the warm `get` ({tool})")
    counts: dict[str, list[float]] = {}
    for _ in range(b.n(3, 1)):
        for who, binary in b.binaries():
            counts.setdefault(who, []).append(count_instructions(b, who, binary, valgrind))
    label = "instructions, warm `get` (callgrind Ir)" if valgrind else "instructions:u, warm `get` (perf)"
    b.rows.append(Row(label, "n", counts["ours"], counts.get("go")))
    if b.bins.with_go and valgrind:
        b.notes.append("Instructions: Go runs with GODEBUG=asyncpreemptoff=1 (callgrind crashes on SIGURG).")
