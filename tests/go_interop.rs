//! One cache file, two programs: Debian's Go helper (`amazon-ecr-credential-helper`, at
//! /usr/bin/docker-credential-ecr-login) and ours share `~/.ecr/cache.json` and each reads what
//! the other wrote. The Go helper ignores `AWS_ENDPOINT_URL*`, so both reach the TLS test API
//! through a CONNECT proxy (`HTTPS_PROXY`) with the test CA in `SSL_CERT_FILE`.
//! Skips loudly without the Go helper or moto.

mod common;

use common::{Env, ServerOpts, TestCa};
use std::path::Path;

const GO_HELPER: &str = "/usr/bin/docker-credential-ecr-login";
const HOST_A: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const HOST_B: &str = "210987654321.dkr.ecr.us-east-1.amazonaws.com";

fn answer(host: &str, account: &str) -> String {
    format!(
        "{{\"ServerURL\":\"{host}\",\"Username\":\"AWS\",\"Secret\":\"{account}-auth-token\"}}\n"
    )
}

#[test]
fn go_and_rust_share_one_cache_file() {
    if !Path::new(GO_HELPER).exists() {
        common::skip(
            "Debian's Go helper is not installed (apt-get install amazon-ecr-credential-helper)",
        );
        return;
    }
    let _ = require_python!();
    let dir = tempfile::tempdir().unwrap();
    let host = common::pick_loopback_host();
    let ca = TestCa::generate(dir.path(), &["api.ecr.us-east-1.amazonaws.com", &host]);
    let server = require_server!(ServerOpts {
        connect_proxy: true,
        ..ServerOpts::tls(&host, &ca)
    });
    // Both programs: same home, same cache dir, same keys, the proxy and the test CA.
    let base = Env::new()
        .skip_log_scan()
        .with("HTTPS_PROXY", server.proxy_url())
        .with("SSL_CERT_FILE", &ca.ca_pem);
    let go = Env::new()
        .bin(GO_HELPER)
        .with("HOME", base.dir())
        .with("AWS_ECR_CACHE_DIR", base.cache_dir())
        .with("HTTPS_PROXY", server.proxy_url())
        .with("SSL_CERT_FILE", &ca.ca_pem)
        .with("AWS_REGION", "us-east-1");

    // 1. Go fetches A and writes the cache (with its legacy key format).
    let out = go.run(&["get"], HOST_A.as_bytes());
    assert_eq!(
        out.json(),
        serde_json::from_str::<serde_json::Value>(&answer(HOST_A, "123456789012")).unwrap(),
        "{out}"
    );
    assert_eq!(server.calls(), (1, 0));

    // 2. Ours answers A from Go's entry, without an API call.
    let out = base.run(&["get"], HOST_A.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST_A, "123456789012"), "{out}");
    assert_eq!(server.calls(), (1, 0), "ours must read Go's cache entry");

    // 3. Ours fetches B and rewrites the file (keeping Go's entry).
    let out = base.run(&["get"], HOST_B.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST_B, "210987654321"), "{out}");
    assert_eq!(server.calls(), (2, 0));

    // 4. Go still parses the file we wrote: A from its own entry with no API call, and `list`
    //    shows both registries.
    let out = go.run(&["get"], HOST_A.as_bytes());
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        server.calls(),
        (2, 0),
        "Go must still read the cache after our write"
    );
    let out = go.run(&["list"], b"");
    let listed = out.json();
    assert_eq!(listed[format!("https://{HOST_A}")], "AWS", "{out}");
    assert_eq!(listed[format!("https://{HOST_B}")], "AWS", "{out}");
}
