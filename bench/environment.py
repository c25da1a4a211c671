"""The environment both helpers get, and the two CA settings they are measured in.

* distro bundle (the default setting, what users have): no CA variable; <machine bundle + test CA>
  is bind-mounted over each binary's first existing distribution bundle, in a private mount
  namespace (the bench re-executes itself under `unshare -m`, `unshare -r -m` when not root);
* AWS_CA_BUNDLE: both given the same file (the same roots), which each reads alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Callable

from .config import GO_BUNDLES, GO_CERT_DIRS, LAUNCHER, NS_MARK, OURS_BUNDLES
from .util import die, log, loud


def enter_mount_namespace(argv: list[str]) -> str:
    """Re-executes the bench (scripts/bench `argv`) in a private mount namespace (so that it can bind-mount a CA
    bundle over the distribution's without touching the machine's /etc/ssl); returns only when
    that is impossible, with the reason. Inside the namespace it returns "" at once."""
    if os.environ.get(NS_MARK) == "1":
        return ""
    unshare = shutil.which("unshare")
    if not unshare or not shutil.which("mount"):
        return "unshare(1) or mount(8) is missing"
    flags = ["-m", "--propagation", "private"]
    if os.geteuid() != 0:
        flags = ["-r", *flags]  # an unprivileged user namespace owns the mount namespace
    probe = [unshare, *flags, "--", "sh", "-c", "mount --bind /dev/null /dev/null"]
    res = subprocess.run(probe, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return f"`{' '.join(probe)}` failed: {res.stderr.strip()[-200:]}"
    env = dict(os.environ, **{NS_MARK: "1"})
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(unshare, [unshare, *flags, "--", sys.executable, LAUNCHER, *argv], env)
    return "exec failed"  # not reached


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {"LC_ALL": "C"}
    env.update(extra)
    return env


def go_dir_files() -> int:
    """Files Go 1.19 reads from its certificate directories (symlinks within the directory skipped)."""
    n = 0
    for d in GO_CERT_DIRS:
        try:
            entries = os.listdir(d)
        except OSError:
            continue
        for e in entries:
            p = os.path.join(d, e)
            if os.path.islink(p) and "/" not in os.readlink(p):
                continue
            n += 1
    return n


def first_bundles() -> list[str]:
    """The first existing bundle of either binary's list (resolving symlinks: RHEL's
    ca-bundle.crt links to tls-ca-bundle.pem); both must see the test CA there."""
    targets: list[str] = []
    for names in (OURS_BUNDLES, GO_BUNDLES):
        for name in names:
            if os.path.isfile(name):
                real = os.path.realpath(name)
                if real not in targets:
                    targets.append(real)
                break
    return targets


class CaSetup:
    """What both binaries trust: `roots` (machine bundle + test CA) is the AWS_CA_BUNDLE file;
    unless `distro_skip` says why not, the same content is bind-mounted over `distro_targets`."""

    def __init__(self, no_mount_ns: bool, ns_failure: str = "") -> None:
        self.no_mount_ns = no_mount_ns
        self.ns_failure = ns_failure
        self.roots = ""
        self.distro_targets: list[str] = []
        self.distro_skip = "not prepared"

    def prepare(self, test_ca: str, path: Callable[..., str]) -> None:
        with open(test_ca, "rb") as f:
            ca_pem = f.read()
        targets = first_bundles()
        self.roots = path("roots.pem")
        with open(self.roots, "wb") as out:
            if targets:
                with open(targets[0], "rb") as f:
                    out.write(f.read())
            out.write(ca_pem)
        self.distro_targets = []
        if self.no_mount_ns:
            self.distro_skip = "--no-mount-ns"
        elif os.environ.get(NS_MARK) != "1":
            self.distro_skip = self.ns_failure or "not in a private mount namespace"
        elif not targets:
            self.distro_skip = "no distribution CA bundle on this machine (" + ", ".join(OURS_BUNDLES[:2]) + ", …)"
        else:
            self.distro_skip = ""
            self.mount(targets, ca_pem, path)
        if self.distro_skip:
            loud(
                f"no distro-bundle setting ({self.distro_skip}): the default setting is AWS_CA_BUNDLE, and "
                "the cold rows do not show what users have"
            )

    def mount(self, targets: list[str], ca_pem: bytes, path: Callable[..., str]) -> None:
        """Bind-mounts <that bundle + test CA> over each target (private mount namespace)."""
        for i, target in enumerate(targets):
            bundle = self.roots
            if i:
                bundle = path(f"distro-{i}.pem")
                with open(target, "rb") as f, open(bundle, "wb") as out:
                    out.write(f.read() + ca_pem)
            res = subprocess.run(["mount", "--bind", bundle, target], capture_output=True, text=True, check=False)
            if res.returncode != 0:
                die(f"mount --bind {bundle} {target} (private mount namespace) failed: {res.stderr.strip()}")
            with open(target, "rb") as f:
                if not f.read().endswith(ca_pem):
                    die(f"the bind mount over {target} is not visible")
            self.distro_targets.append(target)
        log("distro setting: machine bundle + test CA bind-mounted over " + ", ".join(targets) + " (private mount namespace)")

    def default_env(self) -> dict[str, str]:
        """The CA variables of the default setting (what users have): none, the distro bundle."""
        return {} if not self.distro_skip else {"AWS_CA_BUNDLE": self.roots}

    def settings(self) -> list[tuple[str, str, dict[str, str]]]:
        """(key, label, CA variables) of the settings the cold rows are measured in."""
        out = []
        if not self.distro_skip:
            out.append(("distro", "distro bundle", {}))
        out.append(("bundle", "AWS_CA_BUNDLE", {"AWS_CA_BUNDLE": self.roots}))
        return out

    def note(self) -> str:
        """The report's note on the CA settings."""
        if self.distro_skip:
            return (
                f"CA settings: **no distro-bundle setting** ({self.distro_skip}); every row uses "
                "AWS_CA_BUNDLE = <machine bundle + test CA> for both binaries. Users without AWS_CA_BUNDLE "
                "have the distro setting, in which Go also reads every file of /etc/ssl/certs."
            )
        return (
            "CA settings (identical for both binaries): *distro bundle* (what users have unless they set "
            "AWS_CA_BUNDLE; also the setting of every other row): no CA variable; <machine bundle + test CA> "
            f"is bind-mounted over {', '.join(self.distro_targets)} in the bench's private mount namespace. "
            "Ours reads that one file; Go 1.19 reads it and every file of "
            + ", ".join(d for d in GO_CERT_DIRS if os.path.isdir(d))
            + f" ({go_dir_files()} files here). *AWS_CA_BUNDLE*: both given the same file (the same "
            "roots), which each reads alone."
        )

    def setup_text(self) -> str:
        """The CA part of the report's "Setup:" line."""
        if not self.distro_skip:
            return (
                "no CA variable (the distro bundle, with the test CA bind-mounted into it in a private mount "
                "namespace) except in the AWS_CA_BUNDLE rows"
            )
        return "AWS_CA_BUNDLE = machine bundle + test CA (no mount namespace)"
