#!/usr/bin/env python3
"""Test ECR API server: moto's real server app behind a small WSGI middleware.

Used by the Rust integration tests (tests/common/server.rs). Needs Python 3.11+
with ``moto[server]`` 5.x.

Command line
------------
    ecr_server.py --host 127.0.0.X [--port N] [--ttl SECS] [--stock]
                  [--tls-cert F --tls-key F] [--exit-on-stdin-eof] [--verbose]
                  [--accounts-from-registry-ids] [--connect-proxy]
    ecr_server.py --fork-server

* ``--host`` must be a loopback IPv4 address (127.0.0.0/8); nothing else is ever
  bound. ``--port 0`` (the default) picks a free port.
* When ready, exactly one line is printed to stdout and flushed:
  ``{"port": N, "control_port": M}``. ``port`` serves the AWS API (HTTPS with
  ``--tls-cert``/``--tls-key``, else plain HTTP). ``control_port`` serves the
  ``/_test/*`` control endpoints over plain HTTP; without TLS it equals ``port``
  (the API port answers the control endpoints too); with TLS it is a second
  plain-HTTP listener on the same host that answers only ``/_test/*`` and IMDS.
* ``--ttl`` (default 43200): private ECR ``expiresAt`` values are rewritten to
  ``now + ttl`` (float epoch seconds); ECR Public stub tokens expire at
  ``now + ttl``. It may be negative (born expired).
* ``--stock``: do not rewrite moto's private ECR answers (moto's ``expiresAt``
  is always 2015-01-01, so those tokens are born expired).
* ``--exit-on-stdin-eof``: exit when stdin reaches EOF, so that a killed parent
  never leaves an orphan server behind (the Rust harness keeps a pipe open).
* ``--accounts-from-registry-ids``: accepted and ignored; it is moto's default
  behaviour (see below).
* ``--connect-proxy``: also run an HTTP CONNECT proxy on the same host; every
  CONNECT target is recorded (``connects`` in ``/_test/calls``) and tunnelled,
  whatever it names, to the API port (so with ``--tls-cert`` the client talks
  TLS to this server under the name it asked for: the certificate must list it).
  The ready line then also has ``"proxy_port": P``. Anything but CONNECT is
  recorded and answered 405.
* SIGTERM / SIGINT: exit 0.

Fork server
-----------
Importing moto costs about a second of CPU, so the Rust harness does it once per
test process: ``--fork-server`` imports moto, warms it up, prints
``{"fork_server": PID}`` and then answers one JSON line on stdout per JSON line
on stdin:

* ``{"op": "start", "argv": [...], "log": PATH}`` forks a fresh server (own
  moto state, counters, ports) for the command line ``argv`` (the options
  above, without ``--exit-on-stdin-eof``), its stdout and stderr appended to
  ``PATH``; answers ``{"pid": N, "ready": <its ready line>}`` or
  ``{"error": "..."}`` (the cause is then in ``PATH``).
* ``{"op": "stop", "pid": N}`` SIGKILLs and reaps that server; answers
  ``{"stopped": N}``.

At EOF on stdin (the test process exited, however it died) or on SIGTERM the
fork server kills its servers and exits; the servers also die with it
(``PR_SET_PDEATHSIG``), so no orphan outlives the tests.

API behaviour
-------------
* Private ECR (``X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.*``,
  SigV4 service ``ecr``) goes to moto. For ``GetAuthorizationToken`` moto
  answers, per id of the request's ``registryIds`` (without ids:
  ``MOTO_ACCOUNT_ID`` or 123456789012)::

      {"authorizationData": [{
          "authorizationToken": base64("AWS:<id>-auth-token"),
          "expiresAt": 1420070400,               # 2015-01-01, always
          "proxyEndpoint": "https://<id>.dkr.ecr.<region>.amazonaws.com"}]}

  where ``<region>`` is the region of the SigV4 credential scope. Any access
  key is accepted and signatures are not verified. So "accounts from registry
  ids" is simply how moto works. For 123456789012 the token is
  ``QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu``.
* ECR Public (``X-Amz-Target: SpencerFrontendService.*``) is not implemented by
  moto (it would answer HTTP 500 with an HTML page), so it is stubbed here:
  ``{"authorizationData": {"authorizationToken": base64("AWS:public-auth-token"),
  "expiresAt": now + ttl}}``.
* Unsigned requests (no ``Authorization`` header) with one of those targets
  get HTTP 400 ``MissingAuthenticationTokenException``, as AWS answers. (Moto
  itself would route them to its S3 backend and answer
  ``ListAllMyBucketsResult`` XML with HTTP 200.)

Control API (unsigned, plain HTTP on ``control_port``)
------------------------------------------------------
* ``GET /_test/calls`` -> ``{"ecr": n, "ecr-public": m, "requests": [...]}``;
  each request record is ``{"service", "action", "region", "registryIds",
  "akid", "signingService", "sessionToken", "host", "time"}`` (``region``,
  ``akid``, ``signingService`` come from the Authorization header's credential
  scope, null when unsigned; ``registryIds`` from the JSON body, null when
  absent; ``sessionToken`` is ``X-Amz-Security-Token`` or null; ``host`` is the
  Host header; ``time`` is the float epoch time of arrival).
  The answer also has ``"other": [...]`` (non-ECR calls, see "Other AWS
  pieces" below) and ``"connects": [{"target", "time"}, ...]`` (what the
  ``--connect-proxy`` proxy was asked for).
* ``POST /_test/reset`` -> zeroes the counts and clears the records (all three
  lists).
* ``POST /_test/mode`` with ``{"mode": M, "ttl": secs?, "delay": secs?,
  "stock": bool?}`` sets the whole behaviour at once: omitted fields return to
  the command-line defaults (ttl = ``--ttl``, delay = 0, stock = ``--stock``).
  ``delay`` sleeps before answering. Modes apply to both services:

  ``ok``        normal answers (default)
  ``500``       HTTP 500 ``{"__type": "InternalFailure", ...}``
  ``400``       HTTP 400 ``{"__type": "AccessDeniedException",
                "message": "User is not authorized"}``
  ``throttle``  HTTP 400 ``{"__type": "ThrottlingException", ...}``
  ``garbage``   HTTP 200, body ``not json{``
  ``truncated`` HTTP 200, the first half of the normal JSON body, with a
                matching Content-Length (valid framing, broken JSON)
  ``hang``      never answers until the server stops
  ``badtoken``  HTTP 200, authorizationToken = base64("nocolonhere")
  ``notbase64`` HTTP 200, authorizationToken = ``!!!``
  ``empty``     HTTP 200, private: ``{"authorizationData": []}``;
                public: ``{}`` (no authorizationData)
  ``badproxy``  HTTP 200, private proxyEndpoint = ``https://evil.example.com``;
                public: same as ``ok`` (ECR Public has no proxyEndpoint)

  The SDKs retry 500 and throttling answers, so one helper invocation can
  count several calls.

Other AWS pieces (for the credential chain)
-------------------------------------------
Each call below is recorded in ``other`` of ``GET /_test/calls`` (a list of
``{"service", "action", "method", "path", "akid", "sessionToken", "time",
...}``); they never count as ``ecr``/``ecr-public`` calls.

* Anything else without an ECR target (STS ``AssumeRole``,
  ``AssumeRoleWithWebIdentity`` -- unsigned, which moto routes by its
  ``Action`` -- ...) goes to moto unchanged. For STS the record has
  ``service: "sts"``, the form parameters ``RoleArn``, ``RoleSessionName``,
  ``ExternalId``, ``DurationSeconds``, ``WebIdentityToken`` (when present),
  moto's HTTP ``status`` and ``issuedAkid``: the ``AccessKeyId`` of its answer.
* SSO portal stub: ``GET /federation/credentials?role_name=R&account_id=A``
  with header ``x-amz-sso_bearer_token`` (HTTP 401 ``UnauthorizedException``
  without it) answers ``{"roleCredentials": {"accessKeyId": "AKIDSSO",
  "secretAccessKey": "x", "sessionToken": "t", "expiration": <now+1h, ms>}}``.
  Record: ``service: "sso"``, ``roleName``, ``accountId``, ``bearerToken``.
* Container (ECS/EKS) credentials stub, on the control port:
  ``GET /_test/container-credentials[/anything][?token=T]``. With ``token``
  the ``Authorization`` header must equal ``T`` (else HTTP 401). Answers
  ``{"AccessKeyId": "AKIDECS", "SecretAccessKey": "x", "Token": "t",
  "Expiration": <RFC 3339, now+1h>}``. Record: ``service: "container"``,
  ``authorization``.
* IMDS stub (API port, and the plain-HTTP control port of a TLS server): ``PUT /latest/api/token`` answers a token (HTTP
  ``token_status``); ``GET /latest/meta-data/iam/security-credentials/``
  answers ``test-role``; ``GET .../security-credentials/test-role`` answers
  ``{"Code": "Success", "AccessKeyId": "AKIDIMDS", ..., "Token": "t",
  "Expiration": now+1h}``. GETs need the ``x-aws-ec2-metadata-token`` header
  (HTTP 401 without) when ``require_token``. ``POST /_test/imds`` with
  ``{"token_status": 200, "require_token": true}`` (the defaults) changes that:
  e.g. ``{"token_status": 403, "require_token": false}`` is an IMDSv1-only
  instance; ``{"akid": "AKIDIMDS2"}`` rotates the access key id (settings left
  out are kept). Record: ``service: "imds"``, ``method``, ``path``, ``imdsToken``.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import io
import ipaddress
import json
import os
import re
import select
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import uuid
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

ECR_TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
PUBLIC_TARGET_PREFIX = "SpencerFrontendService."
AMZ_JSON = "application/x-amz-json-1.1"
MODES = {
    "ok",
    "500",
    "400",
    "throttle",
    "garbage",
    "truncated",
    "hang",
    "badtoken",
    "notbase64",
    "empty",
    "badproxy",
}

StartResponse = Callable[..., Any]


class State:
    """Mutable, lock-protected server state shared by all request threads."""

    def __init__(self, ttl: float, stock: bool) -> None:
        self.lock = threading.Lock()
        self.default_ttl = ttl
        self.default_stock = stock
        self.counts = {"ecr": 0, "ecr-public": 0}
        self.requests: list[dict[str, Any]] = []
        self.mode = "ok"
        self.ttl = ttl
        self.delay = 0.0
        self.stock = stock
        self.other: list[dict[str, Any]] = []
        self.connects: list[dict[str, Any]] = []
        self.imds_token_status = 200
        self.imds_require_token = True
        self.imds_akid = "AKIDIMDS"
        # Set when the server stops: wakes "hang" and "delay" sleepers.
        self.stopping = threading.Event()

    def record(self, rec: dict[str, Any]) -> tuple[str, float, float, bool]:
        """Count one API call; return the behaviour (mode, ttl, delay, stock) to apply."""
        with self.lock:
            self.counts[rec["service"]] += 1
            self.requests.append(rec)
            return self.mode, self.ttl, self.delay, self.stock

    def record_other(self, rec: dict[str, Any]) -> None:
        """Record a call that is not ECR (STS, SSO, IMDS, container credentials)."""
        rec.setdefault("time", time.time())
        with self.lock:
            self.other.append(rec)

    def record_connect(self, target: str) -> None:
        with self.lock:
            self.connects.append({"target": target, "time": time.time()})

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                **self.counts,
                "requests": list(self.requests),
                "other": list(self.other),
                "connects": list(self.connects),
            }

    def reset(self) -> None:
        with self.lock:
            self.counts = {"ecr": 0, "ecr-public": 0}
            self.requests = []
            self.other = []
            self.connects = []

    def set_imds(self, body: dict[str, Any]) -> None:
        with self.lock:
            self.imds_token_status = int(body.get("token_status", self.imds_token_status))
            self.imds_require_token = bool(body.get("require_token", self.imds_require_token))
            self.imds_akid = str(body.get("akid", self.imds_akid))

    def set_mode(self, body: dict[str, Any]) -> None:
        mode = body.get("mode", "ok")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        ttl = float(body["ttl"]) if body.get("ttl") is not None else self.default_ttl
        delay = float(body["delay"]) if body.get("delay") is not None else 0.0
        stock = bool(body["stock"]) if body.get("stock") is not None else self.default_stock
        with self.lock:
            self.mode, self.ttl, self.delay, self.stock = mode, ttl, delay, stock


def read_body(environ: dict[str, Any]) -> bytes:
    """Read the whole request body and put it back for the next WSGI app."""
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()  # chunked: werkzeug terminates the stream for us
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def parse_credential_scope(auth: str | None) -> tuple[str | None, str | None, str | None]:
    """(access key id, region, signing service) from a SigV4 Authorization header."""
    if not auth:
        return None, None, None
    for part in auth.replace(",", " ").split():
        if part.startswith("Credential="):
            fields = part[len("Credential=") :].split("/")
            if len(fields) == 5:
                return fields[0], fields[2], fields[3]
            return fields[0] or None, None, None
    return None, None, None


def rewrite_expires(value: Any, expires: float) -> Any:
    """Set every "expiresAt" key in a JSON value (recursively) to `expires`."""
    if isinstance(value, dict):
        return {
            k: (expires if k == "expiresAt" else rewrite_expires(v, expires))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [rewrite_expires(v, expires) for v in value]
    return value


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class Middleware:
    """WSGI app: control endpoints, ECR Public stub, fault modes, then moto."""

    def __init__(self, moto_app: Any, state: State, control_only: bool = False) -> None:
        self.moto_app = moto_app
        self.state = state
        self.control_only = control_only

    # -- plumbing ---------------------------------------------------------

    @staticmethod
    def respond(
        start_response: StartResponse,
        status: int,
        body: bytes,
        content_type: str = AMZ_JSON,
        extra_headers: list[tuple[str, str]] | None = None,
    ) -> Iterable[bytes]:
        reason = {
            200: "OK",
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            405: "Method Not Allowed",
            500: "Internal Server Error",
        }
        start_response(
            f"{status} {reason.get(status, 'Unknown')}",
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(body))),
                ("x-amzn-RequestId", str(uuid.uuid4())),
                *(extra_headers or []),
            ],
        )
        return [body]

    def respond_json(self, start_response: StartResponse, status: int, value: Any) -> Iterable[bytes]:
        return self.respond(start_response, status, json.dumps(value).encode())

    def call_moto(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """Run moto's app and collect its whole answer."""
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        result = self.moto_app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close:
                close()
        return captured["status"], captured["headers"], body

    # -- control API ------------------------------------------------------

    def control(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if method == "GET" and path == "/_test/calls":
            return self.respond_json(start_response, 200, self.state.snapshot())
        if method == "POST" and path == "/_test/reset":
            self.state.reset()
            return self.respond_json(start_response, 200, {"ok": True})
        if method == "POST" and path == "/_test/mode":
            try:
                body = json.loads(read_body(environ) or b"{}")
                self.state.set_mode(body)
            except (ValueError, TypeError, AttributeError) as err:
                return self.respond_json(start_response, 400, {"error": str(err)})
            return self.respond_json(start_response, 200, {"ok": True})
        if method == "POST" and path == "/_test/imds":
            try:
                self.state.set_imds(json.loads(read_body(environ) or b"{}"))
            except (ValueError, TypeError, AttributeError) as err:
                return self.respond_json(start_response, 400, {"error": str(err)})
            return self.respond_json(start_response, 200, {"ok": True})
        if path == "/_test/container-credentials" or path.startswith("/_test/container-credentials/"):
            return self.container_credentials(environ, start_response)
        return self.respond_json(start_response, 404, {"error": f"no such control endpoint: {method} {path}"})

    # -- credential sources (SSO portal, container, IMDS) -------------------

    @staticmethod
    def in_one_hour() -> datetime.datetime:
        return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(hours=1)

    def container_credentials(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        authorization = environ.get("HTTP_AUTHORIZATION")
        self.state.record_other(
            {
                "service": "container",
                "method": environ["REQUEST_METHOD"],
                "path": environ.get("PATH_INFO", ""),
                "authorization": authorization,
            }
        )
        expected = query.get("token", [None])[0]
        if expected is not None and authorization != expected:
            return self.respond_json(start_response, 401, {"code": "Unauthorized", "message": "bad token"})
        expiration = self.in_one_hour().strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.respond_json(
            start_response,
            200,
            {"AccessKeyId": "AKIDECS", "SecretAccessKey": "x", "Token": "t", "Expiration": expiration},
        )

    def sso_portal(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        bearer = environ.get("HTTP_X_AMZ_SSO_BEARER_TOKEN")
        self.state.record_other(
            {
                "service": "sso",
                "action": "GetRoleCredentials",
                "method": environ["REQUEST_METHOD"],
                "path": environ.get("PATH_INFO", ""),
                "roleName": query.get("role_name", [None])[0],
                "accountId": query.get("account_id", [None])[0],
                "bearerToken": bearer,
                "akid": None,
                "sessionToken": None,
            }
        )
        if not bearer:
            return self.respond_json(
                start_response,
                401,
                {"__type": "UnauthorizedException", "message": "Session token not found or invalid"},
            )
        expiration = int(self.in_one_hour().timestamp() * 1000)
        return self.respond_json(
            start_response,
            200,
            {
                "roleCredentials": {
                    "accessKeyId": "AKIDSSO",
                    "secretAccessKey": "x",
                    "sessionToken": "t",
                    "expiration": expiration,
                }
            },
        )

    def imds(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        token = environ.get("HTTP_X_AWS_EC2_METADATA_TOKEN")
        self.state.record_other(
            {
                "service": "imds",
                "method": method,
                "path": path,
                "imdsToken": token,
                "ttl": environ.get("HTTP_X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS"),
            }
        )
        with self.state.lock:
            token_status, require_token = self.state.imds_token_status, self.state.imds_require_token
            imds_akid = self.state.imds_akid

        def text(status: int, body: str) -> Iterable[bytes]:
            return self.respond(start_response, status, body.encode(), "text/plain")

        if path == "/latest/api/token":
            if method != "PUT":
                return text(405, "")
            if token_status != 200:
                return text(token_status, "")
            ttl = environ.get("HTTP_X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS") or "21600"
            return self.respond(
                start_response,
                200,
                b"imds-test-token",
                "text/plain",
                [("x-aws-ec2-metadata-token-ttl-seconds", ttl)],
            )
        if method != "GET":
            return text(405, "")
        if require_token and token != "imds-test-token":
            return text(401, "")
        base = "/latest/meta-data/iam/security-credentials/"
        if path == base:
            return text(200, "test-role")
        if path == base + "test-role":
            now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            creds = {
                "Code": "Success",
                "LastUpdated": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Type": "AWS-HMAC",
                "AccessKeyId": imds_akid,
                "SecretAccessKey": "x",
                "Token": "t",
                "Expiration": self.in_one_hour().strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            return self.respond(start_response, 200, json.dumps(creds, indent=2).encode(), "text/plain")
        return text(404, "")

    def moto_other(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Hand a non-ECR call to moto, recording it (with STS details)."""
        body = read_body(environ)
        form: dict[str, list[str]] = {}
        if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            form = parse_qs(body.decode("utf-8", "replace"))
        else:
            form = parse_qs(environ.get("QUERY_STRING", ""))
        akid, region, signing_service = parse_credential_scope(environ.get("HTTP_AUTHORIZATION"))
        action = form.get("Action", [None])[0]
        service = signing_service or ("sts" if action in ("AssumeRoleWithWebIdentity", "AssumeRoleWithSAML") else None)
        rec: dict[str, Any] = {
            "service": service,
            "action": action,
            "method": environ["REQUEST_METHOD"],
            "path": environ.get("PATH_INFO", ""),
            "region": region,
            "akid": akid,
            "sessionToken": environ.get("HTTP_X_AMZ_SECURITY_TOKEN"),
            "host": environ.get("HTTP_HOST"),
            "time": time.time(),
        }
        for key in ("RoleArn", "RoleSessionName", "ExternalId", "DurationSeconds", "WebIdentityToken"):
            if key in form:
                rec[key] = form[key][0]
        status, headers, raw = self.call_moto(environ)
        match = re.search(rb"<AccessKeyId>([^<]*)</AccessKeyId>", raw)
        rec["status"] = int(status.split()[0])
        rec["issuedAkid"] = match.group(1).decode() if match else None
        self.state.record_other(rec)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(raw))))
        start_response(status, headers)
        return [raw]

    # -- API --------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if path.startswith("/_test/") and not target:
            return self.control(environ, start_response)
        if path.startswith("/latest/") and not target:
            return self.imds(environ, start_response)
        if self.control_only:
            return self.respond_json(start_response, 404, {"error": "control port: only /_test/* and IMDS"})
        if path == "/federation/credentials" and not target:
            return self.sso_portal(environ, start_response)

        if target.startswith(ECR_TARGET_PREFIX):
            service, action = "ecr", target[len(ECR_TARGET_PREFIX) :]
        elif target.startswith(PUBLIC_TARGET_PREFIX):
            service, action = "ecr-public", target[len(PUBLIC_TARGET_PREFIX) :]
        else:
            # Not an ECR call: let moto answer it as it would anyway.
            return self.moto_other(environ, start_response)

        body = read_body(environ)
        try:
            parsed = json.loads(body) if body else {}
        except ValueError:
            parsed = None
        registry_ids = parsed.get("registryIds") if isinstance(parsed, dict) else None
        auth = environ.get("HTTP_AUTHORIZATION")
        akid, region, signing_service = parse_credential_scope(auth)
        mode, ttl, delay, stock = self.state.record(
            {
                "service": service,
                "action": action,
                "region": region,
                "registryIds": registry_ids,
                "akid": akid,
                "signingService": signing_service,
                "sessionToken": environ.get("HTTP_X_AMZ_SECURITY_TOKEN"),
                "host": environ.get("HTTP_HOST"),
                "time": time.time(),
            }
        )

        if mode == "hang":
            # Werkzeug's request threads are daemon threads: this one just
            # waits for the server to stop (or the process to exit).
            self.state.stopping.wait()
            return self.respond_json(start_response, 500, {"__type": "ServerStopping"})
        if delay > 0:
            self.state.stopping.wait(delay)

        if auth is None:
            return self.respond_json(
                start_response,
                400,
                {"__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"},
            )
        if mode == "500":
            return self.respond_json(
                start_response,
                500,
                {"__type": "InternalFailure", "message": "We encountered an internal error. Please try again."},
            )
        if mode == "400":
            return self.respond_json(
                start_response, 400, {"__type": "AccessDeniedException", "message": "User is not authorized"}
            )
        if mode == "throttle":
            return self.respond_json(start_response, 400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
        if mode == "garbage":
            return self.respond(start_response, 200, b"not json{")

        if action != "GetAuthorizationToken":
            if service == "ecr":
                return self.moto_app(environ, start_response)
            return self.respond_json(
                start_response,
                400,
                {"__type": "InvalidParameterException", "message": f"{action} is not supported by the test server"},
            )

        # Millisecond precision, like the real service (e.g. 1614652277.608).
        expires = round(time.time() + ttl, 3)
        if service == "ecr-public":
            status = 200
            answer: Any = {"authorizationData": {"authorizationToken": b64("AWS:public-auth-token"), "expiresAt": expires}}
        else:
            status_line, _headers, raw = self.call_moto(environ)
            status = int(status_line.split()[0])
            try:
                answer = json.loads(raw)
            except ValueError:
                return self.respond(start_response, status, raw)
            if status == 200 and not stock:
                answer = rewrite_expires(answer, expires)

        if status == 200:
            answer = self.apply_token_mode(service, mode, answer)
        data = json.dumps(answer).encode()
        if mode == "truncated":
            data = data[: len(data) // 2]
        return self.respond(start_response, status, data)

    @staticmethod
    def apply_token_mode(service: str, mode: str, answer: Any) -> Any:
        """Damage a successful GetAuthorizationToken answer per the mode."""
        if mode == "empty":
            return {} if service == "ecr-public" else {"authorizationData": []}
        data = answer.get("authorizationData")
        items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        for item in items:
            if mode == "badtoken":
                item["authorizationToken"] = b64("nocolonhere")
            elif mode == "notbase64":
                item["authorizationToken"] = "!!!"
            elif mode == "badproxy" and service == "ecr":
                item["proxyEndpoint"] = "https://evil.example.com"
        return answer


class ConnectProxy(socketserver.ThreadingTCPServer):
    """An HTTP CONNECT proxy that records every target and tunnels each one to
    `backend` (the API port), whatever host it names."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, backend: tuple[str, int], state: State) -> None:
        self.backend = backend
        self.state = state
        super().__init__((host, 0), ConnectHandler)


def nodelay(sock: Any) -> None:
    """TCP_NODELAY on a connection (of the API server or of the CONNECT proxy): bytes are sent
    as soon as they are written, as real servers and proxies do, instead of waiting for the
    peer's (delayed) ACK of what went before."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass


class ConnectHandler(socketserver.BaseRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(10)
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk or len(head) > 65536:
                    return
                head += chunk
        except OSError:
            return
        head, rest = head.split(b"\r\n\r\n", 1)
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split()
        if len(parts) != 3 or parts[0] != "CONNECT":
            self.server.state.record_connect(f"not CONNECT: {request_line}")
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        self.server.state.record_connect(parts[1])
        try:
            upstream = socket.create_connection(self.server.backend, timeout=10)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        with upstream:
            nodelay(client)
            nodelay(upstream)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            self.pump(client, upstream)

    def pump(self, a: socket.socket, b: socket.socket) -> None:
        """Copy bytes both ways until both sides have closed (or the server stops). An EOF from
        one side is passed on as a half-close (shutdown SHUT_WR), as real proxies do, so a peer
        still sending its last bytes is not cut off."""
        a.setblocking(False)
        b.setblocking(False)
        peers = {a: b, b: a}
        open_readers = {a, b}
        while open_readers and not self.server.state.stopping.is_set():
            readable, _, _ = select.select(list(open_readers), [], [], 0.5)
            for sock in readable:
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    return
                if not data:
                    open_readers.discard(sock)
                    try:
                        peers[sock].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                try:
                    peers[sock].setblocking(True)
                    peers[sock].sendall(data)
                    peers[sock].setblocking(False)
                except OSError:
                    return


def make_moto_app() -> Any:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def warm_up(app: Any) -> None:
    """Make one signed ECR call in-process so that moto's ECR app and backend
    exist before the ready line: the first real call is then as fast as later ones."""
    from werkzeug.test import Client

    headers = {
        "X-Amz-Target": ECR_TARGET_PREFIX + "GetAuthorizationToken",
        "Content-Type": AMZ_JSON,
        "Authorization": "AWS4-HMAC-SHA256 Credential=WARMUP/20000101/us-east-1/ecr/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }
    resp = Client(app).post("/", data=b'{"registryIds":["000000000000"]}', headers=headers)
    if resp.status_code != 200:
        raise RuntimeError(f"moto warm-up failed: {resp.status_code} {resp.get_data()[:200]!r}")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", help="loopback IPv4 address to listen on (127.0.0.0/8)")
    parser.add_argument("--port", type=int, default=0, help="port (0: pick a free one)")
    parser.add_argument("--ttl", type=float, default=43200.0, help="token lifetime in seconds (default 43200)")
    parser.add_argument("--stock", action="store_true", help="keep moto's 2015 expiresAt for private ECR")
    parser.add_argument("--tls-cert", help="PEM certificate (chain): serve HTTPS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin closes")
    parser.add_argument("--accounts-from-registry-ids", action="store_true", help="no-op: moto's default")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--connect-proxy", action="store_true", help="also run a recording CONNECT proxy")
    parser.add_argument(
        "--fork-server", action="store_true", help="serve start/stop requests on stdin (see the docstring)"
    )
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.host is None:
        parser.error("the following arguments are required: --host")
    try:
        if not ipaddress.IPv4Address(args.host).is_loopback:
            parser.error(f"--host {args.host} is not a loopback address")
    except ValueError:
        parser.error(f"--host {args.host} is not an IPv4 address")
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")


def serve(args: argparse.Namespace, moto_app: Any, ready_line: Callable[[dict[str, int]], None]) -> int:
    """Run one server (API port, control port with TLS, CONNECT proxy) for `args` on `moto_app`
    (made and warmed up); call `ready_line` once it listens; return on SIGTERM / SIGINT."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    verbose = args.verbose

    class Handler(MotoRequestHandler):
        def setup(self) -> None:
            # Werkzeug writes a response in several small sends; over TLS, after the
            # session tickets the client has not acknowledged yet, Nagle's algorithm held
            # them until the client's delayed ACK: about 11 ms added to every HTTPS request
            # (plain HTTP 3.3 ms, HTTPS 15 ms here). Every real server sends at once.
            nodelay(self.request)
            super().setup()

        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            if verbose:
                super().log_request(code, size)

        def make_environ(self) -> dict[str, Any]:
            # Werkzeug drops headers with an underscore in their name; the SSO
            # portal's bearer token header is one (x-amz-sso_bearer_token).
            environ = super().make_environ()
            for name, value in self.headers.items():
                if name.lower() == "x-amz-sso_bearer_token":
                    environ.setdefault("HTTP_X_AMZ_SSO_BEARER_TOKEN", value)
            return environ

    state = State(args.ttl, args.stock)

    api = make_server(args.host, args.port, Middleware(moto_app, state), threaded=True, request_handler=Handler)
    servers = [api]
    control_port = api.server_port
    if args.tls_cert:
        # Wrap the socket ourselves rather than passing ssl_context to
        # make_server: werkzeug's wrapping does the TLS handshake inside
        # accept(), on the one serving thread, so a single client that
        # connects and stays silent would block every other client. Here the
        # handshake happens on the first read, in the request's own thread.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        ctx.set_alpn_protocols(["http/1.1"])
        api.socket = ctx.wrap_socket(api.socket, server_side=True, do_handshake_on_connect=False)
        api.ssl_context = ctx  # werkzeug then reports wsgi.url_scheme = https
        control = make_server(
            args.host, 0, Middleware(moto_app, state, control_only=True), threaded=True, request_handler=Handler
        )
        servers.append(control)
        control_port = control.server_port
        threading.Thread(target=control.serve_forever, daemon=True).start()

    def stop(_signum: int, _frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if args.exit_on_stdin_eof:

        def watch_stdin() -> None:
            while os.read(0, 4096):
                pass
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch_stdin, daemon=True).start()

    ready = {"port": api.server_port, "control_port": control_port}
    proxy = None
    if args.connect_proxy:
        proxy = ConnectProxy(args.host, (args.host, api.server_port), state)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        ready["proxy_port"] = proxy.server_address[1]

    ready_line(ready)
    try:
        api.serve_forever()
    except SystemExit:
        pass
    finally:
        state.stopping.set()
        for server in servers:
            server.server_close()
        if proxy is not None:
            proxy.server_close()
    return 0


def print_ready(ready: dict[str, int]) -> None:
    print(json.dumps(ready), flush=True)


# -- fork server ------------------------------------------------------------------------------


class ForkServer:
    """Imports moto once, then forks one fresh server per `start` request (see the docstring)."""

    START_TIMEOUT = 30.0

    def __init__(self, parser: argparse.ArgumentParser, moto_app: Any) -> None:
        self.parser = parser
        self.moto_app = moto_app
        self.children: set[int] = set()
        self.pid = os.getpid()
        self.prctl = self.load_prctl()

    @staticmethod
    def load_prctl() -> Callable[[int, int], int] | None:
        try:
            import ctypes

            return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
        except (OSError, AttributeError):
            return None

    def answer(self, value: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    def reap(self) -> None:
        """Collect children that exited by themselves."""
        for pid in list(self.children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.children.discard(pid)

    def stop(self, pid: int) -> None:
        if pid in self.children:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.children.discard(pid)

    def stop_all(self) -> None:
        for pid in list(self.children):
            self.stop(pid)

    def start(self, argv: list[str], log: str) -> dict[str, Any]:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            self.child(argv, log, write_fd)  # never returns
        os.close(write_fd)
        self.children.add(pid)
        line = b""
        deadline = time.monotonic() + self.START_TIMEOUT
        with os.fdopen(read_fd, "rb", buffering=0) as pipe:
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([pipe], [], [], left)[0]:
                    self.stop(pid)
                    return {"error": f"not ready within {self.START_TIMEOUT}s"}
                chunk = pipe.read(4096)
                if not chunk:
                    self.stop(pid)
                    return {"error": "exited before it was ready"}
                line += chunk
        return {"pid": pid, "ready": json.loads(line)}

    def child(self, argv: list[str], log: str, ready_fd: int) -> None:
        """In the forked child: become one server; exit, never return to the request loop."""
        code = 1
        try:
            # Die with the fork server (which dies when the test process closes its stdin).
            if self.prctl is not None:
                self.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            if os.getppid() != self.pid:
                os._exit(1)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            null = os.open(os.devnull, os.O_RDWR)
            err = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(null, 0)
            os.dup2(err, 1)
            os.dup2(err, 2)
            os.close(null)
            os.close(err)
            sys.stdin = open(os.devnull)  # noqa: SIM115 (lives as long as the process)
            sys.stdout = os.fdopen(1, "w", buffering=1)
            sys.stderr = os.fdopen(2, "w", buffering=1)
            args = self.parser.parse_args(argv)
            check_args(self.parser, args)
            if args.fork_server or args.exit_on_stdin_eof:
                self.parser.error("--fork-server and --exit-on-stdin-eof are not for a forked server")

            def ready_line(ready: dict[str, int]) -> None:
                os.write(ready_fd, (json.dumps(ready) + "\n").encode())
                os.close(ready_fd)

            code = serve(args, self.moto_app, ready_line)
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        except BaseException:  # noqa: BLE001 (the log is the only place to say it)
            import traceback

            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)

    def run(self) -> int:
        def stop(_signum: int, _frame: Any) -> None:
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            self.answer({"fork_server": os.getpid()})
            for raw in sys.stdin:
                self.reap()
                try:
                    request = json.loads(raw)
                    op = request["op"]
                    if op == "start":
                        self.answer(self.start([str(a) for a in request["argv"]], str(request["log"])))
                    elif op == "stop":
                        self.stop(int(request["pid"]))
                        self.answer({"stopped": int(request["pid"])})
                    else:
                        self.answer({"error": f"unknown op {op!r}"})
                except (ValueError, KeyError, TypeError, OSError) as err:
                    self.answer({"error": f"bad request {raw!r}: {err}"})
        except SystemExit:
            pass
        finally:
            if os.getpid() == self.pid:
                self.stop_all()
        return 0


def main() -> int:
    parser = make_parser()
    args = parser.parse_args()
    if not args.fork_server:
        check_args(parser, args)
    moto_app = make_moto_app()
    warm_up(moto_app)
    if args.fork_server:
        return ForkServer(parser, moto_app).run()
    return serve(args, moto_app, print_ready)


if __name__ == "__main__":
    sys.exit(main())
