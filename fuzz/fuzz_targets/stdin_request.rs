//! Stdin handling (SPEC §3) on arbitrary bytes: `protocol::read_request`, `protocol::parse_store`
//! and the whole `get`/`store`/`erase` answer built from them (`protocol::run`, with the AWS side
//! stubbed by `common/helper_stub.rs`).
//!
//! * Nothing panics.
//! * The joined request has no `\n`, and keeps every other byte except one `\r` per line.
//! * Every answer is exactly one stdout line, nothing on stderr, exit 0 or 1; a `store` error is
//!   one line; a `get` answer is not-found, `no credentials server URL`, or valid JSON whose
//!   `ServerURL` is the trimmed request, keys in Go's order.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/config.rs"]
mod config;
#[allow(dead_code)]
#[path = "common/helper_stub.rs"]
mod helper;
#[allow(dead_code)]
#[path = "../../src/json.rs"]
mod json;
#[allow(dead_code)]
#[path = "../../src/log.rs"]
mod log;
#[allow(dead_code)]
#[path = "../../src/protocol.rs"]
mod protocol;
#[allow(dead_code)]
#[path = "../../src/registry.rs"]
mod registry;
#[allow(dead_code)]
#[path = "../../src/secret.rs"]
mod secret;
#[allow(dead_code)]
#[path = "../../src/timefmt.rs"]
mod timefmt;
#[allow(dead_code)]
#[path = "../../src/token.rs"]
mod token;

use libfuzzer_sys::fuzz_target;
use protocol::Action;
use std::sync::OnceLock;

fn config() -> &'static config::Config {
    static CFG: OnceLock<config::Config> = OnceLock::new();
    // Logging is never initialised here, so nothing is written anywhere.
    CFG.get_or_init(config::Config::from_env)
}

fn one_line(out: &protocol::Outcome) -> &str {
    assert!(out.stderr.is_empty(), "stderr: {:?}", out.stderr);
    assert!(out.code == 0 || out.code == 1, "exit {}", out.code);
    let text = std::str::from_utf8(&out.stdout).expect("stdout is UTF-8");
    let line = text.strip_suffix('\n').expect("stdout ends with a newline");
    assert!(!line.contains('\n'), "more than one line: {text:?}");
    line
}

fuzz_target!(|data: &[u8]| {
    // read_request: join lines, drop one '\r' per line; over 1 MiB is refused (D15).
    let Some(joined) = protocol::read_request(data).unwrap() else {
        assert!(data.len() > protocol::STDIN_CAP);
        return;
    };
    assert!(!joined.contains(&b'\n'));
    let lines = data.split(|&b| b == b'\n').count();
    let crs = data.iter().filter(|&&b| b == b'\r').count();
    let lfs = lines - 1;
    assert!(joined.len() + lfs <= data.len() && joined.len() + lfs + lines >= data.len());
    assert!(joined.iter().filter(|&&b| b == b'\r').count() + lines >= crs);

    // parse_store: Go's error texts are one line.
    if let Err(e) = protocol::parse_store(&joined) {
        assert!(!e.is_empty() && !e.contains('\n'), "{e:?}");
    }

    let cfg = config();
    // get
    let out = protocol::run(&Action::Get, data, cfg);
    let line = one_line(&out);
    if out.code == 0 {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("get answer is not JSON ({e}): {line:?}"));
        let request = String::from_utf8(joined.clone()).unwrap();
        let trimmed = request.trim();
        assert_eq!(v["ServerURL"], trimmed);
        assert_eq!(v["Username"], "AWS");
        assert_eq!(v["Secret"], trimmed);
        assert!(
            line.starts_with("{\"ServerURL\":")
                && line.contains(",\"Username\":\"AWS\",\"Secret\":")
        );
        assert!(
            !line.contains(['<', '>', '&', '\u{2028}', '\u{2029}']),
            "{line:?}"
        );
        assert!(registry::parse(trimmed).is_some());
    } else {
        assert!(
            line == protocol::NOT_FOUND || line == protocol::NO_SERVER_URL,
            "get: {line:?}"
        );
    }
    // store and erase: one line and exit 1 (storage is never implemented), or silent success
    // with AWS_ECR_IGNORE_CREDS_STORAGE=true.
    for action in [Action::Store, Action::Erase] {
        let out = protocol::run(&action, data, cfg);
        if out.code == 0 && out.stdout.is_empty() && out.stderr.is_empty() {
            assert!(cfg.ignore_creds_storage);
        } else {
            assert_eq!(out.code, 1);
            assert!(!one_line(&out).is_empty());
        }
    }
});
