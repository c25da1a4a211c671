//! The network half of the walk for one registry, under the call's deadline: the SDK set up for
//! the registry's region as `get` does it, the credentials it resolves, and a real
//! `GetAuthorizationToken` watched by [`Watch`] (endpoint, status, `Date`). Without credentials
//! the call is still made, signed with a made-up key, so that the endpoint, TCP, TLS and the
//! clock are checked all the same. When no answer came, the SDK's error tells the network from
//! TLS.

use super::watch::{Seen, Watch};
use crate::aws::client::{self, Fetched, PUBLIC_REGION};
use crate::aws::factory;
use crate::aws::profile::SharedFiles;
use crate::config::Config;
use crate::helper::routes::Identity as RouteIdentity;
use crate::registry::Registry;
use aws_credential_types::Credentials;
use std::time::{Duration, Instant};

/// What the network said about one registry.
#[derive(Debug, Default)]
pub struct Remote {
    /// The SDK could not be set up (the reason).
    pub config_err: Option<String>,
    /// The resolved access key id, masked, or why none resolved.
    pub creds: Option<Result<String, String>>,
    pub seen: Seen,
    /// The call's result; `Ok` holds no token, only where it is for and until when.
    pub api: Option<Result<String, String>>,
}

fn timed_out() -> String {
    "timed out (AWS_ECR_TIMEOUT)".to_owned()
}

/// An SDK error on one line: newlines folded, the trailing `(Debug…)` dump dropped.
pub fn one_line(err: &str) -> String {
    let text = err.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut = text.match_indices(" (").map(|(i, _)| i).find(|&i| {
        text[i + 2..].starts_with(|c: char| c.is_ascii_uppercase()) && closes_at_end(&text[i + 1..])
    });
    cut.map_or(text.clone(), |i| text[..i].to_owned())
}

/// Whether the parenthesis that starts `s` closes at its very end.
fn closes_at_end(s: &str) -> bool {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1 == s.len();
                }
            }
            _ => {}
        }
    }
    false
}

/// The walk for `registry`, never past `deadline`.
pub async fn probe(
    cfg: &Config,
    registry: &Registry,
    rule: Option<&RouteIdentity>,
    deadline: Instant,
) -> Remote {
    let mut out = Remote::default();
    let routed = rule
        .and_then(|r| r.profile.as_deref())
        .map(|name| cfg.with_profile(name));
    let cfg = routed.as_ref().unwrap_or(cfg);
    let files = SharedFiles::read(&cfg.config_file, &cfg.credentials_file);
    let profile = files.properties(&cfg.profile);
    let region = registry.region().unwrap_or(PUBLIC_REGION);
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    let until = tokio::time::Instant::from_std(deadline);
    let sdk = factory::load_config(cfg, &files, &profile, region, left);
    let sdk = match tokio::time::timeout_at(until, sdk).await {
        Ok(Ok(sdk)) => sdk,
        Ok(Err(e)) => {
            out.config_err = Some(one_line(&e.to_string()));
            return out;
        }
        Err(_) => {
            out.config_err = Some(timed_out());
            return out;
        }
    };
    let role = rule.and_then(|r| r.role.as_ref());
    let creds = tokio::time::timeout_at(
        until,
        crate::aws::assume::chain_credentials(cfg, &profile, &sdk, role),
    )
    .await;
    let creds = creds.unwrap_or_else(|_| Err(client::EcrError::Credentials(timed_out())));
    out.creds = Some(match &creds {
        Ok(c) => Ok(super::local::mask(c.access_key_id())),
        Err(e) => Err(one_line(&e.to_string())),
    });
    let call_creds = creds.unwrap_or_else(|_| {
        Credentials::new("AKIDDOCTORPROBE", "doctor-probe", None, None, "doctor")
    });
    let watch = Watch::default();
    out.api = Some(
        match tokio::time::timeout_at(until, call(&sdk, call_creds, registry, &watch)).await {
            Ok(Ok(f)) => Ok(describe(&f)),
            Ok(Err(e)) => Err(one_line(&e.to_string())),
            Err(_) => Err(timed_out()),
        },
    );
    out.seen = watch.seen();
    out
}

/// The real `GetAuthorizationToken`, watched.
async fn call(
    sdk: &aws_types::sdk_config::SdkConfig,
    creds: Credentials,
    registry: &Registry,
    watch: &Watch,
) -> Result<Fetched, client::EcrError> {
    let observer = Some(watch.interceptor());
    match registry {
        Registry::Private { account, fips, .. } => {
            client::get_private_observed(sdk, creds, Some(account), *fips, observer).await
        }
        Registry::Public { host } => client::get_public_observed(sdk, creds, host, observer).await,
    }
}

/// Where a fetched token is for and until when (never the token).
fn describe(f: &Fetched) -> String {
    format!(
        "a token for {}, valid until {}",
        f.proxy_endpoint,
        f.expires_at.to_rfc3339()
    )
}

/// `host:port` of a URL, the port defaulted by the scheme.
pub fn authority(uri: &str) -> Option<String> {
    let (port, rest) = match uri.split_once("://")? {
        ("https", rest) => (443, rest),
        ("http", rest) => (80, rest),
        _ => return None,
    };
    let hostport = rest.split('/').next()?;
    let has_port = hostport
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
        && !hostport.ends_with(']');
    Some(if has_port {
        hostport.to_owned()
    } else {
        format!("{hostport}:{port}")
    })
}

#[cfg(test)]
mod tests;
