//! Shared harness for the integration tests: the test ECR server
//! ([`server`]) and a hermetic runner for the helper binary ([`Env`]).
//!
//! `tests/it/main.rs` declares it first, with `#[macro_use]`; a test module then has
//! `use crate::common;`, and `require_server!()` starts a server or skips the test loudly.

#[macro_use]
pub mod server;

pub use server::*;

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Now plus `offset_secs`, in whole seconds, as the cache file and the stubs write times (the
/// library's Go `time.Time` format: `YYYY-MM-DDTHH:MM:SSZ`).
pub fn rfc3339_from_now(offset_secs: i64) -> String {
    GoTime::from_unix_secs(now_secs() + offset_secs).to_rfc3339()
}

use docker_credential_ecr_login::go::time::GoTime;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Default hard bound on one helper run; the process is killed (SIGKILL)
/// after it. See [`Env::timeout`].
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Access key id set by default in [`Env`].
pub const TEST_AKID: &str = "AKIDEXAMPLE";
/// Secret key set by default in [`Env`].
pub const TEST_SECRET: &str = "secretExample";

/// The helper binary built by Cargo for this test run.
pub fn helper_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_docker-credential-ecr-login"))
}

/// Variables passed through from the test process despite `env_clear` (code
/// coverage tooling needs its profile path).
const PASSTHROUGH: &[&str] = &["LLVM_PROFILE_FILE"];

/// A hermetic environment to run the helper in: a fresh temporary directory as
/// `HOME`, and nothing from the caller's environment.
///
/// Defaults (all changeable with [`Env::set`]/[`Env::remove`] or the by-value
/// [`Env::with`]/[`Env::without`]):
///
/// | variable | value |
/// |---|---|
/// | `PATH` | `/usr/bin:/bin` |
/// | `HOME` | `<dir>` |
/// | `AWS_ECR_CACHE_DIR` | `<dir>/ecr` (not created) |
/// | `AWS_EC2_METADATA_DISABLED` | `true` |
/// | `AWS_CONFIG_FILE` | `<dir>/.aws/config` (absent until [`Env::write_config`]) |
/// | `AWS_SHARED_CREDENTIALS_FILE` | `<dir>/.aws/credentials` (absent until [`Env::write_credentials`]) |
/// | `AWS_ACCESS_KEY_ID` | `AKIDEXAMPLE` |
/// | `AWS_SECRET_ACCESS_KEY` | `secretExample` |
/// | `AWS_ENDPOINT_URL_ECR`, `AWS_ENDPOINT_URL_ECR_PUBLIC` | the server's endpoint, with [`Env::server`] |
pub struct Env {
    dir: tempfile::TempDir,
    vars: BTreeMap<OsString, OsString>,
    cwd: Option<PathBuf>,
    bin: PathBuf,
    timeout: Duration,
    scan_log: bool,
}

/// Variables whose values are AWS secrets: no helper output or log may ever contain them.
const SECRET_VARS: [&str; 4] = [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/// Substrings of every registry password the test servers hand out (moto's
/// `<account>-auth-token`, the ECR Public stub's `public-auth-token`): the log must never hold one.
const PASSWORD_MARK: &str = "auth-token";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

impl Drop for Env {
    /// Every helper log a test produced is checked for secrets (SPEC §9: never a token, password,
    /// secret key or session token in the log).
    fn drop(&mut self) {
        if !self.scan_log || std::thread::panicking() {
            return;
        }
        let dir = match (
            self.vars.get(OsStr::new("AWS_ECR_CACHE_DIR")),
            self.vars.get(OsStr::new("HOME")),
        ) {
            (Some(dir), _) => Path::new(dir).join("log"),
            (None, Some(home)) => Path::new(home).join(".ecr/log"),
            (None, None) => return,
        };
        let dir = match &self.cwd {
            Some(cwd) if dir.is_relative() => cwd.join(dir),
            _ => dir,
        };
        for name in ["ecr-login.log", "ecr-login.log.1"] {
            let Ok(log) = std::fs::read(dir.join(name)) else {
                continue;
            };
            for secret in self.secret_values() {
                assert!(
                    !contains(&log, &secret),
                    "a secret from the environment is in {name}"
                );
            }
            assert!(
                !contains(&log, PASSWORD_MARK.as_bytes()),
                "a registry password is in {name}:\n{}",
                String::from_utf8_lossy(&log)
            );
        }
    }
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    /// The default hermetic environment, with no API endpoint override.
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("ecr-login-test-")
            .tempdir()
            .expect("test tempdir");
        let home = dir.path().to_path_buf();
        let mut env = Env {
            vars: BTreeMap::new(),
            cwd: None,
            bin: helper_bin(),
            timeout: RUN_TIMEOUT,
            scan_log: true,
            dir,
        };
        env.set("PATH", "/usr/bin:/bin")
            .set("HOME", &home)
            .set("AWS_ECR_CACHE_DIR", home.join("ecr"))
            .set("AWS_EC2_METADATA_DISABLED", "true")
            .set("AWS_CONFIG_FILE", home.join(".aws/config"))
            .set("AWS_SHARED_CREDENTIALS_FILE", home.join(".aws/credentials"))
            .set("AWS_ACCESS_KEY_ID", TEST_AKID)
            .set("AWS_SECRET_ACCESS_KEY", TEST_SECRET);
        env
    }

    /// The default environment pointed at `server` for both ECR and ECR Public.
    pub fn with_server(server: &EcrServer) -> Env {
        Env::new().server(server)
    }

    /// Point `AWS_ENDPOINT_URL_ECR` and `AWS_ENDPOINT_URL_ECR_PUBLIC` at `server`.
    pub fn server(mut self, server: &EcrServer) -> Env {
        let endpoint = server.endpoint();
        self.set("AWS_ENDPOINT_URL_ECR", &endpoint)
            .set("AWS_ENDPOINT_URL_ECR_PUBLIC", &endpoint);
        self
    }

    /// Set a variable (builder form).
    pub fn with(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Env {
        self.set(key, value);
        self
    }

    /// Remove a variable (builder form).
    pub fn without(mut self, key: impl AsRef<OsStr>) -> Env {
        self.remove(key);
        self
    }

    /// Set a variable.
    pub fn set(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Env {
        self.vars
            .insert(key.as_ref().to_os_string(), value.as_ref().to_os_string());
        self
    }

    /// Remove a variable.
    pub fn remove(&mut self, key: impl AsRef<OsStr>) -> &mut Env {
        self.vars.remove(key.as_ref());
        self
    }

    /// Remove the default access keys (no credentials at all unless a test
    /// adds some).
    pub fn no_credentials(mut self) -> Env {
        self.remove("AWS_ACCESS_KEY_ID")
            .remove("AWS_SECRET_ACCESS_KEY");
        self
    }

    /// Run in this working directory (default: the test's own).
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Env {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Run another binary with this environment (default: [`helper_bin`]).
    /// Skip the secret scan of the log on drop (for a cache dir shared with another program,
    /// whose log lines are not ours to judge).
    pub fn skip_log_scan(mut self) -> Env {
        self.scan_log = false;
        self
    }

    /// Values of the secret variables set here (long enough not to match by chance).
    fn secret_values(&self) -> Vec<Vec<u8>> {
        use std::os::unix::ffi::OsStrExt;
        SECRET_VARS
            .iter()
            .filter_map(|k| self.vars.get(OsStr::new(k)))
            .map(|v| v.as_bytes().to_vec())
            .filter(|v| v.len() >= 8)
            .collect()
    }

    pub fn bin(mut self, bin: impl AsRef<Path>) -> Env {
        self.bin = bin.as_ref().to_path_buf();
        self
    }

    /// Kill runs after this long instead of [`RUN_TIMEOUT`].
    pub fn timeout(mut self, timeout: Duration) -> Env {
        self.timeout = timeout;
        self
    }

    /// The value of a variable, if set.
    pub fn var(&self, key: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(key)).map(OsString::as_os_str)
    }

    /// The temporary directory (`HOME`); deleted when the `Env` drops.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `AWS_ECR_CACHE_DIR` as currently set (default `<dir>/ecr`).
    pub fn cache_dir(&self) -> PathBuf {
        PathBuf::from(
            self.var("AWS_ECR_CACHE_DIR")
                .expect("AWS_ECR_CACHE_DIR is not set"),
        )
    }

    /// `<cache dir>/cache.json`.
    pub fn cache_file(&self) -> PathBuf {
        self.cache_dir().join("cache.json")
    }

    /// Write `AWS_CONFIG_FILE` (creating its directory).
    pub fn write_config(&self, contents: &str) -> PathBuf {
        self.write_var_file("AWS_CONFIG_FILE", contents)
    }

    /// Write `AWS_SHARED_CREDENTIALS_FILE` (creating its directory).
    pub fn write_credentials(&self, contents: &str) -> PathBuf {
        self.write_var_file("AWS_SHARED_CREDENTIALS_FILE", contents)
    }

    fn write_var_file(&self, key: &str, contents: &str) -> PathBuf {
        let path = PathBuf::from(self.var(key).unwrap_or_else(|| panic!("{key} is not set")));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create config directory");
        }
        std::fs::write(&path, contents).expect("write config file");
        path
    }

    /// The hermetic command, for anything [`Env::run`]/[`Env::spawn`] don't cover.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args).env_clear().envs(&self.vars);
        for key in PASSTHROUGH {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        cmd
    }

    /// Run the binary with `args`, feeding it `stdin`; wait at most the
    /// timeout ([`RUN_TIMEOUT`] by default; then SIGKILL, `timed_out` set).
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        self.spawn(args, stdin).wait()
    }

    /// Start the binary without waiting (for concurrency tests); finish with
    /// [`Running::wait`].
    pub fn spawn(&self, args: &[&str], stdin: &[u8]) -> Running {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()));
        let pid = child.id();

        // Feed stdin from a thread (the child may not read it all); closing
        // it signals EOF. A broken pipe is the child's business.
        let mut pipe = child.stdin.take().expect("piped stdin");
        let input = stdin.to_vec();
        let feeder = std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
        let reader = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = r.read_to_end(&mut buf);
                buf
            })
        };
        let stdout = reader(Box::new(child.stdout.take().expect("piped stdout")));
        let stderr = reader(Box::new(child.stderr.take().expect("piped stderr")));

        // A waiter thread owns the child, so the exit time is exact.
        let (tx, exited) = mpsc::channel();
        std::thread::spawn(move || {
            let status = child.wait();
            let _ = tx.send((status, Instant::now()));
        });
        Running {
            pid,
            start,
            // Only our helper's output is judged (the harness also runs `env`, `cat`, Go).
            secrets: if self.bin == helper_bin() {
                self.secret_values()
            } else {
                Vec::new()
            },
            timeout: self.timeout,
            exited,
            feeder,
            stdout,
            stderr,
        }
    }
}

/// A helper process started by [`Env::spawn`].
pub struct Running {
    pid: u32,
    start: Instant,
    secrets: Vec<Vec<u8>>,
    timeout: Duration,
    exited: mpsc::Receiver<(std::io::Result<ExitStatus>, Instant)>,
    feeder: JoinHandle<()>,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
}

impl Running {
    /// Wait for the process (at most the [`Env`]'s timeout from its start,
    /// then SIGKILL) and collect its output.
    pub fn wait(self) -> Output {
        let left = self.timeout.saturating_sub(self.start.elapsed());
        let (result, timed_out) = match self.exited.recv_timeout(left) {
            Ok(r) => (r, false),
            Err(_) => {
                // Not reaped yet (the waiter holds it), so the pid is still ours.
                let _ = Command::new("kill")
                    .args(["-KILL", &self.pid.to_string()])
                    .status();
                (self.exited.recv().expect("waiter thread"), true)
            }
        };
        let (status, end) = result;
        let status = status.expect("wait for the helper");
        let _ = self.feeder.join();
        let out = Output {
            stdout: self.stdout.join().expect("stdout reader"),
            stderr: self.stderr.join().expect("stderr reader"),
            code: exit_code(status),
            elapsed: end.duration_since(self.start),
            timed_out,
        };
        for secret in &self.secrets {
            assert!(
                !contains(&out.stdout, secret) && !contains(&out.stderr, secret),
                "a secret from the environment is in the helper's output"
            );
        }
        out
    }
}

/// The exit code, or minus the signal number when killed by a signal.
fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| -s))
        .unwrap_or(i32::MIN)
}

/// What a helper run produced.
#[derive(Clone, Debug)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit code; `-N` when killed by signal N.
    pub code: i32,
    /// From spawn to exit.
    pub elapsed: Duration,
    /// Killed after the timeout ([`RUN_TIMEOUT`] by default).
    pub timed_out: bool,
}

impl Output {
    /// stdout as (lossy) UTF-8.
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as (lossy) UTF-8.
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// stdout parsed as JSON; panics with the whole output if it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {}{} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            if self.timed_out { " (timed out)" } else { "" },
            self.elapsed,
            self.stdout_str(),
            self.stderr_str()
        )
    }
}
