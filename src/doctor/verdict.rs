//! What one registry's network walk ([`Remote`]) means, check by check: credentials, endpoint,
//! TCP, CA bundle, TLS, the API call and the clock.

use super::remote::{authority, Remote};
use super::report::Check;
use std::time::SystemTime;

/// How far the local clock may be from the server's: SigV4 refuses requests 5 minutes off.
const MAX_SKEW_SECS: i64 = 300;

/// The CA roots `get` would use: where from, and how many usable certificates.
pub struct RootsSummary {
    pub source: String,
    pub count: usize,
}

/// Every check of one registry, in the order of the path.
pub fn checks(r: &Remote, identity: &str, roots: &RootsSummary) -> Vec<Check> {
    let no_creds = "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or attach a role";
    let creds = match (&r.config_err, &r.creds) {
        (Some(e), _) => Check::fail(
            "credentials",
            format!("{identity}: {e}"),
            "fix the AWS config files named in the error",
        ),
        (None, Some(Ok(akid))) => {
            Check::ok("credentials", format!("{identity}, resolved to key {akid}"))
        }
        (None, Some(Err(e))) => Check::fail("credentials", format!("{identity}: {e}"), no_creds),
        (None, None) => Check::skip("credentials", identity.to_owned()),
    };
    let mut out = vec![creds];
    let Some(uri) = r.seen.uri.as_deref() else {
        let why = r.api.as_ref().and_then(|a| a.as_ref().err()).cloned();
        out.push(match why {
            Some(e) if r.config_err.is_none() => Check::fail(
                "endpoint",
                e,
                "check AWS_ENDPOINT_URL*, the profile's endpoint_url and the region",
            ),
            _ => Check::skip("endpoint", "not reached".to_owned()),
        });
        return out;
    };
    let https = uri.starts_with("https://");
    out.push(Check::ok("endpoint", uri.trim_end_matches('/').to_owned()));
    let links = [tcp(r, uri), ca_bundle(https, roots), tls(r, https, roots)];
    let unreached = links
        .iter()
        .any(|c| c.status == super::report::Status::Fail);
    out.extend(links);
    out.push(api(r, unreached));
    out.push(clock(r));
    out
}

/// The call's error, if it failed.
fn error(r: &Remote) -> &str {
    r.api
        .as_ref()
        .and_then(|a| a.as_ref().err())
        .map_or("", String::as_str)
}

/// Whether the error is TLS's (then TCP worked).
fn is_tls(err: &str) -> bool {
    let lower = err.to_ascii_lowercase();
    ["certificate", "tls", "handshake"]
        .iter()
        .any(|w| lower.contains(w))
}

fn tcp(r: &Remote, uri: &str) -> Check {
    let at = authority(uri).unwrap_or_default();
    let err = error(r);
    let lower = err.to_ascii_lowercase();
    if lower.contains("no ca certificates") {
        return Check::skip("TCP", "not tried without CA certificates".to_owned());
    }
    if r.seen.status.is_some() || is_tls(err) {
        return Check::ok("TCP", format!("connected to {at}"));
    }
    if lower.contains("dns error") || lower.contains("connect") {
        let fix = "check DNS, the firewall and HTTPS_PROXY/NO_PROXY";
        return Check::fail("TCP", format!("{at}: {err}"), fix);
    }
    Check::skip("TCP", "not reached".to_owned())
}

fn ca_bundle(https: bool, roots: &RootsSummary) -> Check {
    let detail = format!("{} ({} certificates)", roots.source, roots.count);
    match (https, roots.count) {
        (false, _) => Check::skip("CA bundle", format!("not needed for http://; {detail}")),
        (true, 0) => Check::fail("CA bundle", detail, "install a CA bundle (the ca-certificates package), or set SSL_CERT_FILE or AWS_CA_BUNDLE"),
        (true, _) => Check::ok("CA bundle", detail),
    }
}

fn tls(r: &Remote, https: bool, roots: &RootsSummary) -> Check {
    if !https {
        return Check::skip("TLS", "not used (http:// endpoint)".to_owned());
    }
    if r.seen.status.is_some() {
        return Check::ok("TLS", format!("verified with {}", roots.source));
    }
    if roots.count == 0 {
        return Check::skip("TLS", "impossible without CA certificates".to_owned());
    }
    let err = r
        .api
        .as_ref()
        .and_then(|a| a.as_ref().err())
        .map_or("", String::as_str);
    let lower = err.to_ascii_lowercase();
    if ["certificate", "tls", "handshake", "ca cert"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return Check::fail("TLS", err.to_owned(), "the CA bundle must hold the endpoint's issuer (a TLS-intercepting proxy's CA too): set AWS_CA_BUNDLE or SSL_CERT_FILE");
    }
    Check::skip("TLS", "not reached".to_owned())
}

fn api(r: &Remote, unreached: bool) -> Check {
    const NAME: &str = "GetAuthorizationToken";
    let resolved = matches!(r.creds, Some(Ok(_)));
    let fix = if r.seen.status.is_some() {
        "the identity needs ecr:GetAuthorizationToken (ECR Public also sts:GetServiceBearerToken) for this account and region"
    } else {
        "no answer from the endpoint: raise AWS_ECR_TIMEOUT or check the network"
    };
    match &r.api {
        _ if unreached => Check::skip(NAME, "not reached".to_owned()),
        Some(Ok(detail)) if resolved => Check::ok(NAME, detail.clone()),
        Some(Err(e)) if resolved => Check::fail(NAME, e.clone(), fix),
        _ => Check::skip(NAME, "not tried without credentials".to_owned()),
    }
}

fn clock(r: &Remote) -> Check {
    let Some((date, at)) = &r.seen.date else {
        return Check::skip("clock", "no Date header in the answer".to_owned());
    };
    let server =
        aws_smithy_types::DateTime::from_str(date, aws_smithy_types::date_time::Format::HttpDate);
    let Ok(server) = server else {
        return Check::skip("clock", format!("unreadable Date header \"{date}\""));
    };
    let local = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let skew = local - server.secs();
    let detail = format!("{skew:+} s from the server's Date ({date})");
    if skew.abs() <= MAX_SKEW_SECS {
        Check::ok("clock", detail)
    } else {
        Check::fail("clock", detail, "synchronise the clock (chrony, systemd-timesyncd): AWS refuses requests signed more than 5 minutes off")
    }
}
