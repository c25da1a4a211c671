//! The docker credential-helper protocol (SPEC §2, §3, §7, §8): argv, stdin and stdout rules,
//! and every user-visible text, byte for byte as the Go helper writes them.

use super::store_json::parse_store;
use super::{read_capped, CredentialHelper, Outcome};
use crate::go::json;
use crate::log;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;

pub const NOT_FOUND: &str = "credentials not found in native keychain";
pub const USAGE: &str = "Usage: docker-credential-ecr-login <store|get|erase|list|version>";
pub const PACKAGE: &str = "github.com/awslabs/amazon-ecr-credential-helper/ecr-login";
pub const NO_SERVER_URL: &str = "no credentials server URL";
pub const NO_USERNAME: &str = "no credentials username";
pub const TOKEN_TOO_LONG: &str = "bufio.Scanner: token too long";
pub const NOT_IMPLEMENTED: &str = "not implemented";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GIT_COMMIT: &str = env!("ECR_LOGIN_GIT_COMMIT");
pub use super::STDIN_CAP;

const HELP: &str = "\
docker-credential-ecr-login: Docker credential helper for Amazon ECR and ECR Public

Usage: docker-credential-ecr-login <store|get|erase|list|version>
  get      read a registry URL on stdin, print its credentials as JSON
  list     print every cached registry and its username as JSON
  store    accepted for compatibility; nothing is stored
  erase    accepted for compatibility; nothing is erased
  version  print the version
  -v       print the version banner

Configure with AWS_ECR_CACHE_DIR, AWS_ECR_DISABLE_CACHE, AWS_ECR_TIMEOUT, AWS_ECR_LOG_LEVEL,
AWS_ECR_IGNORE_CREDS_STORAGE and the usual AWS_* variables. Log: <cache dir>/log/ecr-login.log
";

/// What argv asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Usage,
    Banner,
    Help,
    Version,
    Get,
    Store,
    Erase,
    List,
    Unknown(String),
}

fn is_true(v: &str) -> bool {
    matches!(v, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

/// Reads argv (without the program name) as SPEC §2 says.
pub fn parse_args(args: &[OsString]) -> Action {
    let Some(first) = args.first() else {
        return Action::Usage;
    };
    let first = first.to_string_lossy();
    let flag = first.strip_prefix("--").or_else(|| first.strip_prefix('-'));
    if let Some(flag) = flag {
        match flag.split_once('=') {
            None if flag == "v" => return Action::Banner,
            Some(("v", value)) if is_true(value) => return Action::Banner,
            None if matches!(flag, "h" | "help") => return Action::Help,
            // D2: `--version`/`-version` alone; with more arguments it is the usage line.
            None if flag == "version" && args.len() == 1 => return Action::Version,
            _ => {}
        }
    }
    if args.len() > 1 {
        return Action::Usage;
    }
    match first.as_ref() {
        "get" => Action::Get,
        "store" => Action::Store,
        "erase" => Action::Erase,
        "list" => Action::List,
        "version" => Action::Version,
        other => Action::Unknown(other.to_owned()),
    }
}

/// Answers that need neither stdin nor configuration.
pub fn static_answer(action: &Action) -> Option<Outcome> {
    Some(match action {
        Action::Usage => Outcome::line(USAGE, 1),
        Action::Banner => Outcome {
            stdout: format!(
                "amazon-ecr-credential-helper\nVersion:    {VERSION}\nGit commit: {GIT_COMMIT}\n"
            )
            .into_bytes(),
            stderr: Vec::new(),
            code: 0,
        },
        Action::Help => Outcome {
            stdout: Vec::new(),
            stderr: HELP.as_bytes().to_vec(),
            code: 0,
        },
        Action::Version => Outcome::line(
            &format!("docker-credential-ecr-login ({PACKAGE}) {VERSION}"),
            0,
        ),
        Action::Unknown(x) => Outcome::line(
            &format!("docker-credential-ecr-login: unknown action: {x}"),
            1,
        ),
        _ => return None,
    })
}

/// Stdin as one joined string: lines split on `\n`, one trailing `\r` dropped from each, joined
/// with no separator. `Ok(None)` when over the cap.
pub fn read_request(input: impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let Some(buf) = read_capped(input)? else {
        return Ok(None);
    };
    let mut joined = Vec::with_capacity(buf.len());
    for line in buf.split(|&b| b == b'\n') {
        joined.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
    }
    Ok(Some(joined))
}

/// Runs a verb that reads stdin or asks the helper.
pub fn run(action: &Action, stdin: impl Read, helper: &impl CredentialHelper) -> Outcome {
    if let Some(out) = static_answer(action) {
        return out;
    }
    if *action == Action::List {
        return list_outcome(&helper.list());
    }
    let request = match read_request(stdin) {
        Ok(r) => r,
        Err(e) => {
            log::error("Cannot read stdin", &[("error", &e.to_string())]);
            None
        }
    };
    match action {
        Action::Get => get(request, helper),
        Action::Store => store(request, helper),
        Action::Erase => erase(request, helper),
        _ => Outcome::line(USAGE, 1),
    }
}

fn get(request: Option<Vec<u8>>, helper: &impl CredentialHelper) -> Outcome {
    let Some(bytes) = request else {
        log::error("Request on stdin is larger than 1 MiB", &[]);
        return Outcome::line(NOT_FOUND, 1);
    };
    let Ok(text) = String::from_utf8(bytes) else {
        log::info("Request on stdin is not UTF-8; not an ECR registry", &[]);
        return Outcome::line(NOT_FOUND, 1);
    };
    let server_url = text.trim();
    if server_url.is_empty() {
        return Outcome::line(NO_SERVER_URL, 1);
    }
    match helper.get(server_url).map(|a| a.creds) {
        Some(c) => Outcome::line(
            &json::to_string(&GetAnswer {
                server_url,
                username: &c.username,
                secret: c.password.expose(),
            }),
            0,
        ),
        None => Outcome::line(NOT_FOUND, 1),
    }
}

/// The `get` answer, keys in Go's order and case.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetAnswer<'a> {
    #[serde(rename = "ServerURL")]
    server_url: &'a str,
    username: &'a str,
    secret: &'a str,
}

fn list_outcome(entries: &BTreeMap<String, String>) -> Outcome {
    Outcome::line(&json::to_string(entries), 0)
}

/// `store` and `erase` after validation: the helper's verdict (SPEC §7).
fn storage_verdict(verdict: Result<(), super::NotImplemented>, verb: &str) -> Outcome {
    match verdict {
        Ok(()) => Outcome::silent(0),
        Err(super::NotImplemented) => {
            log::debug("Refused", &[("verb", verb)]);
            Outcome::line(NOT_IMPLEMENTED, 1)
        }
    }
}

fn erase(request: Option<Vec<u8>>, helper: &impl CredentialHelper) -> Outcome {
    let Some(bytes) = request else {
        return Outcome::line(TOKEN_TOO_LONG, 1);
    };
    let server_url = String::from_utf8_lossy(&bytes);
    let server_url = server_url.trim();
    if server_url.is_empty() {
        return Outcome::line(NO_SERVER_URL, 1);
    }
    storage_verdict(helper.erase(server_url), "erase")
}

fn store(request: Option<Vec<u8>>, helper: &impl CredentialHelper) -> Outcome {
    let Some(bytes) = request else {
        return Outcome::line(TOKEN_TOO_LONG, 1);
    };
    let msg = match parse_store(&bytes) {
        Ok(m) => m,
        Err(e) => return Outcome::line(&e, 1),
    };
    if msg.server_url.is_empty() {
        return Outcome::line(NO_SERVER_URL, 1);
    }
    if msg.username.is_empty() {
        return Outcome::line(NO_USERNAME, 1);
    }
    storage_verdict(helper.store(&msg.server_url), "store")
}

#[cfg(test)]
mod tests;
