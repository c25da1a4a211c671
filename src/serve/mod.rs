//! The protocols callers speak, over one trait: the docker credential-helper verbs
//! ([`docker`], with `store` bodies decoded in [`store_json`]) and the kubelet credential
//! provider ([`kubelet`]). This room knows nothing of AWS or the cache: whatever answers
//! implements [`CredentialHelper`] (the ECR helper in `crate::helper`, a stub in the fuzz
//! targets and tests), as docker-credential-helpers' `credentials.Serve(helper)` does.

pub mod docker;
pub mod kubelet;
pub mod store_json;

use crate::go::time::GoTime;
use crate::secret::Secret;
use crate::token::Credentials;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};

/// D15: stdin beyond this is refused.
pub const STDIN_CAP: usize = 1 << 20;

/// What answers the protocols. Each call starts its own time bound (D5): the front ends call
/// it only after stdin has been read.
pub trait CredentialHelper {
    /// Credentials for the (trimmed) server URL of a `get`; `None` is the not-found answer, its
    /// cause already logged.
    fn get(&self, server_url: &str) -> Option<Answer>;
    /// Credentials for `server_url` as a pod's role (the kubelet's service-account token,
    /// SPEC §11): `None` is a failure, its cause already logged. Unsupported by default.
    fn get_as(&self, server_url: &str, pod: &Federated) -> Option<Answer> {
        let _ = (server_url, pod);
        crate::log::error("Per-pod roles are not supported here", &[]);
        None
    }
    /// The `list` answer: server URL → username.
    fn list(&self) -> BTreeMap<String, String>;
    /// A validated `store` for `server_url`: `Ok` succeeds silently.
    fn store(&self, server_url: &str) -> Result<(), NotImplemented>;
    /// A validated `erase` for `server_url`: `Ok` succeeds silently.
    fn erase(&self, server_url: &str) -> Result<(), NotImplemented>;
}

/// A usable token and when it expires.
#[derive(Debug)]
pub struct Answer {
    pub creds: Credentials,
    pub expires_at: GoTime,
}

/// A role to assume with a web identity token given in the request (the kubelet's
/// `serviceAccountToken`), instead of the configured identity.
#[derive(Debug, Clone)]
pub struct Federated {
    pub role_arn: String,
    pub session_name: String,
    pub token: Secret<String>,
}

/// `store`/`erase` are refused with Go's `not implemented`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", docker::NOT_IMPLEMENTED)]
pub struct NotImplemented;

/// The process's answer: stdout and stderr bytes and the exit code.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub code: i32,
}

impl Outcome {
    /// One line on stdout.
    pub fn line(text: &str, code: i32) -> Outcome {
        Outcome {
            stdout: format!("{text}\n").into_bytes(),
            stderr: Vec::new(),
            code,
        }
    }

    /// Nothing on either stream.
    pub fn silent(code: i32) -> Outcome {
        Outcome {
            code,
            ..Outcome::default()
        }
    }

    /// Writes the answer and returns the exit code. A failed write on stdout (a full disk,
    /// `EPIPE`: Rust ignores `SIGPIPE`, so it is an error here, never a signal) is a failure,
    /// exit 1, as in Go; a failed write on stderr (only `-h` writes there) changes nothing.
    pub fn write(self) -> i32 {
        let code = match write_all(&mut std::io::stdout().lock(), &self.stdout) {
            Ok(()) => self.code,
            Err(e) => {
                crate::log::error(
                    "Could not write the answer to stdout",
                    &[("error", &e.to_string())],
                );
                1
            }
        };
        if !self.stderr.is_empty() {
            let _ = std::io::stderr().lock().write_all(&self.stderr);
        }
        code
    }
}

fn write_all(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(bytes)?;
    out.flush()
}

/// Stdin read to EOF, at most [`STDIN_CAP`] bytes: `Ok(None)` when there was more.
pub fn read_capped(input: impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    input.take(STDIN_CAP as u64 + 1).read_to_end(&mut buf)?;
    Ok((buf.len() <= STDIN_CAP).then_some(buf))
}

/// Which front end this invocation speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Front {
    Docker(docker::Action),
    Kubelet,
}

impl Front {
    /// From argv: the kubelet's when [`kubelet::selected`], the docker verbs otherwise.
    pub fn from_argv(argv0: Option<&OsString>, args: &[OsString]) -> Front {
        if kubelet::selected(argv0, args) {
            Front::Kubelet
        } else {
            Front::Docker(docker::parse_args(args))
        }
    }

    /// The answer when it needs neither stdin nor configuration (`version`, usage, …).
    pub fn static_answer(&self) -> Option<Outcome> {
        match self {
            Front::Docker(action) => docker::static_answer(action),
            Front::Kubelet => None,
        }
    }

    /// Serves one request from `stdin` with `helper`.
    pub fn serve(&self, helper: &impl CredentialHelper, stdin: impl Read) -> Outcome {
        match self {
            Front::Docker(action) => docker::run(action, stdin, helper),
            Front::Kubelet => kubelet::run(stdin, helper),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A helper with no credentials and no storage.
    pub struct NeverHelper;

    impl CredentialHelper for NeverHelper {
        fn get(&self, _: &str) -> Option<Answer> {
            None
        }
        fn list(&self) -> BTreeMap<String, String> {
            BTreeMap::new()
        }
        fn store(&self, _: &str) -> Result<(), NotImplemented> {
            Err(NotImplemented)
        }
        fn erase(&self, _: &str) -> Result<(), NotImplemented> {
            Err(NotImplemented)
        }
    }
}
