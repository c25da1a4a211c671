//! CA roots for any Linux image (SPEC §12, D12).
//!
//! Order: `AWS_CA_BUNDLE`, then the profile's `ca_bundle` (these replace everything); else
//! `SSL_CERT_FILE` and/or `SSL_CERT_DIR`, exactly those; else the first existing distribution
//! bundle file; only then the certificate directories. Roots are loaded only when a TLS
//! connection is about to be made, never on a cache hit or for `http://`.
//!
//! Every certificate is checked here, because the SDK's HTTP client panics on one it cannot
//! parse; only certificates usable as trust anchors are handed on.

use rustls_pki_types::CertificateDer;
use std::collections::BTreeSet;
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

/// Trust anchors found, as DER, deduplicated.
#[derive(Debug)]
pub struct Roots {
    pub certs: Vec<CertificateDer<'static>>,
    seen: BTreeSet<Vec<u8>>,
    store: rustls::RootCertStore,
    pub source: Option<Source>,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            certs: Vec::new(),
            seen: BTreeSet::new(),
            store: rustls::RootCertStore::empty(),
            source: None,
        }
    }
}

const PEM_BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const PEM_END: &[u8] = b"-----END CERTIFICATE-----";

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Roots {
    /// Adds every `CERTIFICATE` block of a PEM file that is usable as a trust anchor. Public
    /// data, so a plain base64 decoder does (the constant-time one costs several milliseconds on
    /// a full bundle); anything unparsable is skipped, never handed to the SDK.
    fn add_pem_bytes(&mut self, bytes: &[u8]) {
        use base64::Engine as _;
        let mut rest = bytes;
        while let Some(begin) = find(rest, PEM_BEGIN) {
            let body_and_rest = &rest[begin + PEM_BEGIN.len()..];
            let Some(end) = find(body_and_rest, PEM_END) else {
                break;
            };
            let body: Vec<u8> = body_and_rest[..end]
                .iter()
                .copied()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            rest = &body_and_rest[end + PEM_END.len()..];
            let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&body) else {
                continue;
            };
            if self.seen.contains(&der) {
                continue;
            }
            let der = CertificateDer::from(der);
            if self.store.add(der.clone()).is_ok() {
                self.seen.insert(der.as_ref().to_vec());
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
    crate::fsutil::read_regular(path, 16 << 20).ok()
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
        let der = der.clone().into_owned();
        if roots.store.add(der.clone()).is_ok() && roots.seen.insert(der.as_ref().to_vec()) {
            roots.certs.push(der);
        }
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
    pub const TEST_CA: &str = include_str!("../../tests/data/test-ca.pem");

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
        use rustls_pki_types::pem::PemObject;
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
    fn fast_pem_reader_agrees_with_rustls_on_the_system_bundle() {
        use rustls_pki_types::pem::PemObject;
        let Some(path) = BUNDLE_FILES.iter().map(Path::new).find(|p| p.is_file()) else {
            return;
        };
        let bytes = std::fs::read(path).unwrap();
        let mut ours = Roots::default();
        ours.add_pem_bytes(&bytes);
        let mut store = rustls::RootCertStore::empty();
        let (valid, _) =
            store.add_parsable_certificates(CertificateDer::pem_slice_iter(&bytes).flatten());
        assert_eq!(ours.certs.len(), valid);
        // what the SDK receives parses back to the same certificates
        let pem = ours.to_pem();
        let back: Vec<_> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, ours.certs);
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
