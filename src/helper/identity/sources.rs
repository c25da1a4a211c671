//! The leaves of the chain: web identity tokens (a file or [`TOKEN_ENV_VAR`]) and their JWT
//! `exp`, the SSO token cache's `expiresAt`, container credentials; and the `[sso-session NAME]`
//! sections of the config file, which [`crate::aws::profile`] does not read.

use super::{hex, hex_sha256, EnvSources, Identity, Undetermined};
use crate::aws::profile::Properties;
use crate::go::time::GoTime;
use base64::Engine;
use std::path::{Path, PathBuf};

/// Names the environment variable that holds the web identity token when `AWS_ROLE_ARN` is set
/// and `AWS_WEB_IDENTITY_TOKEN_FILE` is not, e.g. `AWS_ECR_WEB_IDENTITY_TOKEN_ENV=GITLAB_OIDC_TOKEN`
/// for a GitLab CI job with `id_tokens: GITLAB_OIDC_TOKEN: {aud: sts.amazonaws.com}`.
pub const TOKEN_ENV_VAR: &str = "AWS_ECR_WEB_IDENTITY_TOKEN_ENV";

/// Largest token file read (a JWT or a container token is a few KiB).
const MAX_TOKEN_BYTES: u64 = 1 << 20;
/// Largest SSO token cache file read.
const MAX_SSO_CACHE_BYTES: u64 = 1 << 20;
/// Where ECS serves `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
const ECS_ENDPOINT: &str = "http://169.254.170.2";

/// The SHA-256 (lower-case hex) of a token, surrounding whitespace ignored, so a token hashes
/// alike from a file (usually newline-terminated) and from a variable.
fn token_sha256(token: &[u8]) -> String {
    hex_sha256(token.trim_ascii())
}

/// Reads a token file, bounded and without blocking.
fn read_token(path: &Path) -> Result<Vec<u8>, Undetermined> {
    crate::fsutil::read_regular(path, MAX_TOKEN_BYTES)
        .map_err(|_| Undetermined::TokenFile(path.to_path_buf()))
}

/// The `exp` claim of a JWT, read without verifying it (only to bound caching). `None` when
/// the token is no JWT or has no numeric `exp`.
pub fn jwt_expiry(token: &[u8]) -> Option<GoTime> {
    let token = std::str::from_utf8(token.trim_ascii()).ok()?;
    let mut parts = token.split('.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    let exp = claims.get("exp")?;
    let secs = exp
        .as_i64()
        .or_else(|| exp.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))?;
    Some(GoTime::from_unix_secs(secs))
}

/// A web identity whose token is `token`.
pub(super) fn web_identity(
    role_arn: &str,
    session_name: Option<&String>,
    token: &[u8],
) -> Identity {
    Identity::WebIdentity {
        role_arn: role_arn.to_owned(),
        session_name: session_name.cloned(),
        token_sha256: token_sha256(token),
        expires: jwt_expiry(token),
    }
}

/// A web identity with its token in a file (a profile's or the environment's).
pub(super) fn web_identity_file(
    role_arn: &str,
    session_name: Option<&String>,
    path: &Path,
) -> Identity {
    match read_token(path) {
        Ok(token) => web_identity(role_arn, session_name, &token),
        Err(why) => Identity::Unknown(why),
    }
}

/// The environment's web identity: `AWS_ROLE_ARN` with `AWS_WEB_IDENTITY_TOKEN_FILE`, else with
/// the variable named by [`TOKEN_ENV_VAR`]. `None` when neither is configured.
pub(super) fn env_web_identity(env: &EnvSources) -> Option<Identity> {
    let role_arn = env.role_arn.as_ref()?;
    let session = env.role_session_name.as_ref();
    if let Some(path) = &env.web_identity_token_file {
        return Some(web_identity_file(role_arn, session, path));
    }
    env.token_var.as_ref()?;
    Some(match env.web_identity_token() {
        Some(token) => web_identity(role_arn, session, token.expose().as_bytes()),
        None => Identity::Unknown(Undetermined::TokenVarEmpty),
    })
}

/// Container credentials: the endpoint (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` on the ECS
/// address, else `AWS_CONTAINER_CREDENTIALS_FULL_URI`) and a hash of the authorization token
/// (`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, else `AWS_CONTAINER_AUTHORIZATION_TOKEN`), the
/// SDK's order. `None` when not configured.
pub(super) fn container(env: &EnvSources) -> Option<Identity> {
    let endpoint = match (&env.container_relative_uri, &env.container_full_uri) {
        (Some(relative), _) => format!("{ECS_ENDPOINT}{relative}"),
        (None, Some(full)) => full.clone(),
        (None, None) => return None,
    };
    let auth_sha256 = match (&env.container_token_file, &env.container_token) {
        (Some(path), _) => match read_token(path) {
            Ok(token) => Some(token_sha256(&token)),
            Err(why) => return Some(Identity::Unknown(why)),
        },
        (None, Some(token)) => Some(token_sha256(token.expose().as_bytes())),
        (None, None) => None,
    };
    Some(Identity::Container {
        endpoint,
        auth_sha256,
    })
}

/// A small file's first line, or `-`.
fn first_line(path: &str) -> String {
    crate::fsutil::read_regular(Path::new(path), 256)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "-".to_owned())
}

/// Where instance metadata is asked, as a digest (lower-case hex SHA-256 of length-prefixed
/// fields): the IMDS settings of the environment and of the selected `profile` (endpoint,
/// endpoint mode, v1 switch), and where the process runs: the kernel's boot id, the network
/// namespace and the host name, since instance metadata answers per host and an interceptor
/// such as kube2iam per pod. Holds no secret.
pub(super) fn imds_place(env: &EnvSources, profile: &Properties) -> String {
    let setting = |v: Option<&String>| v.map_or_else(|| "-".to_owned(), |v| format!("+{v}"));
    let netns = std::fs::read_link("/proc/self/ns/net")
        .map_or_else(|_| "-".to_owned(), |p| p.to_string_lossy().into_owned());
    let mut canon = String::new();
    let fields = env.imds_settings.iter().map(|v| setting(v.as_ref())).chain(
        [
            "ec2_metadata_service_endpoint",
            "ec2_metadata_service_endpoint_mode",
            "ec2_metadata_v1_disabled",
        ]
        .map(|k| setting(profile.get(k))),
    );
    for field in fields.chain([
        first_line("/proc/sys/kernel/random/boot_id"),
        netns,
        first_line("/proc/sys/kernel/hostname"),
    ]) {
        canon.push_str(&format!("{}:{field}", field.len()));
    }
    hex_sha256(canon.as_bytes())
}

/// Where aws-config caches the SSO token: `~/.aws/sso/cache/<sha1 hex of id>.json`, `id` being
/// the `sso_session` name, or the start URL for a legacy profile.
pub(super) fn sso_cache_path(home: &Path, id: &str) -> PathBuf {
    use sha1::{Digest, Sha1};
    let name = hex(&Sha1::digest(id.as_bytes()));
    home.join(".aws/sso/cache").join(name + ".json")
}

/// The cached SSO token's `expiresAt` (the key matched without regard to case, as aws-config
/// does); [`GoTime::ZERO`] when there is no home, no file, or no readable time: no session.
pub(super) fn sso_expiry(home: Option<&Path>, id: &str) -> GoTime {
    let Some(home) = home else {
        return GoTime::ZERO;
    };
    let Ok(bytes) = crate::fsutil::read_regular(&sso_cache_path(home, id), MAX_SSO_CACHE_BYTES)
    else {
        return GoTime::ZERO;
    };
    let Ok(serde_json::Value::Object(doc)) = serde_json::from_slice(&bytes) else {
        return GoTime::ZERO;
    };
    doc.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("expiresAt"))
        .and_then(|(_, v)| v.as_str())
        .and_then(GoTime::parse_rfc3339)
        .unwrap_or(GoTime::ZERO)
}

/// The properties of `[sso-session NAME]` in the config file's text (keys lower-cased,
/// ` #`/` ;` comments and indented sub-properties skipped, as [`crate::aws::profile`] reads
/// profiles; a repeated section merges, later keys winning).
pub(super) fn sso_session_section(config: &str, name: &str) -> Properties {
    let mut props = Properties::new();
    let mut inside = false;
    for line in config.lines().map(str::trim_end) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if let Some(header) = trimmed.strip_prefix('[') {
            inside = header
                .split_once(']')
                .and_then(|(h, _)| h.trim().strip_prefix("sso-session"))
                .is_some_and(|rest| rest.starts_with([' ', '\t']) && rest.trim() == name);
            continue;
        }
        if !inside || line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((key, value)) = trimmed.split_once('=') {
            let value = strip_inline_comment(value.trim());
            props.insert(key.trim().to_ascii_lowercase(), value.to_owned());
        }
    }
    props
}

/// ` #...` and ` ;...` end a value.
fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    (1..bytes.len())
        .find(|&i| matches!(bytes[i], b'#' | b';') && bytes[i - 1].is_ascii_whitespace())
        .map_or(value, |i| value[..i].trim_end())
}
