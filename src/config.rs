//! Every environment variable the helper reads, read once, typed (SPEC §10).

use crate::log::Level;
use crate::secret::Secret;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The default total time bound for one invocation (D5).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Static keys from the environment (including Go's `AWS_ACCESS_KEY`/`AWS_SECRET_KEY` aliases).
#[derive(Debug, Clone)]
pub struct EnvKeys {
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    pub session_token: Option<Secret<String>>,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `$HOME`, else the passwd entry's home; `None` when neither exists.
    pub home: Option<PathBuf>,
    /// Where `cache.json` and `log/` live; `None` turns both off.
    pub cache_dir: Option<PathBuf>,
    /// `AWS_ECR_DISABLE_CACHE` is non-empty.
    pub cache_disabled: bool,
    /// `AWS_ECR_IGNORE_CREDS_STORAGE` is exactly `true`.
    pub ignore_creds_storage: bool,
    pub log_level: Level,
    /// `AWS_ECR_TIMEOUT`.
    pub timeout: Duration,
    /// `AWS_PROFILE`, else `AWS_DEFAULT_PROFILE`, else `default`.
    pub profile: String,
    /// Whether the profile was named by the environment (the SDK is then told its name).
    pub profile_from_env: bool,
    pub config_file: PathBuf,
    pub credentials_file: PathBuf,
    pub env_keys: Option<EnvKeys>,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION` (used by `list` only).
    pub env_region: Option<String>,
    /// Web identity or container credentials are configured in the environment.
    pub env_federated: bool,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` when `AWS_ROLE_ARN` is set too (the SDK then reads it).
    pub web_identity_token_file: Option<PathBuf>,
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` when container credentials are configured.
    pub container_token_file: Option<PathBuf>,
    /// `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE`, raw: validated where the retry policy is built
    /// (aws-config panics on invalid values, so it never sees them).
    pub max_attempts: Option<String>,
    pub retry_mode: Option<String>,
    pub aws_ca_bundle: Option<PathBuf>,
    pub ssl_cert_file: Option<PathBuf>,
    pub ssl_cert_dir: Option<OsString>,
    /// The registries configuration (issue 16): `AWS_ECR_CONFIG_FILE` (`~` expanded), else
    /// `~/.ecr/config`; `None` without a home to put it in.
    pub ecr_config_file: Option<PathBuf>,
    /// Whether `AWS_ECR_CONFIG_FILE` named it (a missing file is then an error).
    pub ecr_config_from_env: bool,
    /// `AWS_PROFILE_<account>` and `AWS_ROLE_ARN_<account>` (a 12-digit account), name and
    /// value, in name order.
    pub account_vars: Vec<(String, String)>,
}

/// The variables the helper reads, taken from the environment in one pass (each
/// `std::env::var` would scan the whole environment again).
struct Vars(std::collections::BTreeMap<OsString, OsString>);

impl Vars {
    fn capture(vars: impl Iterator<Item = (OsString, OsString)>) -> Vars {
        use std::os::unix::ffi::OsStrExt;
        Vars(
            vars.filter(|(k, v)| {
                let k = k.as_bytes();
                !v.is_empty()
                    && (k.starts_with(b"AWS_") || k == b"HOME" || k.starts_with(b"SSL_CERT_"))
            })
            .collect(),
        )
    }

    /// A non-empty variable as UTF-8 (`None` if unset, empty or not UTF-8).
    fn var(&self, name: &str) -> Option<String> {
        self.0
            .get(std::ffi::OsStr::new(name))?
            .to_str()
            .map(str::to_owned)
    }

    /// A non-empty variable.
    fn var_os(&self, name: &str) -> Option<OsString> {
        self.0.get(std::ffi::OsStr::new(name)).cloned()
    }

    /// Whether a variable is set and non-empty.
    fn is_set(&self, name: &str) -> bool {
        self.0.contains_key(std::ffi::OsStr::new(name))
    }

    /// `AWS_ECR_CACHE_DIR` (`~` expanded), else `~/.ecr`; `None` without a home to put it in.
    fn cache_dir(&self, home: Option<&Path>) -> Option<PathBuf> {
        match self.var_os("AWS_ECR_CACHE_DIR") {
            Some(dir) => expand_tilde(Path::new(&dir), home),
            None => home.map(|h| h.join(".ecr")),
        }
    }

    /// A shared file: the variable `name` (`~` expanded), else `~/.aws/<default>`, else
    /// `<default>` relative to the working directory.
    fn aws_file(&self, name: &str, default: &str, home: Option<&Path>) -> PathBuf {
        self.var_os(name)
            .and_then(|p| expand_tilde(Path::new(&p), home))
            .unwrap_or_else(|| {
                home.map_or_else(|| PathBuf::from(default), |h| h.join(".aws").join(default))
            })
    }

    /// Static keys (with Go's `AWS_ACCESS_KEY`/`AWS_SECRET_KEY` aliases), when both are set.
    fn env_keys(&self) -> Option<EnvKeys> {
        let access_key = self
            .var("AWS_ACCESS_KEY_ID")
            .or_else(|| self.var("AWS_ACCESS_KEY"));
        let secret_key = self
            .var("AWS_SECRET_ACCESS_KEY")
            .or_else(|| self.var("AWS_SECRET_KEY"));
        Some(EnvKeys {
            access_key_id: access_key?,
            secret_access_key: Secret::new(secret_key?),
            session_token: self.var("AWS_SESSION_TOKEN").map(Secret::new),
        })
    }

    /// The variables `AWS_PROFILE_<12 digits>` and `AWS_ROLE_ARN_<12 digits>` (UTF-8 values).
    fn account_vars(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (k, v) in &self.0 {
            let (Some(k), Some(v)) = (k.to_str(), v.to_str()) else {
                continue;
            };
            let account = k
                .strip_prefix("AWS_PROFILE_")
                .or_else(|| k.strip_prefix("AWS_ROLE_ARN_"));
            if account.is_some_and(|a| a.len() == 12 && a.bytes().all(|c| c.is_ascii_digit())) {
                out.push((k.to_owned(), v.to_owned()));
            }
        }
        out
    }

    /// Whether container credentials are configured (relative or full URI).
    fn container_credentials(&self) -> bool {
        self.is_set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            || self.is_set("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    }
}

impl Config {
    /// This configuration with `profile` selected as `AWS_PROFILE` would select it (a rule of
    /// the registries configuration, D19).
    pub fn with_profile(&self, profile: &str) -> Config {
        Config {
            profile: profile.to_owned(),
            profile_from_env: true,
            ..self.clone()
        }
    }

    pub fn from_env() -> Config {
        Config::from_vars(std::env::vars_os())
    }

    fn from_vars(vars: impl Iterator<Item = (OsString, OsString)>) -> Config {
        let vars = Vars::capture(vars);
        let var = |name: &str| vars.var(name);
        let var_os = |name: &str| vars.var_os(name);
        let home = var_os("HOME").map(PathBuf::from).or_else(passwd_home);
        let profile_env = var("AWS_PROFILE").or_else(|| var("AWS_DEFAULT_PROFILE"));
        let ecr_config = var_os("AWS_ECR_CONFIG_FILE");
        Config {
            cache_disabled: vars.is_set("AWS_ECR_DISABLE_CACHE"),
            ignore_creds_storage: var_os("AWS_ECR_IGNORE_CREDS_STORAGE")
                .is_some_and(|v| v == "true"),
            log_level: var("AWS_ECR_LOG_LEVEL")
                .and_then(|v| Level::parse(&v))
                .unwrap_or(Level::Info),
            timeout: var("AWS_ECR_TIMEOUT")
                .and_then(|v| parse_timeout(&v))
                .unwrap_or(DEFAULT_TIMEOUT),
            profile_from_env: profile_env.is_some(),
            profile: profile_env.unwrap_or_else(|| "default".to_owned()),
            config_file: vars.aws_file("AWS_CONFIG_FILE", "config", home.as_deref()),
            credentials_file: vars.aws_file(
                "AWS_SHARED_CREDENTIALS_FILE",
                "credentials",
                home.as_deref(),
            ),
            env_keys: vars.env_keys(),
            env_region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            env_federated: vars.is_set("AWS_WEB_IDENTITY_TOKEN_FILE")
                || vars.container_credentials(),
            web_identity_token_file: var_os("AWS_WEB_IDENTITY_TOKEN_FILE")
                .filter(|_| vars.is_set("AWS_ROLE_ARN"))
                .map(PathBuf::from),
            container_token_file: var_os("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
                .filter(|_| vars.container_credentials())
                .map(PathBuf::from),
            max_attempts: var("AWS_MAX_ATTEMPTS"),
            retry_mode: var("AWS_RETRY_MODE"),
            aws_ca_bundle: var_os("AWS_CA_BUNDLE").map(PathBuf::from),
            ssl_cert_file: var_os("SSL_CERT_FILE").map(PathBuf::from),
            ssl_cert_dir: var_os("SSL_CERT_DIR"),
            cache_dir: vars.cache_dir(home.as_deref()),
            ecr_config_from_env: ecr_config.is_some(),
            ecr_config_file: match ecr_config {
                Some(path) => expand_tilde(Path::new(&path), home.as_deref()),
                None => home.as_ref().map(|h| h.join(".ecr/config")),
            },
            account_vars: vars.account_vars(),
            home,
        }
    }
}

/// A positive decimal number of seconds, at most a day.
pub fn parse_timeout(v: &str) -> Option<Duration> {
    let secs: f64 = v.trim().parse().ok()?;
    if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 {
        Some(Duration::from_secs_f64(secs))
    } else {
        None
    }
}

/// Expands a leading `~` or `~/`. `~user` (and `~` with no home) gives `None`.
pub fn expand_tilde(path: &Path, home: Option<&Path>) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    if bytes == b"~" {
        return home.map(Path::to_path_buf);
    }
    if let Some(rest) = bytes.strip_prefix(b"~/") {
        return home.map(|h| h.join(std::ffi::OsStr::from_bytes(rest)));
    }
    if bytes.starts_with(b"~") {
        return None;
    }
    Some(path.to_path_buf())
}

/// The passwd entry's home directory, asked only when `$HOME` is unset or empty: `dirs` reads
/// `$HOME` (then unset or empty too, so skipped) and then the entry (`getpwuid_r`; musl reads
/// /etc/passwd directly: no NSS, no subprocess, so this never stalls); an empty entry is none.
fn passwd_home() -> Option<PathBuf> {
    dirs::home_dir().filter(|h| !h.as_os_str().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration from exactly these variables.
    fn env(pairs: &[(&str, &str)]) -> Config {
        Config::from_vars(
            pairs
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v)))
                .collect::<Vec<_>>()
                .into_iter(),
        )
    }

    #[test]
    fn tilde_expansion() {
        let home = Path::new("/home/u");
        assert_eq!(expand_tilde(Path::new("~"), Some(home)), Some(home.into()));
        assert_eq!(
            expand_tilde(Path::new("~/x/y"), Some(home)),
            Some(PathBuf::from("/home/u/x/y"))
        );
        assert_eq!(expand_tilde(Path::new("~bob/x"), Some(home)), None);
        assert_eq!(expand_tilde(Path::new("~/x"), None), None);
        assert_eq!(expand_tilde(Path::new("rel/x"), None), Some("rel/x".into()));
        assert_eq!(expand_tilde(Path::new("/abs"), None), Some("/abs".into()));
    }

    #[test]
    fn reads_only_its_variables() {
        let c = env(&[
            ("HOME", "/home/u"),
            ("AWS_ACCESS_KEY", "AKIDALIAS"),
            ("AWS_SECRET_KEY", "s"),
            ("AWS_DEFAULT_PROFILE", "dev"),
            ("AWS_ECR_DISABLE_CACHE", "0"),
            ("AWS_ECR_IGNORE_CREDS_STORAGE", "true"),
            ("AWS_ECR_TIMEOUT", "2"),
            ("AWS_REGION", ""),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
        ]);
        assert_eq!(c.home, Some(PathBuf::from("/home/u")));
        assert_eq!(c.cache_dir, Some(PathBuf::from("/home/u/.ecr")));
        assert_eq!(c.env_keys.unwrap().access_key_id, "AKIDALIAS");
        assert_eq!((c.profile.as_str(), c.profile_from_env), ("dev", true));
        assert!(c.cache_disabled && c.ignore_creds_storage);
        assert_eq!(c.timeout, Duration::from_secs(2));
        assert_eq!(c.env_region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.config_file, PathBuf::from("/home/u/.aws/config"));
        let c = env(&[
            ("HOME", "/h"),
            ("AWS_ECR_CACHE_DIR", "~/c"),
            ("AWS_ECR_IGNORE_CREDS_STORAGE", "True"),
        ]);
        assert_eq!(c.cache_dir, Some(PathBuf::from("/h/c")));
        assert!(!c.ignore_creds_storage && !c.cache_disabled && c.env_keys.is_none());
        assert_eq!(c.profile, "default");
        assert_eq!(c.ecr_config_file, Some(PathBuf::from("/h/.ecr/config")));
        assert!(!c.ecr_config_from_env && c.account_vars.is_empty());
    }

    #[test]
    fn registries_configuration_and_account_shortcuts() {
        let c = env(&[
            ("HOME", "/h"),
            ("AWS_ECR_CONFIG_FILE", "~/ecr.ini"),
            (
                "AWS_ROLE_ARN_111122223333",
                "arn:aws:iam::111122223333:role/r",
            ),
            ("AWS_PROFILE_111122223333", "prod"),
            ("AWS_PROFILE_1234", "short"),
            ("AWS_PROFILE_11112222333x", "letter"),
        ]);
        assert_eq!(c.ecr_config_file, Some(PathBuf::from("/h/ecr.ini")));
        assert!(c.ecr_config_from_env);
        let names: Vec<&str> = c.account_vars.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            ["AWS_PROFILE_111122223333", "AWS_ROLE_ARN_111122223333"]
        );
    }

    #[test]
    fn token_files_only_when_the_sdk_reads_them() {
        let c = env(&[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/c"),
        ]);
        assert_eq!(
            (c.web_identity_token_file, c.container_token_file),
            (None, None)
        );
        let c = env(&[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ("AWS_ROLE_ARN", "arn:aws:iam::1:role/r"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/c"),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/"),
        ]);
        assert_eq!(c.web_identity_token_file, Some(PathBuf::from("/t")));
        assert_eq!(c.container_token_file, Some(PathBuf::from("/c")));
    }

    /// An empty `$HOME` counts as unset: the passwd entry's home is used (today's rule, which
    /// `dirs` must not change), and never an empty path.
    #[test]
    fn empty_home_falls_back_to_the_passwd_entry() {
        let c = env(&[("HOME", "")]);
        assert_eq!(c.home, passwd_home());
        assert_ne!(c.home, Some(PathBuf::new()));
        assert_eq!(c.cache_dir, c.home.as_ref().map(|h| h.join(".ecr")));
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("2.5"), Some(Duration::from_millis(2500)));
        assert_eq!(parse_timeout("0"), None);
        assert_eq!(parse_timeout("-1"), None);
        assert_eq!(parse_timeout("abc"), None);
        assert_eq!(parse_timeout("inf"), None);
        assert_eq!(parse_timeout("NaN"), None);
    }
}
