"""--profile: no comparison; strace -c -f and callgrind of OUR warm and cold `get`, with a
symbolised build (target/bench-symbols), written to target/bench/profile.md."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

from .config import BIN_NAME, ROOT, TARGET
from .util import apt_install, log, run_capture

if TYPE_CHECKING:
    from .core import Bench


def build_symbolised() -> str:
    symdir = os.path.join(ROOT, "target", "bench-symbols")
    log(f"building a symbolised copy in {symdir} (same release profile, not stripped, line tables)")
    env = dict(
        os.environ,
        CARGO_TARGET_DIR=symdir,
        CARGO_PROFILE_RELEASE_STRIP="false",
        CARGO_PROFILE_RELEASE_DEBUG="line-tables-only",
    )
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "--target", TARGET], cwd=ROOT, env=env, check=True, stdout=sys.stderr
    )
    return os.path.join(symdir, TARGET, "release", BIN_NAME)


def strace_sections(b: Bench, sym: str, name: str, env: dict[str, str]) -> list[str]:
    sout = b.path("strace.out")
    with open(b.reg_file(), "rb") as stdin:
        subprocess.run(["strace", "-f", "-c", "-o", sout, sym, "get"], stdin=stdin, stdout=subprocess.DEVNULL, env=env, check=True)
    with open(b.reg_file(), "rb") as stdin:
        trace = subprocess.run(
            ["strace", "-f", "-o", "/dev/stdout", sym, "get"],
            stdin=stdin,
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
    with open(sout, encoding="utf-8") as f:
        out = [f"## strace -c -f, {name} `get`", "", "```", f.read().rstrip(), "```", ""]
    if name == "warm":
        out += ["## strace -f, warm `get` (every call)", "", "```", trace.rstrip(), "```", ""]
    return out


def callgrind_sections(b: Bench, sym: str, name: str, env: dict[str, str]) -> list[str]:
    cg = b.path("callgrind.profile")
    with open(b.reg_file(), "rb") as stdin:
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}", sym, "get"],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            check=True,
        )
    out = []
    for flags, title in (([], "self"), (["--inclusive=yes"], "inclusive")):
        ann = run_capture(["callgrind_annotate", *flags, "--threshold=99", cg])
        # Shorter lines: drop the binary's path and the registry / toolchain prefixes.
        ann = ann.replace(f" [{sym}]", "")
        ann = re.sub(r"/\S*?/registry/src/[^/]+/", "", ann)
        ann = re.sub(r"/rustc/[0-9a-f]+/", "", ann)
        ann = re.sub(r"/\S*?/src_musl/", "musl:", ann)
        ann = "\n".join(ann.splitlines()[:140])
        out += [f"## callgrind, {name} `get`, {title} cost", "", "```", ann.rstrip(), "```", ""]
    return out


def profile(b: Bench) -> None:
    """strace -c -f and callgrind (symbolised build) of our warm and cold `get`."""
    sym = build_symbolised()
    for tool in ("strace", "valgrind"):
        if not shutil.which(tool):
            apt_install([tool])
    out = ["# profile of our `get` (symbolised build)", ""]
    warm = b.cache_dir("ours", "profile-warm")
    b.expect_get_ok("ours", sym, b.base_env(AWS_ECR_CACHE_DIR=warm), "priming")
    cases = [
        ("warm", b.base_env(AWS_ECR_CACHE_DIR=warm)),
        ("cache off", b.base_env(AWS_ECR_CACHE_DIR=warm, AWS_ECR_DISABLE_CACHE="true")),
    ]
    for name, env in cases:
        if shutil.which("strace"):
            out += strace_sections(b, sym, name, env)
        if shutil.which("valgrind"):
            out += callgrind_sections(b, sym, name, env)
    text = "\n".join(out) + "\n"
    dest = b.args.out or os.path.join(ROOT, "target", "bench", "profile.md")
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    with open(dest, "w", encoding="utf-8") as f:
        f.write(text)
    sys.stdout.write(text)
    log(f"written: {dest}")
