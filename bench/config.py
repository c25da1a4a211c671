"""Constants: where things are, the test account and registry, each binary's CA bundle list."""

from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCHER = os.path.join(ROOT, "scripts", "bench")  # re-executed in the private mount namespace
TARGET = "x86_64-unknown-linux-musl"
BIN_NAME = "docker-credential-ecr-login"
DEFAULT_OURS = os.path.join(ROOT, "target", TARGET, "release", BIN_NAME)
# The floor program (examples/floor.rs): one TLS handshake and one signed GetAuthorizationToken.
FLOOR_NAME = "floor"
DEFAULT_FLOOR = os.path.join(ROOT, "target", TARGET, "release", "examples", FLOOR_NAME)
DEFAULT_GO = "/usr/bin/docker-credential-ecr-login"
ACCOUNT = "123456789012"
REGION = "us-east-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
API_HOST = f"api.ecr.{REGION}.amazonaws.com"
EXPECTED_SECRET = f"{ACCOUNT}-auth-token"

# Where each binary looks for the distribution bundle when no CA variable is set: the first
# existing file of its list. Ours: src/tls.rs (SPEC section 12). Go 1.19 (Debian's helper is built
# with go1.19.8): crypto/x509/root_linux.go, which then ALSO reads every file of the directories
# /etc/ssl/certs, /etc/pki/tls/certs and /system/etc/security/cacerts (root_unix.go).
OURS_BUNDLES = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
]
GO_BUNDLES = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
]
GO_CERT_DIRS = ["/etc/ssl/certs", "/etc/pki/tls/certs", "/system/etc/security/cacerts"]
NS_MARK = "ECR_BENCH_MOUNT_NS"  # set once the bench runs in its private mount namespace
