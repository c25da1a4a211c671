"""`Bench`: the state of one run (work directory, servers, binaries, CA setup, results) and the
helpers every scenario shares (environment, cache directories, one checked `get`)."""

from __future__ import annotations

import argparse
import atexit
import datetime
import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any, Callable, Optional

from . import report, scenarios
from .binaries import Binaries
from .config import EXPECTED_SECRET, REGISTRY, ROOT
from .environment import CaSetup, clean_env
from .profile import profile
from .report import Row
from .servers import Server, find_python, make_test_ca
from .util import die, install_tools, log, median


class Bench:
    def __init__(self, args: argparse.Namespace, ns_failure: str = "") -> None:
        self.args = args
        self.smoke: bool = args.smoke
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.procs: list[subprocess.Popen[Any]] = []
        self.sockets: list[socket.socket] = []
        self.work = tempfile.mkdtemp(prefix="ecr-bench-")
        self.host = f"127.0.0.{random.randint(100, 250)}"
        self.bins = Binaries(args)
        self.ca = CaSetup(args.no_mount_ns, ns_failure)
        self.server = Server(self.host, self.path("ca"), self.path("server.log"))
        atexit.register(self.cleanup)
        self.hyperfine = shutil.which("hyperfine") or ""
        self.go_failures: dict[str, int] = {}  # what -> failed Go runs (kept as samples in timings)
        self.go_runs: dict[str, int] = {}  # what -> Go runs timed by hyperfine
        self.cpu: dict[str, dict[str, list[float]]] = {}  # key -> who -> [CPU seconds, runs]
        self.warm_dirs: dict[str, str] = {}  # who -> its own primed cache directory
        self.extra_cpu_rows: list[tuple[str, str]] = []  # (cpu key, label) added by scenarios

    # --- lifecycle ------------------------------------------------------------------------------

    def cleanup(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.server.stop()
        for s in self.sockets:
            s.close()
        if self.args.keep:
            log(f"work directory kept: {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def path(self, *parts: str) -> str:
        return os.path.join(self.work, *parts)

    def prepare_tools(self) -> None:
        install_tools(self.bins.with_go and not self.args.go_given)
        self.hyperfine = shutil.which("hyperfine") or ""
        if not self.hyperfine:
            die("hyperfine is required (apt-get install hyperfine)")
        if not shutil.which("openssl"):
            die("openssl is required (apt-get install openssl)")

    def prepare_server(self) -> None:
        py = find_python()
        make_test_ca(self.path("ca"))
        self.ca.prepare(self.path("ca", "ca.pem"), self.path)
        self.server.start(py)

    # --- what every scenario uses ---------------------------------------------------------------

    def base_env(self, **extra: str) -> dict[str, str]:
        """The environment both binaries get (plus `extra`)."""
        home = self.path("home")
        os.makedirs(home, exist_ok=True)
        env = clean_env(
            {
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "HOME": home,
                "AWS_ACCESS_KEY_ID": "AKIDBENCHMARK0000001",
                "AWS_SECRET_ACCESS_KEY": "benchmark-secret-access-key",
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": self.path("home", "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": self.path("home", "no-aws-credentials"),
                "HTTPS_PROXY": self.server.proxy,
                **self.ca.default_env(),
            }
        )
        env.update(extra)
        return env

    def binaries(self, trial: int = 0) -> list[tuple[str, str]]:
        """(who, path) of the measured binaries; reversed on odd trials (interleaving)."""
        out = self.bins.listed()
        return out if trial % 2 == 0 else list(reversed(out))

    def n(self, full: int, smoke: int) -> int:
        return smoke if self.smoke else full

    def cache_dir(self, who: str, name: str) -> str:
        d = self.path("cache", who, name)
        os.makedirs(d, exist_ok=True)
        return d

    def reg_file(self, registry: str = REGISTRY) -> str:
        p = self.path("reg-" + registry)
        if not os.path.exists(p):
            with open(p, "w", encoding="ascii") as f:
                f.write(registry)
        return p

    def single_get(self, binary: str, env: dict[str, str], registry: str = REGISTRY) -> subprocess.CompletedProcess[bytes]:
        with open(self.reg_file(registry), "rb") as stdin:
            return subprocess.run([binary, "get"], stdin=stdin, capture_output=True, env=env, timeout=120, check=False)

    def go_failed(self, what: str, count: int = 1) -> None:
        self.go_failures[what] = self.go_failures.get(what, 0) + count

    def expect_get_ok(self, who: str, binary: str, env: dict[str, str], what: str) -> None:
        """One `get` that must answer the token; the Go helper gets three tries (it fails now
        and then through the proxy, see the notes), ours one."""
        for _attempt in range(3 if who == "go" else 1):
            res = self.single_get(binary, env)
            ok = res.returncode == 0
            if ok:
                try:
                    ok = json.loads(res.stdout).get("Secret") == EXPECTED_SECRET
                except ValueError:
                    ok = False
            if ok:
                return
            if who == "go":
                self.go_failed(what)
        die(f"{who} `get` ({what}) failed: exit {res.returncode}, stdout {res.stdout[:300]!r}")

    def add_time_row(
        self,
        measure: str,
        times: dict[str, list[float]],
        goal: str = "—",
        check: Optional[Callable[[float, Optional[float]], bool]] = None,
        setting: str = "",
        alone: Optional[list[float]] = None,
    ) -> tuple[float, Optional[float]]:
        """A row of gross wall times (ms) and their ratio; `alone` (ms) and the floor program
        (when `times` has it) go in their own columns."""
        suffix = f"/{setting}" if setting else ""
        ours = [t * 1000 for t in times["ours" + suffix]]
        go = [t * 1000 for t in times["go" + suffix]] if "go" + suffix in times else None
        floor = [t * 1000 for t in times["floor" + suffix]] if "floor" + suffix in times else None
        om = median(ours)
        gm = median(go) if go else None
        met = check(om, gm) if check else None
        self.rows.append(Row(measure, "ms", ours, go, goal, met, alone=alone, floor=floor))
        return om, gm

    # --- main -------------------------------------------------------------------------------------

    def run(self) -> int:
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.load_start = f"{os.getloadavg()[0]:.2f}"
        self.raw_dir = os.path.join(ROOT, "target", "bench", "raw-smoke" if self.smoke else "raw")
        shutil.rmtree(self.raw_dir, ignore_errors=True)
        os.makedirs(self.raw_dir, exist_ok=True)
        self.prepare_tools()
        self.bins.prepare(self.path)
        self.prepare_server()
        if self.args.profile:
            profile(self)
            return 0
        t0 = time.monotonic()
        for measure in scenarios.ALL:
            measure(self)
        self.notes.append(f"Benchmark wall time: {time.monotonic() - t0:.0f} s.")
        text = report.render(self)
        report.write(self, text)
        if self.args.check and any(r.met is False for r in self.rows):
            log("--check: at least one goal was missed")
            return 1
        return 0
