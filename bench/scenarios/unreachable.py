"""An unreachable API, cache off: a refused proxy (connection refused) and a black-holed one
(SYNs dropped; ours must give up within AWS_ECR_TIMEOUT, Go's run is capped at 40 s)."""

from __future__ import annotations

import subprocess
import time
from typing import TYPE_CHECKING, Optional

from .. import hyperfine
from ..report import Row
from ..servers import black_hole, refused_port
from ..util import fmt_ratio, log

if TYPE_CHECKING:
    from ..core import Bench

CAP = 40  # seconds a black-holed run may take before it is killed


def measure_refused(b: Bench) -> None:
    runs = b.n(5, 2)
    port = refused_port(b.host)
    log("refused proxy (connection refused), cache off")
    env = b.base_env(AWS_ECR_DISABLE_CACHE="true", HTTPS_PROXY=f"http://{b.host}:{port}")
    binaries = b.binaries() if not b.smoke else [("ours", b.bins.ours)]
    cmds = [(who, hyperfine.command(b, path, b.cache_dir(who, "refused"), "get"), None) for who, path in binaries]
    times = hyperfine.rounds(b, "refused", cmds, runs, 0, 1, env, expect_exit=1)
    b.add_time_row("`get`, refused endpoint (ms)", times, "≤ AWS_ECR_TIMEOUT (15 s)", lambda o, g: o <= 15000)


def run_capped(b: Bench, binary: str, env: dict[str, str]) -> tuple[float, int, bool]:
    """One `get`, killed after CAP seconds: (seconds, exit code, killed)."""
    start = time.monotonic()
    with open(b.reg_file(), "rb") as stdin:
        p = subprocess.Popen([binary, "get"], stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        b.procs.append(p)
        try:
            rc = p.wait(timeout=CAP)
            killed = False
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc, killed = -9, True
        b.procs.remove(p)
    return time.monotonic() - start, rc, killed


def measure_blackhole(b: Bench) -> None:
    host, port = black_hole(b.host, b.sockets)
    ours_timeout = 2 if b.smoke else 15
    extra = {"AWS_ECR_DISABLE_CACHE": "true", "HTTPS_PROXY": f"http://{host}:{port}"}
    results: dict[str, tuple[float, int, bool]] = {}
    runs: list[tuple[str, str, dict[str, str]]] = [
        ("ours", b.bins.ours, {"AWS_ECR_TIMEOUT": str(ours_timeout)} if b.smoke else {})
    ]
    if b.bins.with_go and not b.smoke:
        runs.append(("go", b.bins.go, {}))
    for who, binary, more in runs:
        log(f"black-holed proxy: {who} (cap {CAP} s)")
        env = b.base_env(AWS_ECR_CACHE_DIR=b.cache_dir(who, "blackhole"), **extra, **more)
        results[who] = run_capped(b, binary, env)
    b.rows.append(blackhole_row(b, results, ours_timeout))


def blackhole_row(b: Bench, results: dict[str, tuple[float, int, bool]], ours_timeout: int) -> Row:
    def text(who: str) -> Optional[str]:
        if who not in results:
            return None
        secs, rc, killed = results[who]
        return f"> {CAP} s (killed)" if killed else f"{secs:.2f} s (exit {rc})"

    o_secs = results["ours"][0]
    go_text = text("go")
    ratio = "—"
    if "go" in results:
        ratio = ("≥ " if results["go"][2] else "") + fmt_ratio(results["go"][0], o_secs)
    elif b.bins.with_go:
        go_text = "not run (smoke)"
    label = "`get`, black-holed endpoint (1 run)"
    if b.smoke:
        label += f", ours with AWS_ECR_TIMEOUT={ours_timeout}"
    return Row(
        label,
        "s",
        [o_secs],
        None,
        f"≤ AWS_ECR_TIMEOUT ({ours_timeout} s)",
        o_secs <= ours_timeout + 0.5 and results["ours"][1] == 1,
        ours_text=text("ours"),
        go_text=go_text,
        ratio=ratio,
    )
