//! CA roots for any Linux image (SPEC §12, D12).
//!
//! Order: `AWS_CA_BUNDLE`, then the profile's `ca_bundle` (these replace everything); else
//! `SSL_CERT_FILE` and/or `SSL_CERT_DIR`, exactly those; else the first existing distribution
//! bundle file; only then the certificate directories. Roots are loaded only by a process that
//! makes AWS calls (`aws::http`), never on a cache hit.
//!
//! Loading finds the PEM blocks and decodes each only as far as its subject name ([`pem`]): a
//! certificate is decoded in full and parsed only when a server's chain names it as an issuer
//! ([`verify`]), so a 150-certificate bundle costs 150 short decodes instead of 150 X.509
//! parses on every cold `get`.

pub mod pem;
pub mod verify;

use pem::Candidate;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// Mozilla's roots built into the binary (`webpki-roots` feature).
    #[cfg_attr(not(feature = "webpki-roots"), allow(dead_code))]
    CompiledIn,
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

/// Candidate trust anchors found (known by subject, not yet parsed), deduplicated.
#[derive(Debug, Default)]
pub struct Roots {
    pub certs: Vec<Candidate>,
    pub source: Option<Source>,
}

impl Roots {
    /// Adds every certificate block of a PEM file ([`pem::candidates`]).
    fn add_pem_bytes(&mut self, bytes: Vec<u8>) {
        self.certs.extend(pem::candidates(Arc::from(bytes)));
    }

    /// Drops repeated certificates (bundles and directories often hold the same root twice);
    /// the order does not matter to path building.
    fn dedup(&mut self) {
        self.certs.sort_unstable_by(|a, b| a.bytes().cmp(b.bytes()));
        self.certs.dedup_by(|a, b| a.bytes() == b.bytes());
    }

    fn add_file(&mut self, path: &Path) -> bool {
        match read_limited(path) {
            Some(bytes) => {
                self.add_pem_bytes(bytes);
                true
            }
            None => false,
        }
    }

    fn add_dir(&mut self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        // A certificate directory holds a few hundred small PEM files; anything else (empty
        // procfs files, huge files, a directory of thousands) is not one.
        let mut paths: Vec<PathBuf> = entries.flatten().take(4096).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let usable = std::fs::metadata(&p)
                .is_ok_and(|m| m.is_file() && m.len() > 0 && m.len() <= 1 << 20);
            if usable {
                self.add_file(&p);
            }
        }
    }
}

/// A file of at most 16 MiB (a full Mozilla bundle is about 220 KiB).
fn read_limited(path: &Path) -> Option<Vec<u8>> {
    crate::fsutil::read_regular(path, 16 << 20).ok()
}

/// Loads the roots in SPEC order. An empty result means no TLS is possible.
pub fn load(cfg: &RootsConfig) -> Roots {
    let mut roots = load_in_order(cfg);
    roots.dedup();
    roots
}

fn load_in_order(cfg: &RootsConfig) -> Roots {
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
    #[cfg(feature = "webpki-roots")]
    if roots.certs.is_empty() {
        add_compiled_in(&mut roots);
    }
    roots
}

/// The Mozilla roots compiled in with the `webpki-roots` feature: the last resort.
#[cfg(feature = "webpki-roots")]
fn add_compiled_in(roots: &mut Roots) {
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        roots
            .certs
            .extend(Candidate::from_der(der.clone().into_owned()));
    }
    roots.source = Some(Source::CompiledIn);
}

/// A short description of where roots were looked for, for the log.
pub fn describe(source: &Option<Source>) -> String {
    match source {
        Some(Source::AwsCaBundle(p)) => format!("AWS_CA_BUNDLE={}", p.display()),
        Some(Source::ProfileCaBundle(p)) => format!("profile ca_bundle={}", p.display()),
        Some(Source::SslCertEnv) => "SSL_CERT_FILE/SSL_CERT_DIR".to_owned(),
        Some(Source::SystemFile(p)) => p.display().to_string(),
        Some(Source::SystemDirs) => CERT_DIRS.join(":"),
        Some(Source::CompiledIn) => "compiled-in Mozilla roots".to_owned(),
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
    pub const TEST_CA: &str = include_str!("../../../tests/data/test-ca.pem");

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
    fn a_block_without_end_does_not_swallow_the_next() {
        let mut roots = Roots::default();
        let text = format!("-----BEGIN CERTIFICATE-----\nAAAA\n{TEST_CA}");
        roots.add_pem_bytes(text.into_bytes());
        assert_eq!(roots.certs.len(), 1);
    }

    #[cfg(feature = "webpki-roots")]
    #[test]
    fn compiled_in_roots_are_the_last_resort() {
        let mut roots = Roots::default();
        add_compiled_in(&mut roots);
        assert!(roots.certs.len() > 100, "{}", roots.certs.len());
        assert_eq!(roots.source, Some(Source::CompiledIn));
        // explicit settings still replace everything, even with nothing usable in them
        let empty = load(&RootsConfig {
            ssl_cert_file: Some(PathBuf::from("/nonexistent")),
            ..Default::default()
        });
        assert!(empty.certs.is_empty());
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
