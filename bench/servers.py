"""What the bench serves on 127.0.0.0/8: tests/support/ecr_server.py (moto over TLS with its
recording CONNECT proxy; Go 0.6.0 ignores AWS_ENDPOINT_URL*, so BOTH binaries reach the API the
same way, HTTPS_PROXY=<proxy>), a refused port and a black-holed listener."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from typing import Any, Optional

from .config import ACCOUNT, API_HOST, EXPECTED_SECRET, REGION, ROOT
from .environment import clean_env
from .util import die, log


def has_moto(py: str) -> bool:
    return subprocess.run([py, "-c", "import moto, werkzeug"], capture_output=True, check=False).returncode == 0


def find_python() -> str:
    """A Python with moto[server]: $ECR_TEST_PYTHON, target/test-venv, or a new target/test-venv."""
    cands = [os.environ.get("ECR_TEST_PYTHON", ""), os.path.join(ROOT, "target", "test-venv", "bin", "python")]
    for py in cands:
        if py and os.access(py, os.X_OK) and has_moto(py):
            return py
    venv = os.path.join(ROOT, "target", "test-venv")
    log(f"creating {venv} with moto[server] (as scripts/test does)")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run(
        [os.path.join(venv, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check", "moto[server]>=5.1,<6"],
        check=True,
    )
    py = os.path.join(venv, "bin", "python")
    if not has_moto(py):
        die("moto[server] is not importable after installing it")
    return py


# The other AWS hosts the credential sources reach through the proxy (STS, the SSO portal).
OTHER_HOSTS = ["sts.amazonaws.com", f"sts.{REGION}.amazonaws.com", f"portal.sso.{REGION}.amazonaws.com"]


def make_test_ca(ca_dir: str) -> None:
    """A throw-away CA and a server certificate for API_HOST and OTHER_HOSTS
    (tests/support/gen-test-ca.sh)."""
    subprocess.run(
        [os.path.join(ROOT, "tests", "support", "gen-test-ca.sh"), ca_dir, API_HOST, *OTHER_HOSTS],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class Server:
    """The ECR test server (moto, TLS) and its CONNECT proxy; `proxy` is the HTTPS_PROXY URL."""

    def __init__(self, host: str, ca_dir: str, log_file: str) -> None:
        self.host, self.ca_dir, self.log_file = host, ca_dir, log_file
        self.proc: Optional[subprocess.Popen[Any]] = None
        self.control = self.proxy = ""

    def start(self, py: str) -> None:
        with open(self.log_file, "wb") as errf:
            self.proc = subprocess.Popen(
                [
                    py,
                    os.path.join(ROOT, "tests", "support", "ecr_server.py"),
                    "--host",
                    self.host,
                    "--port",
                    "0",
                    "--tls-cert",
                    os.path.join(self.ca_dir, "server.pem"),
                    "--tls-key",
                    os.path.join(self.ca_dir, "server.key"),
                    "--connect-proxy",
                    "--exit-on-stdin-eof",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errf,
                env=clean_env({"PATH": os.environ.get("PATH", "/usr/bin:/bin")}),
            )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 90)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            with open(self.log_file, encoding="utf-8", errors="replace") as f:
                tail = f.read()[-3000:]
            die(f"the ECR test server did not start:\n{tail}")
        info = json.loads(line)
        if "proxy_port" not in info:
            die("tests/support/ecr_server.py has no --connect-proxy (ready line without proxy_port)")
        self.control = f"http://{self.host}:{info['control_port']}"
        self.proxy = f"http://{self.host}:{info['proxy_port']}"
        log(f"ECR API (moto, TLS) on {self.host}:{info['port']}, CONNECT proxy {self.proxy}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.terminate()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()

    def control_call(self, path: str, method: str = "GET") -> dict[str, Any]:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        req = urllib.request.Request(self.control + path, method=method, data=b"" if method == "POST" else None)
        with opener.open(req, timeout=10) as resp:
            return json.loads(resp.read())

    def api_calls(self) -> int:
        """GetAuthorizationToken calls the server answered since the last reset."""
        return int(self.control_call("/_test/calls")["ecr"])

    def calls_by_service(self) -> dict[str, int]:
        """Calls since the last reset by service: ecr, and the credential sources' (sts, sso,
        imds, container), each request counted."""
        snap = self.control_call("/_test/calls")
        out = {"ecr": int(snap["ecr"])}
        for rec in snap.get("other", []):
            svc = str(rec.get("service"))
            out[svc] = out.get(svc, 0) + 1
        return out

    def reset_calls(self) -> None:
        self.control_call("/_test/reset", "POST")

    def round_trip(self) -> float:
        """One GetAuthorizationToken the way the helpers make it (CONNECT, TLS, POST), from this
        already running Python process: the proxy's and moto's share of a cold `get`, in ms."""
        ctx = ssl.create_default_context(cafile=os.path.join(self.ca_dir, "ca.pem"))
        body = f'{{"registryIds":["{ACCOUNT}"]}}'.encode()
        req = (
            f"POST / HTTP/1.1\r\nHost: {API_HOST}\r\n"
            "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken\r\n"
            "Content-Type: application/x-amz-json-1.1\r\n"
            f"Authorization: AWS4-HMAC-SHA256 Credential=AKIDPROBE/20000101/{REGION}/ecr/aws4_request, "
            "SignedHeaders=host, Signature=0\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body
        host, port = self.proxy.rsplit("/", 1)[1].rsplit(":", 1)
        start = time.monotonic()
        with socket.create_connection((host, int(port)), timeout=30) as raw:
            # as both helpers do; without it Nagle holds the request's last bytes
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            raw.sendall(f"CONNECT {API_HOST}:443 HTTP/1.1\r\nHost: {API_HOST}:443\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = raw.recv(4096)
                if not chunk:
                    die("the CONNECT proxy closed the probe connection")
                head += chunk
            with ctx.wrap_socket(raw, server_hostname=API_HOST) as tls:
                tls.sendall(req)
                answer = read_all(tls)
        elapsed = (time.monotonic() - start) * 1000
        if EXPECTED_SECRET.encode() not in answer and b"authorizationToken" not in answer:
            die(f"server probe got an unexpected answer: {answer[:300]!r}")
        return elapsed


def read_all(tls: ssl.SSLSocket) -> bytes:
    """The response, read as the helpers read it: up to the end of the body its Content-Length
    announces (not until the server closes the connection: werkzeug waits 10 ms for more
    request bytes before it closes, which no client waits for)."""
    answer = b""
    while True:
        head_end = answer.find(b"\r\n\r\n")
        if head_end >= 0:
            length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", answer[:head_end])
            if length and len(answer) >= head_end + 4 + int(length.group(1)):
                break
        try:
            chunk = tls.recv(65536)
        except ssl.SSLError:
            break
        if not chunk:
            break
        answer += chunk
    return answer


def refused_port(host: str) -> int:
    """A port of `host` on which nothing listens: connection refused."""
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def black_hole(host: str, sockets: list[socket.socket]) -> tuple[str, int]:
    """A listener whose accept queue is full: the kernel drops further SYNs, as a firewall would.
    Its sockets go into `sockets` (closed at exit); returns its address."""
    lst = socket.socket()
    lst.bind((host, 0))
    lst.listen(0)
    sockets.append(lst)
    addr = lst.getsockname()
    for _ in range(4):
        filler = socket.socket()
        filler.settimeout(0.3)
        try:
            filler.connect(addr)
            sockets.append(filler)
        except OSError:
            filler.close()
            break
    else:
        die("could not fill the black hole's accept queue")
    return addr[0], addr[1]
