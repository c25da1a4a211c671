"""Small helpers: logging, number formatting, installing missing tools."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from typing import Any, NoReturn, Optional, Sequence

from .config import DEFAULT_GO


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def loud(msg: str) -> None:
    bar = "!" * 78
    print(f"{bar}\nbench: WARNING: {msg}\n{bar}", file=sys.stderr, flush=True)


def die(msg: str) -> NoReturn:
    print(f"bench: ERROR: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def as_root(argv: list[str]) -> Optional[list[str]]:
    if os.geteuid() == 0:
        return argv
    if shutil.which("sudo"):
        return ["sudo", "-n", *argv]
    return None


def apt_install(pkgs: list[str]) -> None:
    """Install Debian packages the way scripts/test does; never fatal here."""
    if not pkgs:
        return
    if not shutil.which("apt-get"):
        loud(f"missing {' '.join(pkgs)} and no apt-get: install them yourself")
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    update = as_root(["apt-get", "update", "-qq"])
    install = as_root(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *pkgs])
    if update is None or install is None:
        loud(f"missing {' '.join(pkgs)} and no root/sudo to install them")
        return
    log(f"installing {' '.join(pkgs)} with apt-get")
    ok = subprocess.run(update, env=env, stdout=subprocess.DEVNULL, check=False).returncode == 0
    ok = ok and subprocess.run(install, env=env, stdout=subprocess.DEVNULL, check=False).returncode == 0
    if not ok:
        loud(f"could not install {' '.join(pkgs)}")


def install_tools(want_go: bool) -> None:
    want = {"hyperfine": "hyperfine", "openssl": "openssl", "valgrind": "valgrind"}
    missing = [pkg for cmd, pkg in want.items() if not shutil.which(cmd)]
    if not os.access("/usr/bin/time", os.X_OK):
        missing.append("time")
    if not (shutil.which("x86_64-linux-musl-gcc") or shutil.which("cc") or shutil.which("gcc")):
        missing.append("musl-tools")
    if want_go and not os.access(DEFAULT_GO, os.X_OK):
        missing.append("amazon-ecr-credential-helper")
    apt_install(missing)


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def fmt_num(x: float, unit: str) -> str:
    if unit == "ms":
        return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 100 else f"{x:.0f}"
    if unit == "s":
        return f"{x:.2f}"
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:,.1f}"


def fmt_ratio(go: Optional[float], ours: Optional[float]) -> str:
    if go is None or ours is None or ours <= 0:
        return "—"
    r = go / ours
    return f"{r:.1f}×" if r < 100 else f"{r:.0f}×"


def run_capture(argv: list[str], **kw: Any) -> str:
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, text=True, **kw).stdout
