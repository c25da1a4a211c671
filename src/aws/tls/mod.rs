//! CA roots for any Linux image (SPEC §12, D12).
//!
//! Order: `AWS_CA_BUNDLE`, then the profile's `ca_bundle` (these replace everything); else
//! `SSL_CERT_FILE` and/or `SSL_CERT_DIR`, exactly those; else the first existing distribution
//! bundle file; only then the certificate directories. Roots are loaded only when a TLS
//! connection is about to be made, never on a cache hit or for `http://`.
//!
//! Loading decodes the PEM blocks and nothing more: a certificate is parsed only when a server's
//! chain names it as an issuer ([`verify`]), so a 150-certificate bundle costs a base64 decode
//! instead of 150 X.509 parses on every cold `get`.

pub mod verify;

use rustls_pki_types::CertificateDer;
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

/// Candidate trust anchors found, as DER (one well-formed DER `SEQUENCE` each, not yet parsed
/// as X.509), deduplicated.
#[derive(Debug, Default)]
pub struct Roots {
    pub certs: Vec<CertificateDer<'static>>,
    pub source: Option<Source>,
}

const PEM_BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const PEM_END: &[u8] = b"-----END CERTIFICATE-----";

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

impl Roots {
    /// Adds every `CERTIFICATE` block of a PEM file that decodes to one DER `SEQUENCE`. Public
    /// data, so a plain base64 decoder does (the constant-time one costs several milliseconds on
    /// a full bundle); anything else is skipped. X.509 parsing waits for [`verify`].
    fn add_pem_bytes(&mut self, bytes: &[u8]) {
        use base64::Engine as _;
        let mut rest = bytes;
        while let Some(begin) = find(rest, PEM_BEGIN) {
            let body_and_rest = &rest[begin + PEM_BEGIN.len()..];
            let Some(end) = find(body_and_rest, PEM_END) else {
                break;
            };
            // A block without its END line: start again at the next BEGIN, as Go's
            // `pem.Decode` does, so the certificate after it is not lost.
            if let Some(again) = find(&body_and_rest[..end], PEM_BEGIN) {
                rest = &body_and_rest[again..];
                continue;
            }
            let body = base64_text(&body_and_rest[..end]);
            rest = &body_and_rest[end + PEM_END.len()..];
            let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&body) else {
                continue;
            };
            if is_der_sequence(&der) {
                self.certs.push(CertificateDer::from(der));
            }
        }
    }

    /// Drops repeated certificates (bundles and directories often hold the same root twice);
    /// the order does not matter to path building.
    fn dedup(&mut self) {
        self.certs
            .sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
        self.certs.dedup();
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
}

/// The base64 text of a PEM block without its line breaks: whole lines copied at once (a
/// bundle is 200 KiB of 64-character lines), any other whitespace then dropped.
fn base64_text(block: &[u8]) -> Vec<u8> {
    let mut text = Vec::with_capacity(block.len());
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', block).chain(std::iter::once(block.len())) {
        text.extend_from_slice(block[start..nl].trim_ascii());
        start = nl + 1;
    }
    if text.iter().any(u8::is_ascii_whitespace) {
        text.retain(|c| !c.is_ascii_whitespace());
    }
    text
}

/// Whether `der` is exactly one DER `SEQUENCE` (tag, definite length, contents): the shape of
/// every certificate. Cheap, and it keeps base64 noise out of the candidates.
fn is_der_sequence(der: &[u8]) -> bool {
    let [0x30, first, rest @ ..] = der else {
        return false;
    };
    let (len, body) = match *first {
        n @ 0..=0x7f => (usize::from(n), rest),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            if rest.len() < n {
                return false;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        }
        _ => return false,
    };
    body.len() == len
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
        roots.certs.push(der.clone().into_owned());
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
    fn fast_pem_reader_agrees_with_rustls_on_the_system_bundle() {
        use rustls_pki_types::pem::PemObject;
        let Some(path) = BUNDLE_FILES.iter().map(Path::new).find(|p| p.is_file()) else {
            return;
        };
        let bytes = std::fs::read(path).unwrap();
        let mut ours = Roots::default();
        ours.add_pem_bytes(&bytes);
        ours.dedup();
        let mut theirs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .unwrap();
        theirs.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
        theirs.dedup();
        assert_eq!(ours.certs, theirs);
        // the verifier parses them when asked: webpki takes them as trust anchors
        let mut store = rustls::RootCertStore::empty();
        let (valid, _) = store.add_parsable_certificates(ours.certs.iter().cloned());
        assert!(valid > 0 && valid <= ours.certs.len());
    }

    #[test]
    fn a_block_without_end_does_not_swallow_the_next() {
        let mut roots = Roots::default();
        let text = format!("-----BEGIN CERTIFICATE-----\nAAAA\n{TEST_CA}");
        roots.add_pem_bytes(text.as_bytes());
        assert_eq!(roots.certs.len(), 1);
    }

    #[test]
    fn base64_text_drops_every_blank() {
        assert_eq!(base64_text(b"\nAB\r\n CD \n\tE F\n"), b"ABCDEF");
        assert_eq!(base64_text(b"ABCD"), b"ABCD");
        assert_eq!(base64_text(b""), b"");
    }

    #[test]
    fn der_sequence_shape() {
        assert!(is_der_sequence(&[0x30, 0x00]));
        assert!(is_der_sequence(&[0x30, 0x02, 1, 2]));
        assert!(!is_der_sequence(&[0x30, 0x03, 1, 2]));
        assert!(!is_der_sequence(&[0x00, 0x00, 0x00]));
        assert!(!is_der_sequence(&[0x30, 0x80, 0, 0]));
        let mut long = vec![0x30, 0x82, 0x01, 0x00];
        long.extend(std::iter::repeat_n(0u8, 256));
        assert!(is_der_sequence(&long));
        long.push(0);
        assert!(!is_der_sequence(&long));
        assert!(!is_der_sequence(&[0x30, 0x82, 0x01]));
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
