//! IMDSv1 fallback for instance credentials (SPEC §5: "IMDSv2 with v1 fallback").
//!
//! aws-config's IMDS client speaks IMDSv2 only: when the token request is refused (403, 404,
//! 405: IMDSv1-only proxies, some on-premises emulators, old setups), instance credentials fail.
//! Go's SDK then retries without a token. `factory::credentials` does the same when the default
//! chain failed, and only when the IMDS endpoint answered the token request with one of those
//! codes.
//! It is skipped when IMDS is disabled or v1 is disabled (`AWS_EC2_METADATA_V1_DISABLED`).

use crate::secret::Secret;
use aws_credential_types::Credentials;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Per-request bound (the SDK's IMDS client uses 1 s as well).
const IMDS_TIMEOUT: Duration = Duration::from_secs(1);
/// Largest IMDS answer read.
const MAX_BODY: u64 = 64 << 10;

/// Where IMDS lives: `host:port` and the Host header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub authority: String,
}

/// The IMDS endpoint from the environment and profile, or `None` when IMDS (or v1) is disabled.
pub fn endpoint(profile: &crate::aws::profile::Properties) -> Option<Endpoint> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let is_true = |v: Option<String>| v.is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if is_true(env("AWS_EC2_METADATA_DISABLED"))
        || is_true(env("AWS_EC2_METADATA_V1_DISABLED"))
        || is_true(profile.get("ec2_metadata_v1_disabled").cloned())
    {
        return None;
    }
    let url = env("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .or_else(|| profile.get("ec2_metadata_service_endpoint").cloned());
    let authority = match url {
        Some(url) => {
            let rest = url.strip_prefix("http://")?; // IMDS is plain HTTP
            let host = rest.split('/').next().unwrap_or_default();
            if host.is_empty() {
                return None;
            }
            if host
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.bytes().all(|c| c.is_ascii_digit()))
                && !host.ends_with(']')
            {
                host.to_owned()
            } else {
                format!("{host}:80")
            }
        }
        None => {
            let mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
                .or_else(|| profile.get("ec2_metadata_service_endpoint_mode").cloned());
            if mode.is_some_and(|m| m.eq_ignore_ascii_case("ipv6")) {
                "[fd00:ec2::254]:80".to_owned()
            } else {
                "169.254.169.254:80".to_owned()
            }
        }
    };
    Some(Endpoint { authority })
}

/// One HTTP/1.0 exchange: (status, body).
async fn request(ep: &Endpoint, method: &str, path: &str, extra: &str) -> Option<(u16, Vec<u8>)> {
    let exchange = async {
        let mut stream = TcpStream::connect(ep.authority.as_str()).await.ok()?;
        let host = &ep.authority;
        let req =
            format!("{method} {path} HTTP/1.0\r\nHost: {host}\r\n{extra}Content-Length: 0\r\n\r\n");
        stream.write_all(req.as_bytes()).await.ok()?;
        let mut buf = Vec::new();
        stream.take(MAX_BODY).read_to_end(&mut buf).await.ok()?;
        let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        let status_line = std::str::from_utf8(&buf[..head_end]).ok()?.lines().next()?;
        let status: u16 = status_line.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, buf[head_end + 4..].to_vec()))
    };
    tokio::time::timeout(IMDS_TIMEOUT, exchange)
        .await
        .ok()
        .flatten()
}

/// The instance credentials document; the secret key and session token stay in [`Secret`]s.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImdsCredentials {
    code: Option<String>,
    access_key_id: String,
    #[serde(deserialize_with = "secret")]
    secret_access_key: Secret<String>,
    #[serde(default, deserialize_with = "secret")]
    token: Secret<Option<String>>,
}

/// Deserializes a value straight into a [`Secret`].
fn secret<'de, D, T>(d: D) -> Result<Secret<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Secret::new)
}

/// Instance credentials over IMDSv1, if and only if IMDS refuses IMDSv2 tokens.
pub async fn v1_credentials(ep: &Endpoint) -> Option<Credentials> {
    let ttl = "x-aws-ec2-metadata-token-ttl-seconds: 21600\r\n";
    let (status, _) = request(ep, "PUT", "/latest/api/token", ttl).await?;
    if !(403..=405).contains(&status) {
        return None;
    }
    const BASE: &str = "/latest/meta-data/iam/security-credentials/";
    let (status, body) = request(ep, "GET", BASE, "").await?;
    if status != 200 {
        return None;
    }
    let role = String::from_utf8(body)
        .ok()?
        .lines()
        .next()?
        .trim()
        .to_owned();
    if role.is_empty() || role.contains(['/', '?', '#', ' ']) {
        return None;
    }
    let (status, body) = request(ep, "GET", &format!("{BASE}{role}"), "").await?;
    if status != 200 {
        return None;
    }
    let creds: ImdsCredentials = serde_json::from_slice(&body).ok()?;
    if creds.code.as_deref().is_some_and(|c| c != "Success") {
        return None;
    }
    crate::log::info(
        "Using instance credentials over IMDSv1 (IMDS refused a v2 token)",
        &[],
    );
    Some(Credentials::new(
        creds.access_key_id,
        creds.secret_access_key.expose().clone(),
        creds.token.expose().clone(),
        Some(SystemTime::now() + Duration::from_secs(900)),
        "Imdsv1",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_selection() {
        let mut p = crate::aws::profile::Properties::new();
        // env is read by the function; these tests only use the profile paths
        if std::env::var_os("AWS_EC2_METADATA_SERVICE_ENDPOINT").is_some()
            || std::env::var_os("AWS_EC2_METADATA_DISABLED").is_some()
        {
            return;
        }
        assert_eq!(endpoint(&p).unwrap().authority, "169.254.169.254:80");
        p.insert("ec2_metadata_service_endpoint_mode".into(), "IPv6".into());
        assert_eq!(endpoint(&p).unwrap().authority, "[fd00:ec2::254]:80");
        p.insert(
            "ec2_metadata_service_endpoint".into(),
            "http://127.0.0.9:8080/".into(),
        );
        assert_eq!(endpoint(&p).unwrap().authority, "127.0.0.9:8080");
        p.insert(
            "ec2_metadata_service_endpoint".into(),
            "http://[::1]/".into(),
        );
        assert_eq!(endpoint(&p).unwrap().authority, "[::1]:80");
        p.insert("ec2_metadata_v1_disabled".into(), "true".into());
        assert_eq!(endpoint(&p), None);
    }

    #[test]
    fn credentials_document_keeps_its_secrets() {
        let doc = br#"{"Code":"Success","AccessKeyId":"AKID","SecretAccessKey":"hunter2","Token":"tok3n"}"#;
        let creds: ImdsCredentials = serde_json::from_slice(doc).unwrap();
        let shown = format!("{creds:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("tok3n"),
            "{shown}"
        );
        assert_eq!(creds.secret_access_key.expose(), "hunter2");
        assert_eq!(creds.token.expose().as_deref(), Some("tok3n"));
        let doc = br#"{"AccessKeyId":"AKID","SecretAccessKey":"s"}"#;
        let creds: ImdsCredentials = serde_json::from_slice(doc).unwrap();
        assert_eq!((creds.code, creds.token.expose()), (None, &None));
    }
}
