//! A small reader for the AWS shared `config` and `credentials` files.
//!
//! The SDK has its own parser; this one exists so the cache fast path (SPEC §6, D8) can tell,
//! without starting the SDK, whether the selected profile is a plain static-key profile, and to
//! find the profile's `region` (for `list`) and `ca_bundle` (for TLS).

use crate::secret::Secret;
use std::collections::BTreeMap;
use std::path::Path;

/// The properties of one profile, keys lower-cased.
pub type Properties = BTreeMap<String, String>;

/// Largest shared config or credentials file read (a real one is a few KiB).
const MAX_FILE_BYTES: u64 = 4 << 20;

/// The shared `config` and `credentials` files, read once per invocation, bounded and without
/// blocking. The SDK is handed these contents instead of the paths, so it never opens them
/// itself (it would read a FIFO or `/dev/zero` whole and blocking).
#[derive(Debug, Clone, Default)]
pub struct SharedFiles {
    /// The config file's text; empty when missing or unreadable (as the SDK treats it).
    pub config: Secret<String>,
    /// The credentials file's text; empty when missing or unreadable.
    pub credentials: Secret<String>,
    /// Why a file was refused (a FIFO, a directory, an endless device); the SDK must not run.
    pub refused: Option<String>,
}

impl SharedFiles {
    /// Reads both files. A missing or unreadable file counts as empty; `/dev/null` is empty.
    pub fn read(config_file: &Path, credentials_file: &Path) -> SharedFiles {
        let mut refused = None;
        let mut text = |path: &Path| match crate::fsutil::read_regular(path, MAX_FILE_BYTES) {
            Ok(buf) => String::from_utf8_lossy(&buf).into_owned(),
            Err(e) => {
                if crate::fsutil::is_refused(&e) && refused.is_none() {
                    refused = Some(format!("{}: {e}", path.display()));
                }
                String::new()
            }
        };
        let config = Secret::new(text(config_file));
        let credentials = Secret::new(text(credentials_file));
        SharedFiles {
            config,
            credentials,
            refused,
        }
    }

    /// A profile's properties from the config file and then the credentials file, the latter
    /// winning on conflicts (as the SDKs merge them).
    pub fn properties(&self, profile: &str) -> Properties {
        let mut props = Properties::new();
        merge_section(&mut props, self.config.expose(), profile, true);
        merge_section(&mut props, self.credentials.expose(), profile, false);
        props
    }
}

#[cfg(test)]
fn load(config_file: &Path, credentials_file: &Path, profile: &str) -> Properties {
    SharedFiles::read(config_file, credentials_file).properties(profile)
}

/// Whether a section header names `profile`. In the config file a non-default profile is
/// `[profile NAME]`; `[default]` and `[profile default]` both name the default profile. In the
/// credentials file the header is the bare name.
fn header_matches(header: &str, profile: &str, is_config: bool) -> bool {
    let header = header.trim();
    if is_config {
        if let Some(rest) = header.strip_prefix("profile") {
            if rest.starts_with([' ', '\t']) {
                return rest.trim() == profile;
            }
        }
        header == "default" && profile == "default"
    } else {
        header == profile
    }
}

fn merge_section(props: &mut Properties, text: &str, profile: &str, is_config: bool) {
    let mut inside = false;
    for (_, token) in tokens(text) {
        match token {
            Token::Header(header) => {
                inside = header.is_some_and(|h| header_matches(h, profile, is_config));
            }
            // Continuation lines (sub-properties such as `s3 =\n  x = y`) are not needed here.
            Token::Property(key, value) if inside && !key.is_empty() => {
                props.insert(key.to_ascii_lowercase(), value.to_owned());
            }
            _ => {}
        }
    }
}

/// One meaningful line of an INI-style file, read as the shared files are (also the reader
/// of the registries configuration, `crate::helper::routes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// `[...]`: the text between the brackets, untrimmed; `None` for a `[` without `]`.
    Header(Option<&'a str>),
    /// `key = value` at the start of a line: the key trimmed (case kept), the value trimmed and
    /// cut at an inline ` #` or ` ;` comment.
    Property(&'a str, &'a str),
    /// An indented line that is no header (a sub-property).
    Continuation(&'a str),
    /// A line with no `=`, at the start of a line.
    Other(&'a str),
}

/// The tokens of `text` with their 1-based line numbers; blank and comment (`#`, `;`) lines
/// are skipped.
pub fn tokens(text: &str) -> impl Iterator<Item = (usize, Token<'_>)> {
    text.lines().enumerate().filter_map(|(i, raw)| {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            return None;
        }
        let token = if let Some(header) = trimmed.strip_prefix('[') {
            Token::Header(header.split_once(']').map(|(h, _)| h))
        } else if line.starts_with([' ', '\t']) {
            Token::Continuation(trimmed)
        } else if let Some((key, value)) = trimmed.split_once('=') {
            Token::Property(key.trim(), strip_inline_comment(value.trim()))
        } else {
            Token::Other(trimmed)
        };
        Some((i + 1, token))
    })
}

/// ` #...` and ` ;...` end a value.
fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for i in 1..bytes.len() {
        if (bytes[i] == b'#' || bytes[i] == b';') && bytes[i - 1].is_ascii_whitespace() {
            return value[..i].trim_end();
        }
    }
    value
}

/// Keys that make a profile resolve credentials through something other than its own static
/// keys; such a profile must go through the SDK.
const NON_STATIC_KEYS: [&str; 6] = [
    "role_arn",
    "source_profile",
    "credential_source",
    "credential_process",
    "web_identity_token_file",
    "login_session",
];

/// Whether the profile configures credentials of any kind (the SDK chain stops there).
pub fn has_credentials(props: &Properties) -> bool {
    props.contains_key("aws_access_key_id")
        || NON_STATIC_KEYS.iter().any(|k| props.contains_key(*k))
        || props.keys().any(|k| k.starts_with("sso_"))
}

/// The access key ID of a profile that holds static keys and nothing that would take precedence
/// over them.
pub fn static_access_key(props: &Properties) -> Option<&str> {
    if NON_STATIC_KEYS.iter().any(|k| props.contains_key(*k))
        || props.keys().any(|k| k.starts_with("sso_"))
    {
        return None;
    }
    let akid = props.get("aws_access_key_id").filter(|v| !v.is_empty())?;
    props
        .get("aws_secret_access_key")
        .filter(|v| !v.is_empty())?;
    Some(akid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str, profile: &str, is_config: bool) -> Properties {
        let mut p = Properties::new();
        merge_section(&mut p, text, profile, is_config);
        p
    }

    #[test]
    fn config_and_credentials_headers() {
        let cfg = "[default]\nregion = eu-west-1\n[profile dev]\nregion=us-west-2 # comment\n[dev]\nregion=wrong\n";
        assert_eq!(section(cfg, "default", true)["region"], "eu-west-1");
        assert_eq!(section(cfg, "dev", true)["region"], "us-west-2");
        let creds =
            "# c\n[dev]\naws_access_key_id = AKIDDEV\n  nested = x\naws_secret_access_key=s;x\n";
        let p = section(creds, "dev", false);
        assert_eq!(p["aws_access_key_id"], "AKIDDEV");
        assert_eq!(p["aws_secret_access_key"], "s;x");
        assert!(!p.contains_key("nested"));
    }

    #[test]
    fn tokens_with_line_numbers() {
        let text = "# c\n[a b]\nk = v ;x\n  sub = 1\n\nnoeq\n[broken\n=x\n";
        let got: Vec<_> = tokens(text).collect();
        assert_eq!(
            got,
            [
                (2, Token::Header(Some("a b"))),
                (3, Token::Property("k", "v")),
                (4, Token::Continuation("sub = 1")),
                (6, Token::Other("noeq")),
                (7, Token::Header(None)),
                (8, Token::Property("", "x")),
            ]
        );
    }

    #[test]
    fn static_keys_only_without_role_or_sso() {
        let mut p = Properties::new();
        p.insert("aws_access_key_id".into(), "AKID".into());
        assert_eq!(static_access_key(&p), None);
        p.insert("aws_secret_access_key".into(), "s".into());
        assert_eq!(static_access_key(&p), Some("AKID"));
        p.insert("sso_start_url".into(), "https://x".into());
        assert_eq!(static_access_key(&p), None);
        p.remove("sso_start_url");
        p.insert("role_arn".into(), "arn".into());
        assert_eq!(static_access_key(&p), None);
    }

    #[test]
    fn credentials_file_wins() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config");
        let creds = dir.path().join("credentials");
        std::fs::write(
            &cfg,
            "[default]\naws_access_key_id=FROMCONFIG\nregion=us-east-2\n",
        )
        .unwrap();
        std::fs::write(&creds, "[default]\naws_access_key_id=FROMCREDS\n").unwrap();
        let p = load(&cfg, &creds, "default");
        assert_eq!(p["aws_access_key_id"], "FROMCREDS");
        assert_eq!(p["region"], "us-east-2");
        assert!(load(&dir.path().join("nope"), &creds, "other").is_empty());
    }

    #[test]
    fn dev_null_is_empty_and_a_fifo_is_refused() {
        let null = Path::new("/dev/null");
        let files = SharedFiles::read(null, null);
        assert!(files.refused.is_none());
        assert!(files.config.expose().is_empty() && files.credentials.expose().is_empty());
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let files = SharedFiles::read(null, &fifo);
        assert!(files.refused.as_deref().unwrap().contains("fifo"));
        let missing = SharedFiles::read(&dir.path().join("nope"), null);
        assert!(missing.refused.is_none());
    }
}
