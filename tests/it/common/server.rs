//! The test ECR API server (`tests/support/ecr_server.py`, moto behind a small
//! middleware) as seen from Rust: find a Python with moto, start the server on a
//! loopback address (forked by one [`ForkServer`] per test process), talk to its
//! `/_test/*` control endpoints, stop it on drop.
//!
//! Control calls use raw HTTP/1.1 over `std::net::TcpStream` so that the
//! harness needs no HTTP client crate.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use serde_json::Value;

/// How long the server may take to print its ready line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on one control call.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

/// `tests/support/ecr_server.py`.
pub fn server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/ecr_server.py")
}

/// `tests/support/gen-test-ca.sh`.
pub fn gen_ca_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/gen-test-ca.sh")
}

/// True when `ECR_TEST_REQUIRE_SERVER=1`: a missing Python/moto is then a
/// failure instead of a skip (CI sets it).
pub fn server_required() -> bool {
    std::env::var_os("ECR_TEST_REQUIRE_SERVER").is_some_and(|v| v == "1")
}

/// The Python interpreter that can run the test server, or why there is none.
///
/// `$ECR_TEST_PYTHON` if set, else `<CARGO_MANIFEST_DIR>/target/test-venv/bin/python`
/// (made by `scripts/test`); either must be able to `import moto`, which starting the
/// [`fork server`](ForkServer) proves. Checked once per test process.
pub fn python_status() -> &'static Result<PathBuf, String> {
    static STATUS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    STATUS.get_or_init(|| fork_server().map(|fs| fs.python.clone()))
}

/// The interpreter named by `$ECR_TEST_PYTHON` or the test venv, and where the name came from.
fn python_candidate() -> Result<(PathBuf, &'static str), String> {
    match std::env::var_os("ECR_TEST_PYTHON") {
        Some(p) if !p.is_empty() => Ok((PathBuf::from(p), "$ECR_TEST_PYTHON")),
        _ => {
            let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python");
            if !venv.exists() {
                return Err(format!(
                    "no Python with moto: set ECR_TEST_PYTHON or run scripts/test \
                     (which creates {})",
                    venv.display()
                ));
            }
            Ok((venv, "the test venv"))
        }
    }
}

/// Report a skipped test loudly: `SKIPPED: <reason>` goes straight to the
/// process's stderr (not through the test harness's capture, so it shows even
/// without `--nocapture`). Panics instead when [`server_required`].
pub fn skip(reason: &str) {
    if server_required() {
        panic!("ECR_TEST_REQUIRE_SERVER=1 but the test cannot run: {reason}");
    }
    let name = std::thread::current().name().unwrap_or("?").to_string();
    let _ = writeln!(std::io::stderr(), "SKIPPED: {name}: {reason}");
}

/// Start an [`EcrServer`] (default options, or the given [`ServerOpts`]), or
/// skip the calling test — print `SKIPPED: …` and `return` — when no Python
/// with moto is available. Needs `mod common;` at the test crate's root.
///
/// ```ignore
/// let server = require_server!();
/// let tls = require_server!(ServerOpts { ttl: Some(10.0), ..Default::default() });
/// ```
#[macro_export]
macro_rules! require_server {
    () => {
        $crate::require_server!($crate::common::ServerOpts::default())
    };
    ($opts:expr) => {
        match $crate::common::EcrServer::try_start($opts) {
            Ok(server) => server,
            Err(reason) => {
                $crate::common::skip(&reason);
                return;
            }
        }
    };
}

/// Skip the calling test unless a Python with moto is available; evaluates to
/// that interpreter's path.
#[macro_export]
macro_rules! require_python {
    () => {
        match $crate::common::python_status() {
            Ok(python) => python.clone(),
            Err(reason) => {
                $crate::common::skip(reason);
                return;
            }
        }
    };
}

/// Options for [`EcrServer::start`].
#[derive(Clone, Debug, Default)]
pub struct ServerOpts {
    /// Listen on this loopback address (default: [`pick_loopback_host`]).
    /// Set it when a TLS certificate must name the address.
    pub host: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (needs `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Token lifetime in seconds (server default 43200); may be negative.
    pub ttl: Option<f64>,
    /// Keep moto's stock answers (private ECR tokens expire 2015-01-01).
    pub stock: bool,
    /// Log every request to the server log ([`EcrServer::log`]).
    pub verbose: bool,
    /// Also run a recording HTTP CONNECT proxy that tunnels every target to
    /// the API port ([`EcrServer::proxy_url`], [`EcrServer::connects`]).
    pub connect_proxy: bool,
}

impl ServerOpts {
    /// HTTPS on `host` with the server certificate of a [`TestCa`] (which
    /// should name `host`).
    pub fn tls(host: &str, ca: &TestCa) -> ServerOpts {
        ServerOpts {
            host: Some(host.to_string()),
            tls_cert: Some(ca.server_pem.clone()),
            tls_key: Some(ca.server_key.clone()),
            ..Default::default()
        }
    }
}

/// One `ecr_server.py --fork-server` per test process: it imports moto once (about a second of
/// CPU) and forks a fresh server, with its own moto state, counters and ports, per
/// [`EcrServer::try_start`]. Its stdin is a pipe that only this process holds, for its whole
/// life: when the test process exits, however it dies, the fork server reads EOF, kills its
/// servers and exits, and the servers die with it (`PR_SET_PDEATHSIG`), so no orphan remains.
pub struct ForkServer {
    python: PathBuf,
    /// One request and its answer at a time.
    io: Mutex<ForkIo>,
}

struct ForkIo {
    /// Never waited for: the fork server outlives every test and exits with the process.
    child: Child,
    stdin: ChildStdin,
    /// Its stdout, one line per message.
    answers: mpsc::Receiver<std::io::Result<String>>,
    /// Its stderr so far.
    stderr: Arc<Mutex<String>>,
    /// Set when an answer did not come in time: later answers could not be matched.
    broken: Option<String>,
}

/// The fork server of this test process, started on first use; `Err` is a skip reason (no
/// Python with moto).
pub fn fork_server() -> Result<&'static ForkServer, String> {
    static FORK: OnceLock<Result<ForkServer, String>> = OnceLock::new();
    FORK.get_or_init(ForkServer::spawn)
        .as_ref()
        .map_err(Clone::clone)
}

impl ForkServer {
    fn spawn() -> Result<ForkServer, String> {
        let (python, origin) = python_candidate()?;
        let mut child = Command::new(&python)
            .arg(server_script())
            .arg("--fork-server")
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("MOTO_ACCOUNT_ID")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {} ({origin}): {e}", python.display()))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let stderr_done = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err_pipe.read(&mut buf) {
                lock(&sink).push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        match answers.recv_timeout(START_TIMEOUT) {
            Ok(Ok(line)) if line.starts_with("{\"fork_server\"") => Ok(ForkServer {
                python,
                io: Mutex::new(ForkIo {
                    child,
                    stdin,
                    answers,
                    stderr,
                    broken: None,
                }),
            }),
            Ok(Ok(line)) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} --fork-server: bad first line {line:?}",
                    python.display()
                )
            }
            Ok(Err(e)) => panic!(
                "{} --fork-server: reading its stdout: {e}",
                python.display()
            ),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "{} ({origin}) --fork-server: not ready within {START_TIMEOUT:?}",
                    python.display()
                ))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = child.wait();
                let _ = stderr_done.join();
                let stderr = lock(&stderr);
                Err(format!(
                    "{} ({origin}) cannot import moto[server]: {}",
                    python.display(),
                    // The last line of the traceback says what is missing.
                    stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("")
                ))
            }
        }
    }

    /// Send one request and wait at most `timeout` for its answer.
    fn request(&self, request: &Value, timeout: Duration) -> Result<Value, String> {
        let mut io = lock(&self.io);
        if let Some(why) = &io.broken {
            return Err(format!("the fork server is out of order: {why}"));
        }
        let answer = match writeln!(io.stdin, "{request}").and_then(|()| io.stdin.flush()) {
            Err(e) => Err(format!("writing to the fork server: {e}")),
            Ok(()) => match io.answers.recv_timeout(timeout) {
                Ok(Ok(line)) => serde_json::from_str(&line)
                    .map_err(|e| format!("bad answer {line:?} from the fork server: {e}")),
                Ok(Err(e)) => Err(format!("reading the fork server's answer: {e}")),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    Err(format!("no answer from the fork server within {timeout:?}"))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => Err(format!(
                    "the fork server exited ({:?})",
                    io.child.try_wait()
                )),
            },
        };
        answer.map_err(|e| {
            let e = format!("{e}\n--- fork server stderr ---\n{}", lock(&io.stderr));
            io.broken = Some(e.clone());
            e
        })
    }
}

/// Lock, whether or not a panicking test poisoned the mutex.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running `ecr_server.py`, a child of the [`ForkServer`]; killed on drop.
pub struct EcrServer {
    fork: &'static ForkServer,
    pid: u64,
    host: String,
    port: u16,
    control_port: u16,
    proxy_port: Option<u16>,
    tls: bool,
    /// Holds the server's stderr log.
    dir: tempfile::TempDir,
}

/// A loopback address 127.0.0.x with x in 2..=250, varied by process id and a
/// per-process counter so that parallel tests and test binaries spread out.
pub fn pick_loopback_host() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = std::process::id()
        .wrapping_mul(7)
        .wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("127.0.0.{}", 2 + n % 249)
}

impl EcrServer {
    /// Start a server, panicking if it cannot start. Without a Python with
    /// moto this panics too; use [`require_server!`] to skip instead.
    pub fn start(opts: ServerOpts) -> EcrServer {
        match Self::try_start(opts) {
            Ok(server) => server,
            Err(reason) => panic!("cannot start the test ECR server: {reason}"),
        }
    }

    /// Start a server. `Err` (a skip reason) only when there is no Python with
    /// moto; any other failure to start panics with the server's log.
    pub fn try_start(opts: ServerOpts) -> Result<EcrServer, String> {
        let fork = fork_server()?;
        let dir = tempfile::Builder::new()
            .prefix("ecr-server-")
            .tempdir()
            .expect("tempdir for the server log");
        let log_path = dir.path().join("server.log");
        let host = opts.host.clone().unwrap_or_else(pick_loopback_host);

        let mut argv = vec!["--host".to_string(), host.clone(), "--port=0".to_string()];
        if let Some(ttl) = opts.ttl {
            argv.push(format!("--ttl={ttl}"));
        }
        let flags = [
            (opts.stock, "--stock"),
            (opts.verbose, "--verbose"),
            (opts.connect_proxy, "--connect-proxy"),
        ];
        argv.extend(flags.iter().filter(|f| f.0).map(|f| f.1.to_string()));
        let tls = match (&opts.tls_cert, &opts.tls_key) {
            (Some(cert), Some(key)) => {
                for (flag, path) in [("--tls-cert", cert), ("--tls-key", key)] {
                    let path = path.to_str().expect("TLS file paths are UTF-8");
                    argv.extend([flag.to_string(), path.to_string()]);
                }
                true
            }
            (None, None) => false,
            _ => panic!("ServerOpts: tls_cert and tls_key go together"),
        };

        let request = serde_json::json!({ "op": "start", "argv": argv, "log": log_path });
        // The fork server gives up on a server after START_TIMEOUT itself.
        let answer = fork.request(&request, START_TIMEOUT + CONTROL_TIMEOUT);
        let fail = |what: String| -> ! {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("test ECR server on {host}: {what}\n--- server log ---\n{log}");
        };
        let answer = answer.unwrap_or_else(|e| fail(e));
        let ready = &answer["ready"];
        let port_of = |key: &str| ready[key].as_u64().and_then(|p| u16::try_from(p).ok());
        let (Some(pid), Some(port), Some(control_port)) = (
            answer["pid"].as_u64(),
            port_of("port"),
            port_of("control_port"),
        ) else {
            fail(format!("answer {answer}"))
        };
        let proxy_port = port_of("proxy_port");
        if opts.connect_proxy && proxy_port.is_none() {
            fail(format!("no proxy_port in ready line {ready}"));
        }
        Ok(EcrServer {
            fork,
            pid,
            host,
            port,
            control_port,
            proxy_port,
            tls,
            dir,
        })
    }

    /// `http://127.0.0.x:PORT` (or `https://…` with TLS): the AWS API endpoint,
    /// for `AWS_ENDPOINT_URL_ECR` / `AWS_ENDPOINT_URL_ECR_PUBLIC`.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}:{}", self.host, self.port)
    }

    /// The loopback IP address the server listens on.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The API port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The plain-HTTP control port (the API port unless TLS is on).
    pub fn control_port(&self) -> u16 {
        self.control_port
    }

    /// `http://127.0.0.x:PORT` of the CONNECT proxy, for `HTTPS_PROXY`; panics
    /// unless started with [`ServerOpts::connect_proxy`].
    pub fn proxy_url(&self) -> String {
        let port = self
            .proxy_port
            .expect("the server was started without connect_proxy");
        format!("http://{}:{port}", self.host)
    }

    /// `http://127.0.0.x:CONTROL_PORT`: plain HTTP, for the container
    /// credentials stub (`/_test/container-credentials`) and, without TLS,
    /// the IMDS stub (`/latest/...`).
    pub fn control_endpoint(&self) -> String {
        format!("http://{}:{}", self.host, self.control_port)
    }

    /// Every CONNECT target the proxy saw so far (`host:port`), in order.
    pub fn connects(&self) -> Vec<String> {
        self.control("GET", "/_test/calls", None)["connects"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["target"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The recorded calls that are not ECR or ECR Public (STS through moto,
    /// the SSO portal, container credentials and IMDS stubs): a JSON array of
    /// objects with at least `service`, `method`, `path`, `time`.
    pub fn other_requests(&self) -> Value {
        self.control("GET", "/_test/calls", None)["other"].take()
    }

    /// Configure the IMDS stub: the HTTP status of `PUT /latest/api/token`
    /// (200 gives a token) and whether metadata GETs need the token.
    pub fn set_imds(&self, token_status: u16, require_token: bool) {
        let body =
            serde_json::json!({ "token_status": token_status, "require_token": require_token });
        self.control("POST", "/_test/imds", Some(body.to_string()));
    }

    /// Make the IMDS stub's credentials carry `akid` from now on (a rotation).
    pub fn set_imds_akid(&self, akid: &str) {
        let body = serde_json::json!({ "akid": akid });
        self.control("POST", "/_test/imds", Some(body.to_string()));
    }

    /// The server's stderr so far (tracebacks; every request with `verbose`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// API calls so far: (private ECR, ECR Public).
    pub fn calls(&self) -> (u64, u64) {
        let v = self.control("GET", "/_test/calls", None);
        let n = |k: &str| {
            v[k].as_u64()
                .unwrap_or_else(|| panic!("bad /_test/calls answer: {v}"))
        };
        (n("ecr"), n("ecr-public"))
    }

    /// The recorded API calls: a JSON array of `{service, action, region,
    /// registryIds, akid, signingService, sessionToken, host, time}`.
    pub fn requests(&self) -> Value {
        self.control("GET", "/_test/calls", None)["requests"].take()
    }

    /// Zero the call counts and forget the recorded calls.
    pub fn reset(&self) {
        self.control("POST", "/_test/reset", Some("{}".into()));
    }

    /// Set the answer mode (`ok`, `500`, `400`, `throttle`, `garbage`,
    /// `truncated`, `hang`, `badtoken`, `notbase64`, `empty`, `badproxy`), the
    /// token lifetime (None: the start-up one) and a delay before answering
    /// (None: no delay). Applies to both services until the next call.
    pub fn set_mode(&self, mode: &str, ttl: Option<f64>, delay: Option<f64>) {
        let body = serde_json::json!({ "mode": mode, "ttl": ttl, "delay": delay });
        self.control("POST", "/_test/mode", Some(body.to_string()));
    }

    /// One control call; panics on any failure. Returns the JSON answer.
    fn control(&self, method: &str, path: &str, body: Option<String>) -> Value {
        let addr = format!("{}:{}", self.host, self.control_port);
        let headers = [("Content-Type", "application/json")];
        let body = body.unwrap_or_default();
        match http_request(
            &addr,
            method,
            path,
            &headers,
            body.as_bytes(),
            CONTROL_TIMEOUT,
        ) {
            Ok(resp) if resp.status == 200 => {
                serde_json::from_slice(&resp.body).unwrap_or_else(|e| {
                    panic!(
                        "control {method} {path}: bad JSON {:?}: {e}",
                        resp.body_str()
                    )
                })
            }
            Ok(resp) => panic!(
                "control {method} {path}: HTTP {}: {}\n--- server log ---\n{}",
                resp.status,
                resp.body_str(),
                self.log()
            ),
            Err(e) => panic!(
                "control {method} {path} on {addr}: {e}\n--- server log ---\n{}",
                self.log()
            ),
        }
    }
}

impl Drop for EcrServer {
    /// SIGKILL, and wait until it is gone (its ports are closed).
    fn drop(&mut self) {
        let request = serde_json::json!({ "op": "stop", "pid": self.pid });
        let _ = self.fork.request(&request, CONTROL_TIMEOUT);
    }
}

/// A test CA and a server certificate made by `tests/support/gen-test-ca.sh`.
pub struct TestCa {
    /// CA certificate (for `SSL_CERT_FILE` / `AWS_CA_BUNDLE`).
    pub ca_pem: PathBuf,
    /// Server certificate followed by the CA certificate.
    pub server_pem: PathBuf,
    /// Server private key (PKCS#8).
    pub server_key: PathBuf,
}

impl TestCa {
    /// Make a CA and a server certificate for `names` (DNS names or IP
    /// addresses) in `dir`. Panics if openssl is missing or fails.
    pub fn generate(dir: &Path, names: &[&str]) -> TestCa {
        TestCa::from_script(&gen_ca_script(), dir, &[], names)
    }

    /// Runs `script OUTDIR [ARGS...] NAMES...` (gen-test-ca.sh, or gen-test-pki.sh with its
    /// KIND as the one argument) and takes `ca.pem`, `server.pem` and `server.key` from `dir`.
    pub fn from_script(script: &Path, dir: &Path, args: &[&str], names: &[&str]) -> TestCa {
        let name = script.file_name().unwrap_or_default().to_string_lossy();
        let out = Command::new("bash")
            .arg(script)
            .arg(dir)
            .args(args)
            .args(names)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {name}: {e}"));
        assert!(
            out.status.success(),
            "{name} {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        TestCa {
            ca_pem: dir.join("ca.pem"),
            server_pem: dir.join("server.pem"),
            server_key: dir.join("server.key"),
        }
    }
}

/// An HTTP answer read by [`http_request`].
#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Header (name, value) pairs as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) UTF-8.
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A minimal plain-HTTP/1.1 request over `std::net::TcpStream` with
/// `Connection: close`; the body is whatever arrives until the server closes
/// the connection (not cut to Content-Length). `timeout` bounds each read and
/// write.
pub fn http_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes)?;

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of HTTP head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad HTTP status line"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(HttpResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}
