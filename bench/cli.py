"""The command line: `scripts/bench [--smoke] [--only ours] [--profile] [options]`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

from .config import DEFAULT_FLOOR, DEFAULT_GO, DEFAULT_OURS, ROOT
from .core import Bench
from .environment import enter_mount_namespace
from .util import install_tools


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Benchmark our static docker-credential-ecr-login against Debian's Go helper (0.6.0).",
    )
    parser.add_argument("--smoke", action="store_true", help="few iterations (< 60 s); fails only if a command fails")
    parser.add_argument("--only", choices=["ours"], help="measure only our binary (no Go, no ratios)")
    parser.add_argument("--ours", help=f"our binary (default: {os.path.relpath(DEFAULT_OURS, ROOT)}, built if missing)")
    parser.add_argument(
        "--floor",
        help=f"the floor program (default: {os.path.relpath(DEFAULT_FLOOR, ROOT)}, built with "
        "scripts/build --example floor if missing)",
    )
    parser.add_argument(
        "--build", action="store_true", help="run scripts/build first (binary and floor) even if they exist"
    )
    parser.add_argument("--go", help=f"the Go helper (default: {DEFAULT_GO})")
    parser.add_argument("--out", help="Markdown output file (default: target/bench/latest.md, smoke.md, profile.md)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a SPEC goal is missed")
    parser.add_argument("--profile", action="store_true", help="strace + callgrind profile of our warm/cold get")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    parser.add_argument("-v", "--verbose", action="store_true", help="show hyperfine's output")
    parser.add_argument(
        "--no-mount-ns", action="store_true", help="no private mount namespace: skip the distro-bundle setting"
    )
    args = parser.parse_args(argv)
    args.go_given = args.go is not None
    if args.profile:
        args.only = "ours"
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    ns_failure = ""
    if not args.no_mount_ns:
        # Tools first: apt-get (sudo) does not work from inside an unprivileged user namespace.
        install_tools(args.only != "ours" and not args.go_given)
        ns_failure = enter_mount_namespace(argv)  # returns only when it cannot

    def on_signal(signum: int, _frame: Any) -> None:
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return Bench(args, ns_failure).run()
