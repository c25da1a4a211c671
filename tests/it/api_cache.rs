//! `get` and `list` against a real ECR API (moto, via tests/support/ecr_server.py): the cache
//! (hits, misses, expiry, stale fallback, corrupt files, locks, concurrency) and the total time
//! bound. Each test skips loudly when no Python with moto is available.

use crate::common;

use common::{EcrServer, Env, ServerOpts};
use docker_credential_ecr_login::cache::Keys;
use serde_json::Value;
use std::time::Duration;

const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const ANSWER: &str = "{\"ServerURL\":\"123456789012.dkr.ecr.us-east-1.amazonaws.com\",\"Username\":\"AWS\",\"Secret\":\"123456789012-auth-token\"}\n";
const NOT_FOUND: &str = "credentials not found in native keychain\n";
/// `<region>-H(akid)-<account>`
fn key_for(akid: &str, region: &str, account: &str) -> String {
    Keys::private(region, akid, account).current
}

fn rfc3339(offset_secs: i64) -> String {
    common::rfc3339_from_now(offset_secs)
}

fn cache_with(entries: &[(&str, &str, i64, i64)]) -> String {
    // (key, token, requested offset, expires offset)
    let regs: Vec<String> = entries
        .iter()
        .map(|(k, tok, req, exp)| {
            format!(
                "\"{k}\":{{\"AuthorizationToken\":\"{tok}\",\"RequestedAt\":\"{}\",\"ExpiresAt\":\"{}\",\"ProxyEndpoint\":\"https://{HOST}\",\"Service\":\"ecr\"}}",
                rfc3339(*req),
                rfc3339(*exp)
            )
        })
        .collect();
    format!(
        "{{\"Registries\":{{{}}},\"Version\":\"1.0\"}}",
        regs.join(",")
    )
}

fn write_cache(env: &Env, text: &str) {
    std::fs::create_dir_all(env.cache_dir()).unwrap();
    std::fs::write(env.cache_file(), text).unwrap();
}

fn read_cache(env: &Env) -> Value {
    serde_json::from_slice(&std::fs::read(env.cache_file()).expect("cache file"))
        .expect("cache JSON")
}

/// base64("AWS:cached-secret")
const CACHED_TOKEN: &str = "QVdTOmNhY2hlZC1zZWNyZXQ=";
const CACHED_ANSWER: &str = "{\"ServerURL\":\"123456789012.dkr.ecr.us-east-1.amazonaws.com\",\"Username\":\"AWS\",\"Secret\":\"cached-secret\"}\n";

#[test]
fn get_fetches_caches_and_hits() {
    let server = require_server!();
    let env = Env::with_server(&server);
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), ANSWER, "{out}");
    assert_eq!(out.code, 0);
    assert!(out.stderr.is_empty());
    assert_eq!(server.calls(), (1, 0));
    // the request carried registryIds and the host's region
    let req = &server.requests()[0];
    assert_eq!(req["registryIds"], serde_json::json!(["123456789012"]));
    assert_eq!(req["region"], "us-east-1");

    // file format: Go's key, 0600 file in a 0700 directory, Go's layout
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.cache_file()), 0o600);
    assert_eq!(mode(&env.cache_dir()), 0o700);
    let text = std::fs::read_to_string(env.cache_file()).unwrap();
    assert!(text.starts_with("{\n  \"Registries\": {\n    \""), "{text}");
    assert!(
        text.ends_with("\n  },\n  \"Version\": \"1.0\"\n}"),
        "{text}"
    );
    let cache = read_cache(&env);
    let entry = &cache["Registries"][key_for("AKIDEXAMPLE", "us-east-1", "123456789012")];
    assert_eq!(
        entry["AuthorizationToken"],
        "QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu"
    );
    assert_eq!(entry["ProxyEndpoint"], format!("https://{HOST}"));
    assert_eq!(entry["Service"], "ecr");

    // every shape a client sends hits the same entry, without an API call
    for input in [
        HOST.to_owned(),
        format!("{HOST}:443"),
        format!("https://{HOST}"),
        format!("https://{HOST}/v2/"),
        format!("{HOST}/team/image"),
        format!("{HOST}\n"),
        format!("{HOST}\r\n"),
    ] {
        let out = env.run(&["get"], input.as_bytes());
        let want = format!(
            "{{\"ServerURL\":{},\"Username\":\"AWS\",\"Secret\":\"123456789012-auth-token\"}}\n",
            serde_json::to_string(input.trim()).unwrap()
        );
        assert_eq!(out.stdout_str(), want, "{input:?}");
    }
    assert_eq!(server.calls(), (1, 0));
}

#[test]
fn public_registries_share_one_entry() {
    let server = require_server!();
    let env = Env::with_server(&server);
    let out = env.run(&["get"], b"public.ecr.aws");
    assert_eq!(
        out.stdout_str(),
        "{\"ServerURL\":\"public.ecr.aws\",\"Username\":\"AWS\",\"Secret\":\"public-auth-token\"}\n"
    );
    let out = env.run(&["get"], b"https://ecr-public.aws.com");
    assert_eq!(
        out.stdout_str(),
        "{\"ServerURL\":\"https://ecr-public.aws.com\",\"Username\":\"AWS\",\"Secret\":\"public-auth-token\"}\n"
    );
    assert_eq!(server.calls(), (0, 1));
    let req = &server.requests()[0];
    assert_eq!(req["region"], "us-east-1");
    assert_eq!(req["signingService"], "ecr-public");
    let cache = read_cache(&env);
    let regs = cache["Registries"].as_object().unwrap();
    assert_eq!(regs.len(), 1);
    let (key, entry) = regs.iter().next().unwrap();
    assert!(key.starts_with("ecr-public-"), "{key}");
    assert_eq!(entry["Service"], "ecr-public");
    assert_eq!(entry["ProxyEndpoint"], "https://public.ecr.aws");
}

#[test]
fn stock_moto_tokens_are_born_expired_so_every_get_calls_the_api() {
    let server = require_server!(ServerOpts {
        stock: true,
        ..Default::default()
    });
    let env = Env::with_server(&server);
    for _ in 0..2 {
        let out = env.run(&["get"], HOST.as_bytes());
        assert_eq!(out.stdout_str(), ANSWER);
    }
    assert_eq!(server.calls(), (2, 0));
    let cache = read_cache(&env);
    let entry = &cache["Registries"][key_for("AKIDEXAMPLE", "us-east-1", "123456789012")];
    assert_eq!(entry["ExpiresAt"], "2015-01-01T00:00:00Z");
}

#[test]
fn cache_disabled_never_reads_or_writes() {
    let server = require_server!();
    for value in ["1", "false", "0"] {
        let env = Env::with_server(&server).with("AWS_ECR_DISABLE_CACHE", value);
        write_cache(
            &env,
            &cache_with(&[(
                &key_for("AKIDEXAMPLE", "us-east-1", "123456789012"),
                CACHED_TOKEN,
                -10,
                3600,
            )]),
        );
        let before = std::fs::read(env.cache_file()).unwrap();
        server.reset();
        let out = env.run(&["get"], HOST.as_bytes());
        assert_eq!(out.stdout_str(), ANSWER);
        assert_eq!(server.calls(), (1, 0));
        assert_eq!(std::fs::read(env.cache_file()).unwrap(), before);
        let out = env.run(&["list"], b"");
        assert_eq!(out.stdout_str(), "{}\n");
        assert_eq!(
            server.calls(),
            (1, 0),
            "list primes nothing with the cache off"
        );
    }
}

#[test]
fn fresh_entries_are_served_and_stale_ones_refreshed() {
    let server = require_server!();
    let key = key_for("AKIDEXAMPLE", "us-east-1", "123456789012");
    // fresh: requested 1 min ago, expires in 11 h 59 m
    let env = Env::with_server(&server);
    write_cache(
        &env,
        &cache_with(&[(&key, CACHED_TOKEN, -60, 12 * 3600 - 60)]),
    );
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), CACHED_ANSWER);
    assert_eq!(server.calls(), (0, 0));
    // past half-life: refreshed
    write_cache(
        &env,
        &cache_with(&[(&key, CACHED_TOKEN, -7 * 3600, 5 * 3600)]),
    );
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), ANSWER);
    assert_eq!(server.calls(), (1, 0));
    // D7: a 24 h token is stale after 6 h even though Go's half-life rule says 12 h
    server.reset();
    write_cache(
        &env,
        &cache_with(&[(&key, CACHED_TOKEN, -6 * 3600 - 60, 18 * 3600)]),
    );
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), ANSWER);
    assert_eq!(server.calls(), (1, 0));
    // D7: RequestedAt years in the future (clock skew): stale
    server.reset();
    write_cache(
        &env,
        &cache_with(&[(&key, CACHED_TOKEN, 3 * 365 * 86_400, 4 * 365 * 86_400)]),
    );
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), ANSWER);
    assert_eq!(server.calls(), (1, 0));
    // D14: a fresh entry whose token does not decode is a miss
    server.reset();
    write_cache(&env, &cache_with(&[(&key, "bm9jb2xvbg==", -60, 12 * 3600)]));
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), ANSWER);
    assert_eq!(server.calls(), (1, 0));
}

#[test]
fn legacy_keys_are_read_but_never_written() {
    let server = require_server!();
    let env = Env::with_server(&server);
    // L("AKIDEXAMPLE") = base64("AKIDEXAMPLE" + MD5(""))
    use base64::Engine as _;
    let mut raw = b"AKIDEXAMPLE".to_vec();
    raw.extend_from_slice(&[
        0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42,
        0x7e,
    ]);
    let legacy = format!(
        "us-east-1-{}-123456789012",
        base64::engine::general_purpose::STANDARD.encode(raw)
    );
    write_cache(
        &env,
        &cache_with(&[(&legacy, CACHED_TOKEN, -60, 12 * 3600)]),
    );
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), CACHED_ANSWER);
    assert_eq!(server.calls(), (0, 0));
    // stale legacy entry: refresh writes the SHA-256 key and keeps the legacy one untouched
    write_cache(
        &env,
        &cache_with(&[(&legacy, CACHED_TOKEN, -7 * 3600, 5 * 3600)]),
    );
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), ANSWER);
    let cache = read_cache(&env);
    assert_eq!(
        cache["Registries"][&legacy]["AuthorizationToken"],
        CACHED_TOKEN
    );
    assert!(cache["Registries"][key_for("AKIDEXAMPLE", "us-east-1", "123456789012")].is_object());
}

#[test]
fn go_written_cache_file_is_read() {
    let server = require_server!();
    let env = Env::with_server(&server);
    // Go writes RequestedAt in local time with an offset and nanoseconds.
    let key = key_for("AKIDEXAMPLE", "us-east-1", "123456789012");
    let requested = rfc3339(-60).replace('Z', ".625780278+00:00");
    let text = format!(
        "{{\n  \"Registries\": {{\n    \"{key}\": {{\n      \"AuthorizationToken\": \"{CACHED_TOKEN}\",\n      \"RequestedAt\": \"{requested}\",\n      \"ExpiresAt\": \"{}\",\n      \"ProxyEndpoint\": \"https://{HOST}\",\n      \"Service\": \"ecr\"\n    }}\n  }},\n  \"Version\": \"1.0\"\n}}",
        rfc3339(12 * 3600).replace('Z', ".608Z")
    );
    write_cache(&env, &text);
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), CACHED_ANSWER);
    assert_eq!(server.calls(), (0, 0));
}

#[test]
fn corrupt_cache_files_are_recovered() {
    let server = require_server!();
    let corrupt = [
        "",
        "null",
        "{",
        "{\"Registries\":null,\"Version\":\"1.0\"}",
        "{\"Registries\":{\"k\":null},\"Version\":\"1.0\"}",
        "{\"Registries\":{},\"Version\":\"9\"}",
        "{\"Registries\":{\"k\":{\"ExpiresAt\":42}},\"Version\":\"1.0\"}",
        "\u{0}\u{1}binary",
    ];
    for text in corrupt {
        let env = Env::with_server(&server);
        write_cache(&env, text);
        let out = env.run(&["get"], HOST.as_bytes());
        assert_eq!(out.stdout_str(), ANSWER, "{text:?}: {out}");
        assert_eq!(out.code, 0);
        let cache = read_cache(&env);
        assert_eq!(cache["Version"], "1.0", "{text:?}");
        assert_eq!(cache["Registries"].as_object().unwrap().len(), 1);
    }
    // a directory named cache.json: answered, nothing written
    let env = Env::with_server(&server);
    std::fs::create_dir_all(env.cache_file()).unwrap();
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), ANSWER);
}

#[test]
fn unusable_cache_dirs_still_answer() {
    let server = require_server!();
    // a regular file where the directory should be
    let env = Env::with_server(&server);
    std::fs::write(env.cache_dir(), "not a dir").unwrap();
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), ANSWER);
    // a read-only directory (root ignores permissions, so also try a path below a file)
    let env = Env::with_server(&server).with("AWS_ECR_CACHE_DIR", "/proc/self/nonexistent/ecr");
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), ANSWER);
    // relative cache dir is relative to the working directory
    let env = Env::with_server(&server).with("AWS_ECR_CACHE_DIR", "rel-cache");
    let cwd = env.dir().to_path_buf();
    let env = env.cwd(&cwd);
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), ANSWER);
    assert!(cwd.join("rel-cache/cache.json").is_file());
}

#[test]
fn existing_cache_dir_is_never_chmodded() {
    use std::os::unix::fs::PermissionsExt;
    let server = require_server!();
    let env = Env::with_server(&server);
    std::fs::create_dir_all(env.cache_dir()).unwrap();
    std::fs::set_permissions(env.cache_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), ANSWER);
    let mode = std::fs::metadata(env.cache_dir())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o755);
}

#[test]
fn api_failure_falls_back_to_unexpired_token_only() {
    let modes = [
        "500",
        "400",
        "throttle",
        "garbage",
        "truncated",
        "empty",
        "badproxy",
    ];
    // One server per mode, all modes at once: each run mostly waits (retries, backoff).
    let mut servers = Vec::new();
    for _ in modes {
        servers.push(require_server!());
    }
    let key = key_for("AKIDEXAMPLE", "us-east-1", "123456789012");
    std::thread::scope(|scope| {
        for (mode, server) in modes.into_iter().zip(&servers) {
            let key = &key;
            scope.spawn(move || {
                server.set_mode(mode, None, None);
                // stale but unexpired: served
                let env = Env::with_server(server);
                write_cache(&env, &cache_with(&[(key, CACHED_TOKEN, -7 * 3600, 3600)]));
                let out = env.run(&["get"], HOST.as_bytes());
                assert_eq!(out.stdout_str(), CACHED_ANSWER, "{mode}: {out}");
                assert_eq!(out.code, 0);
                // expired: not-found (D6; Go would serve it)
                write_cache(&env, &cache_with(&[(key, CACHED_TOKEN, -13 * 3600, -3600)]));
                let out = env.run(&["get"], HOST.as_bytes());
                assert_eq!(out.stdout_str(), NOT_FOUND, "{mode}");
                assert_eq!(out.code, 1);
                assert!(out.stderr.is_empty());
                // nothing cached: not-found
                let env = Env::with_server(server);
                let out = env.run(&["get"], HOST.as_bytes());
                assert_eq!(out.stdout_str(), NOT_FOUND, "{mode}");
            });
        }
    });
}

#[test]
fn bad_fresh_tokens_are_not_cached_and_get_no_fallback() {
    let server = require_server!();
    let key = key_for("AKIDEXAMPLE", "us-east-1", "123456789012");
    for mode in ["badtoken", "notbase64"] {
        server.set_mode(mode, None, None);
        let env = Env::with_server(&server);
        write_cache(&env, &cache_with(&[(&key, CACHED_TOKEN, -7 * 3600, 3600)]));
        let before = std::fs::read(env.cache_file()).unwrap();
        let out = env.run(&["get"], HOST.as_bytes());
        assert_eq!(out.stdout_str(), NOT_FOUND, "{mode}");
        assert_eq!(std::fs::read(env.cache_file()).unwrap(), before, "{mode}");
    }
}

#[test]
fn expired_tokens_from_the_api_are_cached_but_never_fresh() {
    let server = require_server!(ServerOpts {
        ttl: Some(-60.0),
        ..Default::default()
    });
    let env = Env::with_server(&server);
    for _ in 0..2 {
        assert_eq!(env.run(&["get"], HOST.as_bytes()).stdout_str(), ANSWER);
    }
    assert_eq!(server.calls(), (2, 0));
}

#[test]
fn refused_endpoint_is_bounded() {
    let env = Env::new()
        .with("AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:9")
        .with("AWS_ECR_TIMEOUT", "5");
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), NOT_FOUND);
    assert!(out.elapsed < Duration::from_secs(6), "{:?}", out.elapsed);
}

#[test]
fn silent_endpoint_is_bounded_by_the_timeout() {
    let server = require_server!();
    server.set_mode("hang", None, None);
    let key = key_for("AKIDEXAMPLE", "us-east-1", "123456789012");
    let env = Env::with_server(&server).with("AWS_ECR_TIMEOUT", "2");
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), NOT_FOUND);
    assert!(
        out.elapsed >= Duration::from_millis(1900),
        "{:?}",
        out.elapsed
    );
    assert!(out.elapsed < Duration::from_secs(4), "{:?}", out.elapsed);
    // with a stale-but-unexpired entry the timeout falls back to it
    write_cache(&env, &cache_with(&[(&key, CACHED_TOKEN, -7 * 3600, 3600)]));
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), CACHED_ANSWER);
    assert!(out.elapsed < Duration::from_secs(4), "{:?}", out.elapsed);
    // invalid timeout values mean the default (15 s): not tested by waiting; list stays bounded
    let out = env.run(&["list"], b"");
    assert_eq!(out.code, 0);
    assert!(out.elapsed < Duration::from_secs(4), "{:?}", out.elapsed);
}

#[test]
fn list_primes_and_lists_every_entry() {
    let server = require_server!();
    let env = Env::with_server(&server).with("AWS_REGION", "eu-west-1");
    // an unexpired entry of another identity and region is listed too; an expired one is
    // pruned by the priming write (D17)
    write_cache(
        &env,
        &cache_with(&[
            ("eu-central-1-other-999999999999", CACHED_TOKEN, -3600, 3600),
            (
                "eu-central-1-gone-999999999999",
                CACHED_TOKEN,
                -86_400,
                -3600,
            ),
        ]),
    );
    let out = env.run(&["list"], b"unused");
    assert_eq!(
        out.stdout_str(),
        format!("{{\"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com\":\"AWS\",\"https://{HOST}\":\"AWS\",\"https://public.ecr.aws\":\"AWS\"}}\n")
    );
    assert_eq!(out.code, 0);
    assert_eq!(server.calls(), (1, 1));
    let registries = &read_cache(&env)["Registries"];
    assert!(registries.get("eu-central-1-other-999999999999").is_some());
    assert!(registries.get("eu-central-1-gone-999999999999").is_none());
    let req = &server.requests()[0];
    assert_eq!(req["registryIds"], Value::Null);
    assert_eq!(req["region"], "eu-west-1");
    // ECR Public is fresh now: only the private default registry is asked again
    let out = env.run(&["list"], b"");
    assert_eq!(out.code, 0);
    assert_eq!(server.calls(), (2, 1));
    // region from AWS_DEFAULT_REGION, and from the profile
    let env = Env::with_server(&server).with("AWS_DEFAULT_REGION", "ap-south-1");
    env.run(&["list"], b"");
    let env = Env::with_server(&server);
    env.write_config("[default]\nregion = sa-east-1\n");
    let out = env.run(&["list"], b"");
    assert!(
        out.stdout_str()
            .contains("https://123456789012.dkr.ecr.sa-east-1.amazonaws.com"),
        "{out}"
    );
}

#[test]
fn list_without_region_skips_private_priming() {
    let server = require_server!();
    let env = Env::with_server(&server);
    let out = env.run(&["list"], b"");
    assert_eq!(out.stdout_str(), "{\"https://public.ecr.aws\":\"AWS\"}\n");
    assert_eq!(server.calls(), (0, 1));
}

#[test]
fn cold_stampede_makes_one_api_call() {
    let server = require_server!();
    server.set_mode("ok", None, Some(0.3));
    let env = Env::with_server(&server);
    let children: Vec<_> = (0..64)
        .map(|_| env.spawn(&["get"], HOST.as_bytes()))
        .collect();
    for c in children {
        let out = c.wait();
        assert_eq!(out.stdout_str(), ANSWER, "{out}");
    }
    assert_eq!(server.calls(), (1, 0));
}

#[test]
fn concurrent_registries_lose_no_entries() {
    let server = require_server!();
    let env = Env::with_server(&server);
    let hosts: Vec<String> = (0..20)
        .map(|i| {
            format!(
                "{:012}.dkr.ecr.us-west-{}.amazonaws.com",
                100_000_000_000u64 + i,
                i % 3 + 1
            )
        })
        .collect();
    let mut children = Vec::new();
    for round in 0..5 {
        for h in &hosts {
            let _ = round;
            children.push(env.spawn(&["get"], h.as_bytes()));
        }
    }
    for c in children {
        let out = c.wait();
        assert_eq!(out.code, 0, "{out}");
    }
    let cache = read_cache(&env);
    assert_eq!(cache["Registries"].as_object().unwrap().len(), 20);
    assert_eq!(server.calls().0, 20, "one call per registry");
}

#[test]
fn no_credentials_is_not_found_quickly() {
    let server = require_server!();
    let env = Env::with_server(&server).no_credentials();
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), NOT_FOUND);
    assert!(out.stderr.is_empty());
    assert!(out.elapsed < Duration::from_secs(3), "{:?}", out.elapsed);
    assert_eq!(server.calls(), (0, 0));
}

#[test]
fn garbage_aws_config_is_not_found_not_a_crash() {
    let server = require_server!();
    let env = Env::with_server(&server).no_credentials();
    env.write_config("[default\nthis is = = not ini\n\u{0}\u{1}[profile x]]]\n");
    env.write_credentials("\u{feff}[default]\naws_access_key_id\n");
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), NOT_FOUND);
    assert_eq!(out.code, 1);
    assert!(out.stderr.is_empty());
    let out = env.run(&["list"], b"");
    assert_eq!(out.code, 0);
}

#[test]
fn static_profile_keys_use_the_fast_path() {
    let server = require_server!();
    let env = Env::with_server(&server)
        .no_credentials()
        .with("AWS_ECR_LOG_LEVEL", "debug");
    env.write_credentials(
        "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = s\n",
    );
    assert_eq!(env.run(&["get"], HOST.as_bytes()).stdout_str(), ANSWER);
    assert_eq!(server.requests()[0]["akid"], "AKIDPROFILE");
    assert_eq!(env.run(&["get"], HOST.as_bytes()).stdout_str(), ANSWER);
    assert_eq!(server.calls(), (1, 0));
    let log = std::fs::read_to_string(env.cache_dir().join("log/ecr-login.log")).unwrap();
    assert!(log.contains("Using cached token (local identity)"), "{log}");
    assert!(
        read_cache(&env)["Registries"][key_for("AKIDPROFILE", "us-east-1", "123456789012")]
            .is_object()
    );
}

#[test]
fn secrets_never_reach_the_log() {
    let server = require_server!();
    let env = Env::with_server(&server)
        .with("AWS_ECR_LOG_LEVEL", "trace")
        .with("AWS_SECRET_ACCESS_KEY", "SECRETKEYMARKER")
        .with("AWS_SESSION_TOKEN", "SESSIONMARKER");
    env.run(
        &["get"],
        format!("user:PASSWORDMARKER@{HOST}/x?token=QUERYMARKER").as_bytes(),
    );
    server.set_mode("500", None, None);
    let env2 = Env::with_server(&server)
        .with("AWS_ECR_LOG_LEVEL", "trace")
        .with("AWS_ECR_CACHE_DIR", env.cache_dir());
    env2.run(&["get"], b"111111111111.dkr.ecr.us-east-1.amazonaws.com");
    env.run(&["list"], b"");
    let log = std::fs::read_to_string(env.cache_dir().join("log/ecr-login.log")).unwrap();
    for secret in [
        "SECRETKEYMARKER",
        "SESSIONMARKER",
        "PASSWORDMARKER",
        "QUERYMARKER",
        "auth-token",
        "QVdTOjEy",
    ] {
        assert!(
            !log.contains(secret),
            "{secret} leaked into the log:\n{log}"
        );
    }
    assert!(log.contains("user:xxxxx@"), "{log}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(env.cache_dir().join("log/ecr-login.log"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[allow(dead_code)]
fn unused(_: &EcrServer) {}

/// A plain `http://` endpoint needs no CA roots: with a bundle that holds none, the `get` still
/// answers, and the roots loaded ahead on their own thread (issue 14) leave no error in the log.
#[test]
fn plain_http_endpoint_needs_and_logs_no_roots() {
    let server = require_server!();
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let env = Env::with_server(&server)
        .with("SSL_CERT_FILE", &empty)
        .with("AWS_ECR_LOG_LEVEL", "debug");
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), ANSWER, "{out}");
    assert_eq!(server.calls(), (1, 0));
    let log =
        std::fs::read_to_string(env.cache_dir().join("log/ecr-login.log")).unwrap_or_default();
    assert!(!log.contains("CA certificates"), "{log}");
}
