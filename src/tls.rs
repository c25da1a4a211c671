//! CA roots for any Linux image (SPEC §12, D12).
//!
//! Order: `AWS_CA_BUNDLE`, then the profile's `ca_bundle` (these replace everything); else
//! `SSL_CERT_FILE` and/or `SSL_CERT_DIR`, exactly those; else the first existing distribution
//! bundle file; only then the certificate directories. Roots are loaded only when a TLS
//! connection is about to be made, never on a cache hit or for `http://`.
//!
//! Every certificate is checked here, because the SDK's HTTP client panics on one it cannot
//! parse; only certificates usable as trust anchors are handed on.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Bundle files of the common distributions, in order of preference.
pub const BUNDLE_FILES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Alpine
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // RHEL 7+, Amazon Linux, Fedora
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL 6
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/pki/tls/cacert.pem",            // OpenELEC
    "/etc/ssl/cert.pem",                  // Alpine
];

/// Certificate directories, read only when no bundle file exists.
pub const CERT_DIRS: [&str; 2] = ["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// Where the roots come from, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    AwsCaBundle(PathBuf),
    ProfileCaBundle(PathBuf),
    SslCertEnv,
    SystemFile(PathBuf),
    SystemDirs,
    None,
}

/// What decides the roots: the environment and the profile's `ca_bundle`.
#[derive(Debug, Clone, Default)]
pub struct RootsConfig {
    pub aws_ca_bundle: Option<PathBuf>,
    pub profile_ca_bundle: Option<PathBuf>,
    pub ssl_cert_file: Option<PathBuf>,
    pub ssl_cert_dir: Option<std::ffi::OsString>,
}

/// Trust anchors found, as DER, deduplicated.
#[derive(Debug, Default)]
pub struct Roots {
    pub certs: Vec<CertificateDer<'static>>,
    seen: HashSet<Vec<u8>>,
    pub source: Option<Source>,
}

impl Roots {
    fn add_pem_bytes(&mut self, bytes: &[u8]) {
        for der in CertificateDer::pem_slice_iter(bytes).flatten() {
            let mut probe = rustls::RootCertStore::empty();
            if probe.add(der.clone()).is_ok() && self.seen.insert(der.as_ref().to_vec()) {
                self.certs.push(der);
            }
        }
    }

    fn add_file(&mut self, path: &Path) -> bool {
        match read_limited(path) {
            Some(bytes) => {
                self.add_pem_bytes(&bytes);
                true
            }
            None => false,
        }
    }

    fn add_dir(&mut self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.is_file() {
                self.add_file(&p);
            }
        }
    }

    /// One PEM blob of every root, for the SDK's trust store.
    pub fn to_pem(&self) -> Vec<u8> {
        use base64::Engine as _;
        let mut out = Vec::new();
        for der in &self.certs {
            let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
            out.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
            for chunk in b64.as_bytes().chunks(64) {
                out.extend_from_slice(chunk);
                out.push(b'\n');
            }
            out.extend_from_slice(b"-----END CERTIFICATE-----\n");
        }
        out
    }
}

/// A file of at most 16 MiB (a full Mozilla bundle is about 220 KiB).
fn read_limited(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(16 << 20).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// Loads the roots in SPEC order. An empty result means no TLS is possible.
pub fn load(cfg: &RootsConfig) -> Roots {
    let mut roots = Roots::default();
    if let Some(p) = &cfg.aws_ca_bundle {
        roots.add_file(p);
        roots.source = Some(Source::AwsCaBundle(p.clone()));
        return roots;
    }
    if let Some(p) = &cfg.profile_ca_bundle {
        roots.add_file(p);
        roots.source = Some(Source::ProfileCaBundle(p.clone()));
        return roots;
    }
    if cfg.ssl_cert_file.is_some() || cfg.ssl_cert_dir.is_some() {
        if let Some(f) = &cfg.ssl_cert_file {
            roots.add_file(f);
        }
        if let Some(dirs) = &cfg.ssl_cert_dir {
            for d in std::env::split_paths(dirs) {
                if !d.as_os_str().is_empty() {
                    roots.add_dir(&d);
                }
            }
        }
        roots.source = Some(Source::SslCertEnv);
        return roots;
    }
    for f in BUNDLE_FILES {
        if roots.add_file(Path::new(f)) {
            roots.source = Some(Source::SystemFile(PathBuf::from(f)));
            if !roots.certs.is_empty() {
                return roots;
            }
        }
    }
    for d in CERT_DIRS {
        roots.add_dir(Path::new(d));
    }
    roots.source = Some(if roots.certs.is_empty() {
        Source::None
    } else {
        Source::SystemDirs
    });
    roots
}

/// A short description of where roots were looked for, for the log.
pub fn describe(source: &Option<Source>) -> String {
    match source {
        Some(Source::AwsCaBundle(p)) => format!("AWS_CA_BUNDLE={}", p.display()),
        Some(Source::ProfileCaBundle(p)) => format!("profile ca_bundle={}", p.display()),
        Some(Source::SslCertEnv) => "SSL_CERT_FILE/SSL_CERT_DIR".to_owned(),
        Some(Source::SystemFile(p)) => p.display().to_string(),
        Some(Source::SystemDirs) => CERT_DIRS.join(":"),
        Some(Source::None) | None => format!(
            "none of {} or {}",
            BUNDLE_FILES.join(", "),
            CERT_DIRS.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed CA certificate (test only, generated with openssl, EC P-256).
    pub const TEST_CA: &str = include_str!("../tests/data/test-ca.pem");

    #[test]
    fn aws_ca_bundle_replaces_everything() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, TEST_CA).unwrap();
        let roots = load(&RootsConfig {
            aws_ca_bundle: Some(ca.clone()),
            ssl_cert_file: Some(PathBuf::from("/nonexistent")),
            ..Default::default()
        });
        assert_eq!(roots.certs.len(), 1);
        assert_eq!(roots.source, Some(Source::AwsCaBundle(ca)));
        let pem = roots.to_pem();
        assert_eq!(CertificateDer::pem_slice_iter(&pem).count(), 1);
    }

    #[test]
    fn garbage_and_duplicates_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bundle.pem");
        let junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        std::fs::write(&f, format!("{TEST_CA}{junk}not pem at all\n{TEST_CA}")).unwrap();
        let roots = load(&RootsConfig {
            ssl_cert_file: Some(f),
            ..Default::default()
        });
        assert_eq!(roots.certs.len(), 1);
    }

    #[test]
    fn ssl_cert_dir_only_those() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.pem"), TEST_CA).unwrap();
        let mut both = dir.path().as_os_str().to_owned();
        both.push(":/nonexistent-dir");
        let roots = load(&RootsConfig {
            ssl_cert_dir: Some(both),
            ..Default::default()
        });
        assert_eq!(roots.certs.len(), 1);
        assert_eq!(roots.source, Some(Source::SslCertEnv));
        let empty = load(&RootsConfig {
            ssl_cert_file: Some(PathBuf::from("/nonexistent")),
            ..Default::default()
        });
        assert!(empty.certs.is_empty());
    }
}
