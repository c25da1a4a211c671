//! A profile's `credential_process`, run so that it cannot outlive the helper's deadline.
//!
//! aws-config's `CredentialProcessProvider` runs `sh -c COMMAND` through `tokio::process` and
//! never kills it: when the deadline drops its future, the shell and everything it started keep
//! running after the helper has answered. This provider runs the same command the same way, but
//! in a process group of its own; if its future is dropped before the command finished (the
//! deadline), the whole group gets SIGKILL and the shell is reaped. The output is parsed as the
//! SDK parses it (`Version` 1, `AccessKeyId`, `SecretAccessKey`, optional `SessionToken`,
//! `Expiration` and `AccountId`, keys in any case); the SDK's parser is crate-private.

use crate::secret::Secret;
use aws_credential_types::provider::{self, error::CredentialsError, future, ProvideCredentials};
use aws_credential_types::Credentials;
use serde_json::{Map, Value};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest output kept from the command (a credentials document is well under 4 KiB).
const MAX_OUTPUT: usize = 1 << 20;
/// How long a killed shell may take to become reapable before it is left to the runtime.
const REAP_WAIT: Duration = Duration::from_secs(1);

/// Runs a `credential_process` command in its own process group.
#[derive(Debug)]
pub struct ProcessProvider {
    /// The command line (it may carry secrets in its arguments).
    command: Secret<String>,
    /// The profile's `aws_account_id`, used when the output names no account.
    account_id: Option<String>,
}

/// Why the command gave no credentials (the SDK's wording where it has one).
#[derive(Debug, thiserror::Error)]
enum ProcessError {
    #[error("Error retrieving credentials from external process: {0}")]
    Spawn(std::io::Error),
    #[error("Error retrieving credentials: external process exited with code {status}. Stderr: {stderr}")]
    Failed { status: String, stderr: String },
    #[error(
        "Error retrieving credentials from external process: its output exceeds {MAX_OUTPUT} bytes"
    )]
    TooLarge,
    #[error("Error retrieving credentials from external process, could not parse response: {0}")]
    Invalid(String),
}

/// What the command left: its exit status, standard output (secret) and standard error.
struct Finished {
    status: ExitStatus,
    stdout: Secret<Vec<u8>>,
    stderr: Vec<u8>,
}

impl ProcessProvider {
    /// A provider for `command`, with the profile's `aws_account_id` as the fallback account.
    pub fn new(command: String, account_id: Option<String>) -> ProcessProvider {
        ProcessProvider {
            command: Secret::new(command),
            account_id,
        }
    }

    /// Runs the command and parses its output.
    async fn credentials(&self) -> provider::Result {
        crate::log::debug("Loading credentials from credential_process", &[]);
        let done = self.run().await.map_err(CredentialsError::provider_error)?;
        if !done.status.success() {
            return Err(CredentialsError::provider_error(ProcessError::Failed {
                status: done.status.to_string(),
                stderr: String::from_utf8_lossy(&done.stderr).into_owned(),
            }));
        }
        parse(done.stdout.expose(), self.account_id.as_deref())
            .map_err(|e| CredentialsError::provider_error(ProcessError::Invalid(e)))
    }

    /// Spawns `sh -c COMMAND` in a new process group and collects its exit status and output.
    /// Dropping the future before it completes kills the group (see [`Group`]).
    async fn run(&self) -> Result<Finished, ProcessError> {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(self.command.expose())
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(ProcessError::Spawn)?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let mut group = Group::new(child);
        let (out, err, status) =
            tokio::join!(read_capped(stdout), read_capped(stderr), group.child.wait());
        group.finished = true;
        let status = status.map_err(ProcessError::Spawn)?;
        let (Some(out), Some(err)) = (out, err) else {
            return Err(ProcessError::TooLarge);
        };
        Ok(Finished {
            status,
            stdout: Secret::new(out),
            stderr: err,
        })
    }
}

impl ProvideCredentials for ProcessProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}

/// The running command: unless it `finished`, dropping it kills its whole process group and
/// reaps the shell.
struct Group {
    child: tokio::process::Child,
    finished: bool,
}

impl Group {
    fn new(child: tokio::process::Child) -> Group {
        Group {
            child,
            finished: false,
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let Some(pid) = self.child.id().and_then(|p| libc::pid_t::try_from(p).ok()) else {
            return; // already reaped: its number may name someone else's group by now
        };
        // SAFETY: a plain syscall. The shell is our unreaped child, so `pid` still names the
        // process group it leads (process_group(0)) and nobody else's.
        unsafe { libc::killpg(pid, libc::SIGKILL) };
        crate::log::warn(
            "credential_process did not finish in time; killed its process group",
            &[("pid", &pid.to_string())],
        );
        let started = std::time::Instant::now();
        while started.elapsed() < REAP_WAIT {
            match self.child.try_wait() {
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Ok(Some(_)) | Err(_) => return,
            }
        }
    }
}

/// Reads a child's pipe to its end, keeping at most [`MAX_OUTPUT`] bytes; `None` when it wrote
/// more (the pipe is still drained, so the child never blocks on it).
async fn read_capped(pipe: Option<impl AsyncRead + Unpin>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let Some(mut pipe) = pipe else {
        return Some(out);
    };
    let mut chunk = [0u8; 8192];
    let mut overflow = false;
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) if out.len() + n <= MAX_OUTPUT => out.extend_from_slice(&chunk[..n]),
            Ok(_) => overflow = true,
        }
    }
    (!overflow).then_some(out)
}

/// The value of `key` in `doc`, matched case-insensitively (as the SDK does; the last wins).
fn field<'a>(doc: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    doc.iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// A string field; `Err` when present but not a string.
fn string_field(doc: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match field(doc, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("invalid field `{key}`: not a string")),
    }
}

/// An RFC 3339 time as a `SystemTime`.
fn system_time(rfc3339: &str) -> Option<SystemTime> {
    crate::go::time::GoTime::parse_rfc3339(rfc3339)?.to_system_time()
}

/// Parses a `credential_process` document (the AWS CLI's format, version 1).
fn parse(output: &[u8], profile_account: Option<&str>) -> Result<Credentials, String> {
    let value: Value = serde_json::from_slice(output).map_err(|e| format!("invalid JSON: {e}"))?;
    let doc = value
        .as_object()
        .ok_or_else(|| "expected a JSON object".to_owned())?;
    match field(doc, "Version").map(Value::as_i64) {
        Some(Some(1)) => {}
        None => return Err("missing field `Version`".to_owned()),
        Some(v) => return Err(format!("unknown version number: {v:?}")),
    }
    let akid = string_field(doc, "AccessKeyId")?
        .ok_or_else(|| "missing field `AccessKeyId`".to_owned())?;
    let secret = string_field(doc, "SecretAccessKey")?
        .ok_or_else(|| "missing field `SecretAccessKey`".to_owned())?;
    let mut builder = Credentials::builder()
        .access_key_id(akid)
        .secret_access_key(secret)
        .provider_name("CredentialProcess");
    builder.set_session_token(string_field(doc, "SessionToken")?);
    if let Some(exp) = string_field(doc, "Expiration")? {
        let at = system_time(&exp).ok_or_else(|| "invalid field `Expiration`".to_owned())?;
        builder = builder.expiry(at);
    }
    let account = string_field(doc, "AccountId")?.or_else(|| profile_account.map(str::to_owned));
    builder.set_account_id(account.map(Into::into));
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn parses_like_the_sdk() {
        let c = parse(
            br#"{"version":1,"AccessKeyId":"AKID","SecretAccessKey":"s","SessionToken":"t",
                "Expiration":"2030-01-02T03:04:05Z"}"#,
            Some("111122223333"),
        )
        .unwrap();
        assert_eq!(c.access_key_id(), "AKID");
        assert_eq!(c.secret_access_key(), "s");
        assert_eq!(c.session_token(), Some("t"));
        assert_eq!(
            c.expiry(),
            Some(UNIX_EPOCH + Duration::from_secs(1_893_553_445))
        );
        assert_eq!(c.account_id().unwrap().as_str(), "111122223333");
        let c = parse(
            br#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"s"}"#,
            None,
        )
        .unwrap();
        assert_eq!((c.session_token(), c.expiry()), (None, None));
    }

    #[test]
    fn rejects_bad_documents() {
        for doc in [
            &br#"{"AccessKeyId":"A","SecretAccessKey":"s"}"#[..],
            br#"{"Version":2,"AccessKeyId":"A","SecretAccessKey":"s"}"#,
            br#"{"Version":1,"SecretAccessKey":"s"}"#,
            br#"{"Version":1,"AccessKeyId":"A"}"#,
            br#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"s","Expiration":"soon"}"#,
            br#"{"Version":1,"AccessKeyId":7,"SecretAccessKey":"s"}"#,
            b"[]",
            b"not json",
        ] {
            assert!(
                parse(doc, None).is_err(),
                "{}",
                String::from_utf8_lossy(doc)
            );
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn runs_the_command_and_reports_failures() {
        let rt = runtime();
        let ok = ProcessProvider::new(
            r#"echo '{"Version":1,"AccessKeyId":"AKIDP","SecretAccessKey":"s"}'"#.into(),
            None,
        );
        let c = rt.block_on(ok.provide_credentials()).unwrap();
        assert_eq!(c.access_key_id(), "AKIDP");
        let bad = ProcessProvider::new("echo oops >&2; exit 3".into(), None);
        let e = rt.block_on(bad.provide_credentials()).unwrap_err();
        let text = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
        assert!(text.contains("oops") && text.contains('3'), "{text}");
    }

    /// The live (not zombie) processes whose process group is `pgid`.
    fn group_members(pgid: i32) -> Vec<i32> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let Some((_, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let zombie = matches!(fields.first(), Some(&"Z") | Some(&"X"));
            if !zombie && fields.get(2) == Some(&pgid.to_string().as_str()) {
                out.push(pid);
            }
        }
        out
    }

    #[test]
    fn a_dropped_command_loses_its_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        let cmd = format!(
            "echo $$ > {p}; sleep 30 & echo $! >> {p}; sleep 30",
            p = pids.display()
        );
        let provider = ProcessProvider::new(cmd, None);
        let rt = runtime();
        let started = std::time::Instant::now();
        let out = rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(500), provider.provide_credentials()).await
        });
        assert!(out.is_err(), "the command cannot have finished");
        assert!(started.elapsed() < Duration::from_secs(3));
        let pids: Vec<i32> = std::fs::read_to_string(&pids)
            .unwrap()
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(pids.len(), 2, "{pids:?}");
        // The shell was reaped by the provider and both sleeps were killed (the background one
        // is left to init to reap, so allow it a moment).
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while !group_members(pids[0]).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(group_members(pids[0]), Vec::<i32>::new());
    }
}
