"""The output: one `Row` per measure, the Markdown report (table, CPU table, setup, notes, goals)
on stdout and in target/bench/{latest,smoke}.md, the samples in the .json beside it."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING, Any, Optional

from .config import ROOT
from .util import fmt_num, fmt_ratio, log, median, run_capture

if TYPE_CHECKING:
    from .core import Bench

HEADER = [
    "| measure | ours median | ours min–max | Go median | Go min–max | Go/ours | floor median | floor min–max "
    "| ours/floor | in both, alone | goal (SPEC §13) | met |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
]


class Row:
    """One line of the table. `ours`/`go` are samples (None: not measured)."""

    def __init__(
        self,
        measure: str,
        unit: str,
        ours: Optional[list[float]],
        go: Optional[list[float]],
        goal: str = "—",
        met: Optional[bool] = None,
        ours_text: Optional[str] = None,
        go_text: Optional[str] = None,
        ratio: Optional[str] = None,
        alone: Optional[list[float]] = None,
        floor: Optional[list[float]] = None,
    ) -> None:
        self.measure, self.unit, self.ours, self.go = measure, unit, ours, go
        self.goal, self.met = goal, met
        self.ours_text, self.go_text, self.ratio = ours_text, go_text, ratio
        # What both sides pay and is NOT subtracted (the wrapper alone, a bare server request).
        self.alone = alone
        # The floor program (cold rows): the least a helper can do, beside ours, never subtracted.
        self.floor = floor

    @staticmethod
    def cells(xs: Optional[list[float]], unit: str, text: Optional[str]) -> tuple[str, str]:
        if text is not None:
            return text, ""
        if not xs:
            return "—", ""
        med = fmt_num(median(xs), unit)
        if len(xs) == 1:
            return med, ""
        return med, f"{fmt_num(min(xs), unit)}–{fmt_num(max(xs), unit)}"

    def markdown(self) -> str:
        om, orng = self.cells(self.ours, self.unit, self.ours_text)
        gm, grng = self.cells(self.go, self.unit, self.go_text)
        ratio = self.ratio
        if ratio is None:
            ratio = fmt_ratio(median(self.go) if self.go else None, median(self.ours) if self.ours else None)
        met = {None: "—", True: "yes", False: "**NO**"}[self.met]
        alone = fmt_num(median(self.alone), self.unit) if self.alone else "—"
        fm, frng = self.cells(self.floor, self.unit, None)
        over_floor = fmt_ratio(median(self.ours) if self.ours else None, median(self.floor) if self.floor else None)
        return (
            f"| {self.measure} | {om} | {orng} | {gm} | {grng} | {ratio} | {fm} | {frng} | {over_floor} "
            f"| {alone} | {self.goal} | {met} |"
        )

    def as_json(self) -> dict[str, Any]:
        def stats(xs: Optional[list[float]]) -> Optional[dict[str, Any]]:
            if not xs:
                return None
            return {"median": median(xs), "min": min(xs), "max": max(xs), "n": len(xs), "samples": xs}

        return {
            "measure": self.measure,
            "unit": self.unit,
            "ours": stats(self.ours),
            "go": stats(self.go),
            "floor": stats(self.floor),
            "in_both_alone": stats(self.alone),
            "ours_text": self.ours_text,
            "go_text": self.go_text,
            "goal": self.goal,
            "met": self.met,
        }


# --- the report ------------------------------------------------------------------------------------


def render(b: Bench) -> str:
    out = [f"# docker-credential-ecr-login: ours vs Go ({'smoke' if b.smoke else 'full'} run)", ""]
    out += machine(b)
    out += ["", *HEADER]
    out += [row.markdown() for row in b.rows]
    out += cpu_table(b)
    out += ["", "Setup: " + setup_text(b), ""]
    out += [f"- {n}" for n in b.notes]
    out += go_failures(b)
    goals = [r for r in b.rows if r.met is not None]
    missed = [r.measure for r in goals if not r.met]
    out += [
        "",
        f"Goals met: {len(goals) - len(missed)}/{len(goals)}"
        + (f"; missed: {', '.join(missed)}" if missed else "")
        + (" (smoke run: too few iterations to judge)" if b.smoke else ""),
    ]
    return "\n".join(out) + "\n"


def cpu_table(b: Bench) -> list[str]:
    """CPU time per process (hyperfine's user + sys means) of the timed rows."""
    cpu_rows = [("warm", "`get`, warm cache")]
    for key, label, _ in b.ca.settings():
        cpu_rows.append((f"cacheoff/{key}", f"`get`, cache off, {label}"))
    for key, label, _ in b.ca.settings():
        cpu_rows.append((f"empty/{key}", f"`get`, empty cache, {label}"))
    cpu_rows.append(("version", "`version`"))
    cpu_rows += b.extra_cpu_rows
    out = [
        "",
        "CPU time per process (user + sys of the helper and the exec wrapper, hyperfine's means over "
        "the same runs; less sensitive to a busy machine than wall time):",
        "",
        "| measure | ours (ms) | Go (ms) | Go/ours | floor (ms) | ours/floor |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, label in cpu_rows:
        per = b.cpu.get(key, {})
        vals = {who: v[0] / v[1] * 1000 for who, v in per.items() if v[1]}
        if "ours" not in vals:
            continue
        go, floor = vals.get("go"), vals.get("floor")
        out.append(
            f"| {label} | {vals['ours']:.3f} | {'—' if go is None else f'{go:.3f}'} | {fmt_ratio(go, vals['ours'])} "
            f"| {'—' if floor is None else f'{floor:.3f}'} | {fmt_ratio(vals['ours'], floor)} |"
        )
    return out


def go_failures(b: Bench) -> list[str]:
    if not b.bins.with_go:
        return []
    failed = {k: v for k, v in b.go_failures.items() if v}
    if not failed:
        return ["- Go helper failures: none."]
    return [
        "- Go helper failures (kept as samples in the timing rows, not in RSS): "
        + ", ".join(f"{k}: {v}" + (f"/{b.go_runs[k]}" if k in b.go_runs else "") for k, v in failed.items())
        + ". Go 0.6.0 now and then fails a cold `get` through the proxy with `deserialization failed, "
        "failed to decode response body, ... use of closed network connection` (more often on a busy "
        "machine); ours never may (its failures abort the run)."
    ]


def setup_text(b: Bench) -> str:
    return (
        "both binaries (and, in the cold rows, the floor program) get the same environment: static keys, AWS_EC2_METADATA_DISABLED=true, private "
        "HOME without AWS config, HTTPS_PROXY to a CONNECT proxy in front of moto over TLS on loopback, "
        f"{b.ca.setup_text()}; one cache directory per binary (each primes its own: Go 0.6.0 writes legacy keys). "
        "Times are gross wall clock per process (nothing subtracted; what both pay is in the \"in both, "
        "alone\" column); RSS is /usr/bin/time's maximum resident set."
    )


# --- the machine and the binaries ------------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def git_revision() -> str:
    try:
        rev = run_capture(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], stderr=subprocess.DEVNULL).strip()
        dirty = run_capture(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], stderr=subprocess.DEVNULL)
        rev += " (+ uncommitted changes)" if dirty.strip() else ""
    except (OSError, subprocess.CalledProcessError):
        rev = "unknown"
    return rev


def machine(b: Bench) -> list[str]:
    cpu = cpu_model()
    hv = run_capture([b.hyperfine, "--version"]).strip()
    vg = shutil.which("valgrind")
    vgv = run_capture([vg, "--version"]).strip() if vg else "no valgrind"
    rev = git_revision()
    with open(b.bins.ours, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()[:16]
    src = b.bins.ours_src
    mtime = datetime.datetime.fromtimestamp(os.stat(src).st_mtime, datetime.timezone.utc)
    ncpu = os.cpu_count() or 1
    load_end = os.getloadavg()[0]
    busy = max(float(b.load_start), load_end) > 0.75 * ncpu
    lines = [
        f"- date: {b.started:%Y-%m-%d %H:%M:%S} UTC; mode: {'smoke (indicative only)' if b.smoke else 'full'}",
        f"- machine: nproc {os.cpu_count()}, {cpu}, {os.uname().sysname} {os.uname().release}; "
        f"load average {b.load_start} at start, {load_end:.2f} at end",
        f"- ours: `{os.path.relpath(src, ROOT) if src.startswith(ROOT) else src}`, "
        f"built {mtime:%Y-%m-%d %H:%M} UTC, sha256 {sha}…, git {rev}",
    ]
    if b.bins.ours_warning:
        lines.append(f"- **WARNING**: {b.bins.ours_warning}")
    if busy:
        lines.append(
            "- **BUSY MACHINE** (1-minute load above 0.75 × nproc): wall times and their ratios are "
            "noisy; look at the minima, the CPU times and the instruction counts (unaffected)"
        )
    lines.append(go_line(b))
    if b.bins.floor:
        lines.append(floor_line(b))
    lines.append(f"- tools: {hv}, {vgv}; timings: hyperfine -N, ours and Go (and the floor in the cold rows) interleaved in alternating rounds")
    return lines


def floor_line(b: Bench) -> str:
    """The floor program: where it comes from, its hash and size."""
    with open(b.bins.floor, "rb") as f:
        data = f.read()
    src = b.bins.floor_src
    mtime = datetime.datetime.fromtimestamp(os.stat(src).st_mtime, datetime.timezone.utc)
    return (
        f"- floor (cold rows): `{os.path.relpath(src, ROOT) if src.startswith(ROOT) else src}` (examples/floor.rs, "
        f"scripts/build --example floor), built {mtime:%Y-%m-%d %H:%M} UTC, sha256 "
        f"{hashlib.sha256(data).hexdigest()[:16]}…, {len(data):,} bytes"
    )


def go_line(b: Bench) -> str:
    if not b.bins.with_go:
        return f"- Go: **NOT MEASURED** ({b.bins.go_skip_reason}); no ratios"
    go = b.bins.go
    ver = subprocess.run([go, "version"], capture_output=True, text=True, check=False).stdout.strip()
    deb = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "amazon-ecr-credential-helper"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"- Go: `{go}` ({ver or 'version unknown'}{', Debian package ' + deb if deb else ''})"


def write(b: Bench, text: str) -> None:
    sys.stdout.write("\n" + text)
    sys.stdout.flush()
    out = b.args.out or os.path.join(ROOT, "target", "bench", "smoke.md" if b.smoke else "latest.md")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    js = os.path.splitext(out)[0] + ".json"
    with open(js, "w", encoding="utf-8") as f:
        json.dump({"mode": "smoke" if b.smoke else "full", "rows": [r.as_json() for r in b.rows]}, f, indent=1)
    log(f"written: {out} and {js}")
