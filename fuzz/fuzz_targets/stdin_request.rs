//! Stdin handling (SPEC §3) on arbitrary bytes: `docker::read_request`, `store_json::parse_store`
//! and the whole `get`/`store`/`erase` answer built from them (`docker::run`, with a stub
//! implementing the `CredentialHelper` trait in place of the ECR helper).
//!
//! * Nothing panics.
//! * The joined request has no `\n`, and keeps every other byte except one `\r` per line.
//! * Every answer is exactly one stdout line, nothing on stderr, exit 0 or 1; a `store` error is
//!   one line; a `get` answer is not-found, `no credentials server URL`, or valid JSON whose
//!   `ServerURL` is the trimmed request, keys in Go's order.
#![no_main]


use docker_credential_ecr_login::go::time::GoTime;
use docker_credential_ecr_login::registry;
use docker_credential_ecr_login::secret::Secret;
use docker_credential_ecr_login::serve::docker::{self as protocol, Action};
use docker_credential_ecr_login::serve::store_json::parse_store;
use docker_credential_ecr_login::serve::{Answer, CredentialHelper, NotImplemented, Outcome};
use docker_credential_ecr_login::token::Credentials;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

/// Stands in for the ECR helper (logging is never initialised, so nothing is written): answers
/// every ECR registry with credentials whose password is the request itself, so the JSON
/// answer's escaping is fuzzed too; `store` succeeds for ECR hosts, `erase` never does.
struct StubHelper;

impl CredentialHelper for StubHelper {
    fn get(&self, server_url: &str) -> Option<Answer> {
        registry::parse(server_url)?;
        Some(Answer {
            creds: Credentials {
                username: "AWS".to_owned(),
                password: Secret::new(server_url.to_owned()),
            },
            expires_at: GoTime::from_unix_nanos(0),
        })
    }

    fn list(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    fn store(&self, server_url: &str) -> Result<(), NotImplemented> {
        registry::parse(server_url).map(|_| ()).ok_or(NotImplemented)
    }

    fn erase(&self, _server_url: &str) -> Result<(), NotImplemented> {
        Err(NotImplemented)
    }
}

fn one_line(out: &Outcome) -> &str {
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
    if let Err(e) = parse_store(&joined) {
        assert!(!e.is_empty() && !e.contains('\n'), "{e:?}");
    }

    // get
    let out = protocol::run(&Action::Get, data, &StubHelper);
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
    // store and erase: one line and exit 1, or silent success only where the helper said so.
    for action in [Action::Store, Action::Erase] {
        let out = protocol::run(&action, data, &StubHelper);
        if out.code == 0 && out.stdout.is_empty() && out.stderr.is_empty() {
            assert_eq!(action, Action::Store);
        } else {
            assert_eq!(out.code, 1);
            assert!(!one_line(&out).is_empty());
        }
    }
});
