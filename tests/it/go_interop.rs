//! One cache file, two programs: Debian's Go helper (`amazon-ecr-credential-helper`, at
//! /usr/bin/docker-credential-ecr-login) and ours share `~/.ecr/cache.json` and each reads what
//! the other wrote. The Go helper ignores `AWS_ENDPOINT_URL*`, so both reach the TLS test API
//! through a CONNECT proxy (`HTTPS_PROXY`) with the test CA in `SSL_CERT_FILE`.
//! Skips loudly without the Go helper or moto.

use crate::common;

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

/// D17: an identity key (`id1.`, a shape Go never writes) survives the Go helper's rewrite of
/// the file, unchanged.
#[test]
fn go_keeps_identity_keys_when_it_rewrites_the_file() {
    if !Path::new(GO_HELPER).exists() {
        common::skip("Debian's Go helper is not installed");
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
    let go = Env::new()
        .bin(GO_HELPER)
        .skip_log_scan()
        .with("HTTPS_PROXY", server.proxy_url())
        .with("SSL_CERT_FILE", &ca.ca_pem)
        .with("AWS_REGION", "us-east-1");
    let key = format!("us-east-1-id1.{}-210987654321", "ab".repeat(32));
    let entry = serde_json::json!({
        "AuthorizationToken": "QVdTOmlkZW50aXR5",
        "RequestedAt": common::rfc3339_from_now(-60),
        "ExpiresAt": common::rfc3339_from_now(3600),
        "ProxyEndpoint": format!("https://{HOST_B}"),
        "Service": "ecr",
    });
    let file = serde_json::json!({ "Registries": { &key: entry.clone() }, "Version": "1.0" });
    std::fs::create_dir_all(go.cache_dir()).unwrap();
    std::fs::write(go.cache_file(), file.to_string()).unwrap();

    let out = go.run(&["get"], HOST_A.as_bytes());
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(server.calls(), (1, 0), "Go fetched and wrote the file");
    let text = std::fs::read_to_string(go.cache_file()).unwrap();
    let back: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back["Registries"].as_object().unwrap().len(), 2, "{text}");
    assert_eq!(back["Registries"][&key], entry, "{text}");
}

/// Go helpers per trial of the first mix in [`measure_mixed_writer_losses`]; with
/// [`OURS_PER_TRIAL`], 4:1.
const GO_PER_TRIAL: usize = 8;
/// Our helpers per trial.
const OURS_PER_TRIAL: usize = 2;

/// What one batch of trials lost: entries written by Go and by us that are missing at the end.
#[derive(Debug, Default)]
struct Losses {
    trials: usize,
    go_written: usize,
    go_lost: usize,
    ours_written: usize,
    ours_lost: usize,
}

/// Runs `trials` trials of `go_n` Go helpers and `ours_n` of ours started at once, each on its
/// own registry (account) of one fresh cache, and counts the entries missing afterwards. Go writes
/// without a lock, so Go/Go races lose entries too; the Go-only control measures those.
fn count_losses(trials: usize, go_n: usize, ours_n: usize) -> Option<Losses> {
    if !Path::new(GO_HELPER).exists() {
        common::skip(
            "Debian's Go helper is not installed (apt-get install amazon-ecr-credential-helper)",
        );
        return None;
    }
    common::python_status()
        .as_ref()
        .map_err(|r| common::skip(r))
        .ok()?;
    let dir = tempfile::tempdir().unwrap();
    let host = common::pick_loopback_host();
    let ca = TestCa::generate(dir.path(), &["api.ecr.us-east-1.amazonaws.com", &host]);
    let server = common::EcrServer::start(ServerOpts {
        connect_proxy: true,
        ..ServerOpts::tls(&host, &ca)
    });
    let mut ours = Env::new()
        .skip_log_scan()
        .with("HTTPS_PROXY", server.proxy_url())
        .with("SSL_CERT_FILE", &ca.ca_pem);
    // another build of ours to compare with (e.g. before a change)
    if let Some(bin) = std::env::var_os("ECR_INTEROP_OURS_BIN") {
        ours = ours.bin(bin);
    }
    let mut go = Env::new()
        .bin(GO_HELPER)
        .with("HTTPS_PROXY", server.proxy_url())
        .with("SSL_CERT_FILE", &ca.ca_pem)
        .with("AWS_REGION", "us-east-1");
    let mut losses = Losses {
        trials,
        ..Losses::default()
    };
    for trial in 0..trials {
        let cache_dir = dir.path().join(format!("trial-{trial}"));
        ours.set("AWS_ECR_CACHE_DIR", &cache_dir);
        go.set("AWS_ECR_CACHE_DIR", &cache_dir);
        let hosts: Vec<String> = (0..go_n + ours_n)
            .map(|i| {
                format!(
                    "{:012}.dkr.ecr.us-east-1.amazonaws.com",
                    100_000_000_000 + i
                )
            })
            .collect();
        // Ours are spread evenly among the Go helpers, so that they start while Go is running.
        let total = go_n + ours_n;
        let is_ours = |i: usize| (i + 1) * ours_n / total > i * ours_n / total;
        let running: Vec<_> = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let env = if is_ours(i) { &ours } else { &go };
                env.spawn(&["get"], h.as_bytes())
            })
            .collect();
        for (i, r) in running.into_iter().enumerate() {
            let out = r.wait();
            assert_eq!(out.code, 0, "helper {i}: {out}");
        }
        let text = std::fs::read_to_string(cache_dir.join("cache.json")).unwrap();
        let file: serde_json::Value = serde_json::from_str(&text).unwrap();
        let endpoints: Vec<&str> = file["Registries"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|e| e["ProxyEndpoint"].as_str())
            .collect();
        for (i, h) in hosts.iter().enumerate() {
            let kept = endpoints.contains(&format!("https://{h}").as_str());
            let (written, lost) = if is_ours(i) {
                (&mut losses.ours_written, &mut losses.ours_lost)
            } else {
                (&mut losses.go_written, &mut losses.go_lost)
            };
            *written += 1;
            *lost += usize::from(!kept);
        }
    }
    Some(losses)
}

/// Trials from `ECR_INTEROP_TRIALS`, else `default`.
fn trials(default: usize) -> usize {
    std::env::var("ECR_INTEROP_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Regression (issue 11), quick: 1 Go helper and 9 of ours at once, so that only ours can drop
/// the Go entry. Ours checked `cache.json` only when reading it, then synced and renamed: it lost
/// the Go entry in 29 of 40 trials. Now it reads the file again just before the rename (0 of 40
/// measured); Go writes unlocked, so the window is narrowed, not closed: allow one loss.
#[test]
fn ours_rarely_drops_a_concurrent_go_entry() {
    let Some(l) = count_losses(trials(5), 1, 9) else {
        return;
    };
    eprintln!("1 Go + 9 ours: {l:?}");
    assert_eq!(l.go_written + l.ours_written, l.trials * 10);
    assert!(l.go_lost <= 1, "ours dropped Go's entry: {l:?}");
}

/// The measurement (slow; `ECR_INTEROP_TRIALS=N`, default 50; `ECR_INTEROP_OURS_BIN` to measure
/// another build of ours), printed: 8 Go + 2 ours; 1 Go + 9 ours, where a lost Go entry can only
/// have been dropped by ours and a lost entry of ours only by Go; and a 10 Go control for the
/// Go/Go losses. Run with `cargo test --test it go_interop::measure -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_mixed_writer_losses() {
    let n = trials(50);
    for (go_n, ours_n) in [(GO_PER_TRIAL, OURS_PER_TRIAL), (1, 9), (10, 0)] {
        let Some(l) = count_losses(n, go_n, ours_n) else {
            return;
        };
        eprintln!("{go_n} Go + {ours_n} ours: {l:?}");
    }
}
