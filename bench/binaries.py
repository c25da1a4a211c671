"""The two helpers under test (ours copied into the work directory, the Go one in place), the
floor program (examples/floor.rs, built and copied like ours) and the C exec wrapper through which
hyperfine runs `get` (hyperfine 1.15 has no --input)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from typing import Callable

from .config import BIN_NAME, DEFAULT_FLOOR, DEFAULT_GO, DEFAULT_OURS, FLOOR_NAME, ROOT
from .util import die, log, loud

WRAPPER_C = r"""
/* benchexec FILE [VAR=VAL...] PROG [ARGS...]: stdin from FILE ("-": keep), set VARs, execv PROG.
   benchexec FILE alone exits 0 at once (the harness's own cost). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int i = 2, fd;
    if (argc < 2) return 2;
    if (argc == 2) return 0;
    if (strcmp(argv[1], "-") != 0) {
        fd = open(argv[1], O_RDONLY | O_CLOEXEC);
        if (fd < 0 || dup2(fd, 0) < 0) return 126;
    }
    for (; i < argc && argv[i][0] != '/' && strchr(argv[i], '='); i++) putenv(argv[i]);
    if (i >= argc) return 2;
    execv(argv[i], argv + i);
    return 127;
}
"""


class Binaries:
    """Ours (`ours`, a private copy of `ours_src`), Go (`go`, measured when `with_go`), the floor
    program (`floor`, a private copy of `floor_src`; not prepared for --profile), `wrapper`."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.with_go = args.only != "ours"
        self.go_skip_reason = "--only ours" if not self.with_go else ""
        self.ours_src = self.ours = self.go = self.wrapper = ""
        self.floor_src = self.floor = ""
        self.ours_warning = ""

    def listed(self) -> list[tuple[str, str]]:
        """(who, path) of the binaries measured: ours first."""
        out = [("ours", self.ours)]
        if self.with_go:
            out.append(("go", self.go))
        return out

    def prepare(self, path: Callable[..., str]) -> None:
        self.prepare_ours(path)
        if not self.args.profile:
            self.prepare_floor(path)
        self.prepare_go()
        self.wrapper = build_wrapper(path)

    def prepare_ours(self, path: Callable[..., str]) -> None:
        ours = self.args.ours
        if not ours:
            ours = DEFAULT_OURS
            if self.args.build or not os.access(ours, os.X_OK):
                log("building our static binary with scripts/build")
                subprocess.run([os.path.join(ROOT, "scripts", "build")], check=True, stdout=sys.stderr)
        if not os.access(ours, os.X_OK):
            die(f"our binary {ours} is missing or not executable")
        self.ours_src = os.path.abspath(ours)
        self.ours_warning = ""
        if shutil.which("readelf"):
            elf = subprocess.run(["readelf", "-SW", ours], capture_output=True, text=True, check=False).stdout
            if ".debug_info" in elf or ".symtab" in elf:
                self.ours_warning = (
                    "our binary has symbols or debug info: it is not what scripts/build makes "
                    "(use --build, or --ours PATH)"
                )
                loud(self.ours_warning)
        # A copy, so that concurrent rebuilds cannot change it mid-run.
        os.makedirs(path("ours"))
        self.ours = path("ours", BIN_NAME)
        shutil.copy2(self.ours_src, self.ours)

    def prepare_floor(self, path: Callable[..., str]) -> None:
        """The floor program, built by scripts/build exactly like ours (same target, profile and
        flags) when missing or with --build, and copied like ours."""
        floor = self.args.floor
        if not floor:
            floor = DEFAULT_FLOOR
            if self.args.build or not os.access(floor, os.X_OK):
                log("building the floor program with scripts/build --example floor")
                argv = [os.path.join(ROOT, "scripts", "build"), "--example", FLOOR_NAME]
                subprocess.run(argv, check=True, stdout=sys.stderr)
        if not os.access(floor, os.X_OK):
            die(f"the floor program {floor} is missing or not executable")
        self.floor_src = os.path.abspath(floor)
        os.makedirs(path("floor"))
        self.floor = path("floor", FLOOR_NAME)
        shutil.copy2(self.floor_src, self.floor)

    def prepare_go(self) -> None:
        self.go = os.path.abspath(self.args.go or DEFAULT_GO)
        if self.with_go and not os.access(self.go, os.X_OK):
            self.with_go = False
            self.go_skip_reason = f"{self.go} is not installed"
            loud(
                f"the Go helper {self.go} is not installed: measuring OURS ONLY, no ratios "
                "(apt-get install amazon-ecr-credential-helper, or --go PATH)"
            )
        elif not self.with_go:
            loud("--only ours: the Go helper is skipped, no ratios")


def build_wrapper(path: Callable[..., str]) -> str:
    """Compiles WRAPPER_C (static when possible) into the work directory; returns its path."""
    cc = shutil.which("x86_64-linux-musl-gcc") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        die("a C compiler is needed for the exec wrapper (apt-get install musl-tools)")
    src = path("benchexec.c")
    with open(src, "w", encoding="ascii") as f:
        f.write(WRAPPER_C)
    wrapper = path("benchexec")
    built = subprocess.run([cc, "-O2", "-static", "-s", "-o", wrapper, src], capture_output=True, check=False)
    if built.returncode != 0:  # e.g. glibc without libc.a: a dynamic wrapper still works
        subprocess.run([cc, "-O2", "-s", "-o", wrapper, src], check=True)
    return wrapper
