//! TLS strictness end to end (issue 14): the helper's `get` against a TLS test server whose
//! certificates are made wrong in one way each (tests/support/gen-test-pki.sh, gen-test-ca.sh),
//! and acceptance through every source of CA roots (SPEC §12, D12) except the distribution
//! default (which needs machine state; the bench covers it).
//!
//! A refusal is the plain not-found answer (exit 1, the exact text, nothing on stderr), a log
//! that names the certificate problem, and no API call at all on the server: the helper never
//! sends a request to a server it does not trust. An acceptance is the token. Each test starts
//! its own server (they run in parallel) and skips loudly without moto, as the others do.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{EcrServer, Env, Output, ServerOpts, TestCa};

const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const NOT_FOUND: &str = "credentials not found in native keychain\n";
/// Moto's token for 123456789012 decodes to `AWS:123456789012-auth-token`.
const SECRET: &str = "123456789012-auth-token";
/// The distribution bundle used as "a big bundle" when the machine has it.
const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// The distribution certificate directory used as "a big directory" when the machine has it.
const SYSTEM_DIR: &str = "/etc/ssl/certs";
/// How many other certificates go into the big bundles and directories.
const CROWD: usize = 150;

/// `tests/support/gen-test-pki.sh`.
fn gen_pki_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/gen-test-pki.sh")
}

/// The certificates a server presents: a plain CA and leaf (gen-test-ca.sh), or one of the
/// kinds of gen-test-pki.sh.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Plain,
    Chain,
    ChainLeafOnly,
    Expired,
    NotYetValid,
    SameName,
    NonCaIntermediate,
}

impl Kind {
    fn generate(self, dir: &Path, names: &[&str]) -> TestCa {
        let arg = match self {
            Kind::Plain => return TestCa::generate(dir, names),
            Kind::Chain => "chain",
            Kind::ChainLeafOnly => "chain-leaf-only",
            Kind::Expired => "expired",
            Kind::NotYetValid => "not-yet-valid",
            Kind::SameName => "same-name",
            Kind::NonCaIntermediate => "non-ca-intermediate",
        };
        TestCa::from_script(&gen_pki_script(), dir, &[arg], names)
    }
}

/// A TLS test server on a loopback address, with a recording CONNECT proxy in front, and the
/// certificates it was made with.
struct Tls {
    dir: tempfile::TempDir,
    ca: TestCa,
    server: EcrServer,
}

/// Start a [`Tls`] server of a [`Kind`] whose leaf names the server's address (or the names
/// the closure gives for it), or skip the calling test.
macro_rules! tls_server {
    ($kind:expr) => {
        tls_server!($kind, |host: &str| vec![host.to_string()])
    };
    ($kind:expr, $names:expr) => {{
        let _ = require_python!();
        let dir = tempfile::tempdir().expect("tempdir for the certificates");
        let host = common::pick_loopback_host();
        let names: Vec<String> = ($names)(host.as_str());
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let ca = Kind::generate($kind, &dir.path().join("pki"), &names);
        let server = require_server!(ServerOpts {
            connect_proxy: true,
            ..ServerOpts::tls(&host, &ca)
        });
        Tls { dir, ca, server }
    }};
}

impl Tls {
    /// A hermetic environment with the endpoint `https://<address>:<port>`, the cache off, debug
    /// logging, a short timeout, and no CA setting at all (each test adds its own).
    fn env(&self) -> Env {
        Env::new()
            .with("AWS_ENDPOINT_URL_ECR", self.server.endpoint())
            .with("AWS_ECR_DISABLE_CACHE", "1")
            .with("AWS_ECR_LOG_LEVEL", "debug")
            .with("AWS_ECR_TIMEOUT", "5")
            .timeout(Duration::from_secs(30))
    }

    /// A path in the test's directory.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `get` succeeds with the token, after exactly one API call.
    fn assert_accepted(&self, env: &Env) {
        self.server.reset();
        let out = get(env);
        assert!(
            out.code == 0 && out.stdout_str() == expected() && out.stderr.is_empty(),
            "expected the token\n{}",
            self.context(&out, env)
        );
        assert_eq!(self.server.calls(), (1, 0), "{}", self.context(&out, env));
    }

    /// `get` answers not-found, nothing reached the API, and the log says why; returns the log.
    fn assert_refused(&self, env: &Env) -> String {
        self.server.reset();
        let out = get(env);
        assert!(
            out.code == 1 && out.stdout_str() == NOT_FOUND && out.stderr.is_empty(),
            "expected not-found\n{}",
            self.context(&out, env)
        );
        assert!(!out.timed_out, "{out}");
        assert_eq!(
            self.server.calls(),
            (0, 0),
            "no API call may reach a server that is not trusted\n{}",
            self.context(&out, env)
        );
        assert_eq!(self.server.requests(), serde_json::json!([]));
        helper_log(env)
    }

    /// [`Tls::assert_refused`], and an error line of the log names a certificate problem with
    /// one of `reasons` (case-insensitive; rustls/webpki's words, alternatives where a stricter
    /// verifier may well stop at another check first).
    fn assert_cert_refused(&self, env: &Env, reasons: &[&str]) -> String {
        let log = self.assert_refused(env);
        let named = log.lines().any(|line| {
            let l = line.to_ascii_lowercase();
            l.contains("level=error")
                && l.contains("certificate")
                && reasons.iter().any(|r| l.contains(&r.to_ascii_lowercase()))
        });
        assert!(
            named,
            "no error line of the log names a certificate problem ({reasons:?}):\n{log}"
        );
        log
    }

    fn context(&self, out: &Output, env: &Env) -> String {
        format!(
            "{out}\n--- helper log ---\n{}\n--- server log ---\n{}",
            helper_log(env),
            self.server.log()
        )
    }
}

fn get(env: &Env) -> Output {
    env.run(&["get"], HOST.as_bytes())
}

fn expected() -> String {
    format!("{{\"ServerURL\":\"{HOST}\",\"Username\":\"AWS\",\"Secret\":\"{SECRET}\"}}\n")
}

/// The helper's log file (`<cache dir>/log/ecr-login.log`).
fn helper_log(env: &Env) -> String {
    std::fs::read_to_string(env.cache_dir().join("log/ecr-login.log"))
        .unwrap_or_else(|e| format!("(no helper log: {e})"))
}

// -- Bundles and directories of other certificates ------------------------------------------------

/// The PEM of the machine's bundle, if it has one.
fn system_bundle() -> Option<Vec<u8>> {
    std::fs::read(SYSTEM_BUNDLE)
        .ok()
        .filter(|b| String::from_utf8_lossy(b).contains("BEGIN CERTIFICATE"))
}

/// PEM files of about [`CROWD`] CA certificates that have nothing to do with the test server:
/// the machine's (`/etc/ssl/certs/*.pem`, usually symbolic links) when it has them, else three
/// generated CAs in `dir`.
fn crowd_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(SYSTEM_DIR)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "pem"))
                .filter(|p| {
                    std::fs::read(p)
                        .is_ok_and(|b| String::from_utf8_lossy(&b).contains("BEGIN CERTIFICATE"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.truncate(CROWD);
    if files.len() >= 10 {
        return files;
    }
    eprintln!("no {SYSTEM_DIR}/*.pem here: a crowd of 3 generated CAs instead");
    // Roots of gen-test-pki.sh: another subject than gen-test-ca.sh's CA.
    (0..3)
        .map(|i| {
            let sub = dir.join(format!("crowd-{i}"));
            let ca = Kind::Chain.generate(&sub, &["crowd.example.test"]).ca_pem;
            let named = dir.join(format!("crowd-{i}.pem"));
            std::fs::copy(&ca, &named).expect("copy a crowd certificate");
            named
        })
        .collect()
}

/// About [`CROWD`] other CA certificates as one PEM bundle: the machine's bundle, else the
/// [`crowd_files`].
fn crowd_bundle(dir: &Path) -> Vec<u8> {
    if let Some(bundle) = system_bundle() {
        return bundle;
    }
    eprintln!("no {SYSTEM_BUNDLE} here: the generated crowd instead");
    crowd_files(dir)
        .iter()
        .flat_map(|p| std::fs::read(p).expect("read a crowd certificate"))
        .collect()
}

/// Write `parts` one after the other to `path`, each ending in a newline.
fn write_bundle(path: &Path, parts: &[&[u8]]) -> PathBuf {
    let mut bytes = Vec::new();
    for part in parts {
        bytes.extend_from_slice(part);
        if !part.ends_with(b"\n") {
            bytes.push(b'\n');
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create the bundle's directory");
    }
    std::fs::write(path, bytes).expect("write a bundle");
    path.to_path_buf()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A CA certificate that did not sign anything the test servers present (another subject).
fn unrelated_ca() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/test-ca.pem")
}

// -- Chains and refusals (each: one server) -----------------------------------------------------

/// root -> intermediate -> leaf, the server presenting leaf + intermediate and the root alone
/// trusted: accepted, from a one-certificate file and from the end of a big bundle.
#[test]
fn chain_with_intermediate_accepted() {
    let t = tls_server!(Kind::Chain);
    t.assert_accepted(&t.env().with("SSL_CERT_FILE", &t.ca.ca_pem));
    let big = write_bundle(
        &t.path("big.pem"),
        &[&crowd_bundle(t.dir.path()), &read(&t.ca.ca_pem)],
    );
    t.assert_accepted(&t.env().with("AWS_CA_BUNDLE", &big));
}

/// The same chain with the intermediate not presented: the root alone cannot vouch for the leaf.
#[test]
fn chain_missing_intermediate_refused() {
    let t = tls_server!(Kind::ChainLeafOnly);
    t.assert_cert_refused(
        &t.env().with("SSL_CERT_FILE", &t.ca.ca_pem),
        &["UnknownIssuer"],
    );
}

#[test]
fn expired_leaf_refused() {
    let t = tls_server!(Kind::Expired);
    t.assert_cert_refused(&t.env().with("SSL_CERT_FILE", &t.ca.ca_pem), &["expired"]);
}

#[test]
fn not_yet_valid_leaf_refused() {
    let t = tls_server!(Kind::NotYetValid);
    t.assert_cert_refused(
        &t.env().with("SSL_CERT_FILE", &t.ca.ca_pem),
        &["not valid yet", "NotValidYet"],
    );
}

/// A leaf for other names than the one connected to: refused for an address endpoint and for a
/// DNS name (through the CONNECT proxy); the name it does carry is accepted on the same server,
/// and is not stretched to a subdomain.
#[test]
fn wrong_name_refused() {
    let t = tls_server!(Kind::Plain, |_: &str| vec![
        "named.example.test".to_string(),
        "127.0.0.1".to_string(),
    ]);
    let reasons = ["NotValidForName", "not valid for name"];
    let env = t.env().with("SSL_CERT_FILE", &t.ca.ca_pem);
    t.assert_cert_refused(&env, &reasons);

    let via_proxy = |name: &str| {
        t.env()
            .with("SSL_CERT_FILE", &t.ca.ca_pem)
            .with("HTTPS_PROXY", t.server.proxy_url())
            .with("AWS_ENDPOINT_URL_ECR", format!("https://{name}"))
    };
    t.assert_cert_refused(&via_proxy("other.example.test"), &reasons);
    t.assert_cert_refused(&via_proxy("sub.named.example.test"), &reasons);
    t.assert_accepted(&via_proxy("named.example.test"));
}

/// A server whose CA is not in the bundle, the bundle being big (the machine's bundle and
/// another test CA): refused.
#[test]
fn wrong_ca_with_big_bundle_refused() {
    let t = tls_server!(Kind::Plain);
    let big = write_bundle(
        &t.path("big.pem"),
        &[&crowd_bundle(t.dir.path()), &read(&unrelated_ca())],
    );
    t.assert_cert_refused(&t.env().with("SSL_CERT_FILE", &big), &["UnknownIssuer"]);
    t.assert_cert_refused(&t.env().with("AWS_CA_BUNDLE", &big), &["UnknownIssuer"]);
}

/// A leaf signed by a CA with the trusted root's subject and key identifier but another key
/// (anchors looked up by name must still be checked by signature): refused. With both CAs
/// trusted, in either order, it is accepted: two anchors of one name are both candidates.
#[test]
fn same_name_other_key_refused() {
    let t = tls_server!(Kind::SameName);
    t.assert_cert_refused(
        &t.env().with("SSL_CERT_FILE", &t.ca.ca_pem),
        &["BadSignature", "UnknownIssuer"],
    );
    let root = read(&t.ca.ca_pem);
    let impostor = read(&t.path("pki/other-ca.pem"));
    let first = write_bundle(&t.path("root-first.pem"), &[&root, &impostor]);
    t.assert_accepted(&t.env().with("SSL_CERT_FILE", &first));
    let last = write_bundle(&t.path("root-last.pem"), &[&impostor, &root]);
    t.assert_accepted(&t.env().with("SSL_CERT_FILE", &last));
}

/// An issuer whose basicConstraints say CA:FALSE (though its key usage allows signing
/// certificates): refused.
#[test]
fn non_ca_intermediate_refused() {
    let t = tls_server!(Kind::NonCaIntermediate);
    t.assert_cert_refused(
        &t.env().with("SSL_CERT_FILE", &t.ca.ca_pem),
        &["EndEntityUsedAsCa", "UnknownIssuer", "CaUsedAsEndEntity"],
    );
}

// -- Root sources (each: one server) ------------------------------------------------------------

#[test]
fn source_aws_ca_bundle() {
    let t = tls_server!(Kind::Plain);
    t.assert_accepted(&t.env().with("AWS_CA_BUNDLE", &t.ca.ca_pem));
}

/// `ca_bundle` of the default profile in `~/.aws/config` (no `AWS_CONFIG_FILE`).
#[test]
fn source_profile_ca_bundle() {
    let t = tls_server!(Kind::Plain);
    let env = t.env().without("AWS_CONFIG_FILE");
    let aws = env.dir().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    let config = format!("[default]\nca_bundle = {}\n", t.ca.ca_pem.display());
    std::fs::write(aws.join("config"), config).unwrap();
    t.assert_accepted(&env);
}

#[test]
fn source_ssl_cert_file() {
    let t = tls_server!(Kind::Plain);
    t.assert_accepted(&t.env().with("SSL_CERT_FILE", &t.ca.ca_pem));
}

/// `SSL_CERT_DIR` naming a directory of about [`CROWD`] CA files (links to the machine's, as
/// in /etc/ssl/certs), the test CA among them under a name that is no subject hash.
#[test]
fn source_ssl_cert_dir_among_many() {
    let t = tls_server!(Kind::Plain);
    let dir = t.path("certs");
    std::fs::create_dir_all(&dir).unwrap();
    for f in crowd_files(t.dir.path()) {
        let name = f.file_name().expect("a file name");
        std::os::unix::fs::symlink(&f, dir.join(name)).expect("link a crowd certificate");
    }
    std::fs::copy(&t.ca.ca_pem, dir.join("M_ecr-login_test_CA.pem")).unwrap();
    t.assert_accepted(&t.env().with("SSL_CERT_DIR", &dir));
}

/// `SSL_CERT_DIR` with two directories separated by ':', the test CA in the second.
#[test]
fn source_ssl_cert_dir_two_dirs() {
    let t = tls_server!(Kind::Plain);
    let (one, two) = (t.path("one"), t.path("two"));
    std::fs::create_dir_all(&one).unwrap();
    std::fs::create_dir_all(&two).unwrap();
    std::fs::copy(unrelated_ca(), one.join("other.pem")).unwrap();
    std::fs::copy(&t.ca.ca_pem, two.join("ca.pem")).unwrap();
    let both = format!("{}:{}", one.display(), two.display());
    t.assert_accepted(&t.env().with("SSL_CERT_DIR", &both));
    // SSL_CERT_FILE and SSL_CERT_DIR together: both count.
    t.assert_accepted(
        &t.env()
            .with("SSL_CERT_FILE", unrelated_ca())
            .with("SSL_CERT_DIR", &two),
    );
}

/// The right root as the last and as the first of about [`CROWD`] certificates.
#[test]
fn source_big_bundle_root_last_or_first() {
    let t = tls_server!(Kind::Plain);
    let crowd = crowd_bundle(t.dir.path());
    let ca = read(&t.ca.ca_pem);
    let last = write_bundle(&t.path("last.pem"), &[&crowd, &ca]);
    t.assert_accepted(&t.env().with("SSL_CERT_FILE", &last));
    t.assert_accepted(&t.env().with("AWS_CA_BUNDLE", &last));
    let first = write_bundle(&t.path("first.pem"), &[&ca, &crowd]);
    t.assert_accepted(&t.env().with("SSL_CERT_FILE", &first));
    t.assert_accepted(&t.env().with("AWS_CA_BUNDLE", &first));
}

/// Text, a block that is not base64, a block that is not a certificate and a truncated block
/// before the right root: skipped, the root still used.
#[test]
fn source_garbage_before_root() {
    let t = tls_server!(Kind::Plain);
    let ca = read(&t.ca.ca_pem);
    let ca_text = String::from_utf8_lossy(&ca).into_owned();
    let body: String = ca_text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("\n");
    let truncated = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        &body[..body.len() / 2]
    );
    let garbage = [
        "this is not PEM at all\n".as_bytes(),
        b"-----BEGIN CERTIFICATE-----\n!!! not base64 !!!\n-----END CERTIFICATE-----\n",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        truncated.as_bytes(),
    ];
    let mut parts: Vec<&[u8]> = garbage.to_vec();
    parts.push(&ca);
    let bundle = write_bundle(&t.path("garbage.pem"), &parts);
    t.assert_accepted(&t.env().with("SSL_CERT_FILE", &bundle));
    t.assert_accepted(&t.env().with("AWS_CA_BUNDLE", &bundle));
}

/// A bundle without one usable certificate: not-found, and the log says that no CA
/// certificates were found (nothing was connected to at all).
#[test]
fn source_no_usable_certificate() {
    let t = tls_server!(Kind::Plain);
    let bundle = write_bundle(
        &t.path("useless.pem"),
        &[
            b"not PEM\n",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ],
    );
    let empty_dir = t.path("empty");
    std::fs::create_dir_all(&empty_dir).unwrap();
    for env in [
        t.env().with("SSL_CERT_FILE", &bundle),
        t.env().with("AWS_CA_BUNDLE", &bundle),
        t.env().with("SSL_CERT_DIR", &empty_dir),
    ] {
        let log = t.assert_refused(&env);
        assert!(
            log.lines()
                .any(|l| l.contains("level=error") && l.contains("No CA certificates found")),
            "the log says why:\n{log}"
        );
    }
}

/// A block with no END line before the right root (a file cut short, then concatenated): Go's
/// `pem.Decode` (and so `AppendCertsFromPEM`) resumes at the next BEGIN line and finds the root;
/// so does ours (src/aws/tls `add_pem_bytes`; it used to take everything up to the root's END
/// line as one block and lose the root).
#[test]
fn source_unterminated_block_before_root() {
    let t = tls_server!(Kind::Plain);
    let ca = read(&t.ca.ca_pem);
    let bundle = write_bundle(
        &t.path("unterminated.pem"),
        &[b"-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHHIG\n", &ca],
    );
    t.assert_accepted(&t.env().with("SSL_CERT_FILE", &bundle));
}
