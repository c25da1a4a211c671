//! Kubelet credential provider mode (SPEC §11, a MAY): the same binary answers the kubelet's
//! `CredentialProviderRequest` when invoked as `ecr-credential-provider` (argv[0] basename, as
//! EKS installs it) or with the first argument `kubelet-credential-provider`. The registry is the
//! image up to its first `/`; then the usual host rules, cache and API apply.

use super::{read_capped, CredentialHelper, Outcome};
use crate::go::json;
use crate::go::time::GoTime;
use crate::log;
use std::ffi::OsString;
use std::io::Read;
use std::path::Path;

pub const ARGV0: &str = "ecr-credential-provider";
pub const FLAG: &str = "kubelet-credential-provider";

const API_VERSIONS: [&str; 3] = [
    "credentialprovider.kubelet.k8s.io/v1",
    "credentialprovider.kubelet.k8s.io/v1beta1",
    "credentialprovider.kubelet.k8s.io/v1alpha1",
];

#[derive(serde::Deserialize)]
struct Request {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    image: String,
}

/// Whether this invocation is the kubelet's.
pub fn selected(argv0: Option<&OsString>, args: &[OsString]) -> bool {
    argv0
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|name| name == ARGV0)
        || args.first().is_some_and(|a| a == FLAG)
}

fn fail(msg: &str) -> Outcome {
    log::error(msg, &[]);
    Outcome {
        stdout: Vec::new(),
        stderr: format!("{ARGV0}: {msg}\n").into_bytes(),
        code: 1,
    }
}

/// `cacheDuration`: half the remaining validity, in whole seconds (`0s` when unknown).
fn cache_duration(expires_at: GoTime, now: GoTime) -> String {
    let secs = if expires_at.is_zero() {
        0
    } else {
        expires_at
            .duration_since(now)
            .map_or(0, |d| d.as_secs() / 2)
    };
    format!("{secs}s")
}

/// Answers one request read from `stdin`.
pub fn run(stdin: impl Read, helper: &impl CredentialHelper) -> Outcome {
    let Ok(Some(buf)) = read_capped(stdin) else {
        return fail("cannot read the request on stdin (at most 1 MiB)");
    };
    let req: Request = match serde_json::from_slice(&buf) {
        Ok(r) => r,
        Err(e) => return fail(&format!("invalid CredentialProviderRequest: {e}")),
    };
    if req.kind != "CredentialProviderRequest" || !API_VERSIONS.contains(&req.api_version.as_str())
    {
        return fail(&format!(
            "unsupported request: apiVersion {:?}, kind {:?}",
            req.api_version, req.kind
        ));
    }
    let registry = req.image.split('/').next().unwrap_or_default();
    let Some(answer) = helper.get(registry) else {
        return fail(&format!(
            "no credentials for {} (see the log)",
            log::redact_url(registry)
        ));
    };
    let response = Response {
        api_version: &req.api_version,
        kind: "CredentialProviderResponse",
        cache_key_type: "Registry",
        cache_duration: cache_duration(answer.expires_at, GoTime::now()),
        auth: std::iter::once((
            registry,
            AuthConfig {
                username: &answer.creds.username,
                password: answer.creds.password.expose(),
            },
        ))
        .collect(),
    };
    Outcome::line(&json::to_string(&response), 0)
}

/// A `CredentialProviderResponse`, keys in the kubelet's case and this order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Response<'a> {
    api_version: &'a str,
    kind: &'a str,
    cache_key_type: &'a str,
    cache_duration: String,
    auth: std::collections::BTreeMap<&'a str, AuthConfig<'a>>,
}

#[derive(serde::Serialize)]
struct AuthConfig<'a> {
    username: &'a str,
    password: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection() {
        let a = |s: &str| OsString::from(s);
        assert!(selected(
            Some(&a("/usr/local/bin/ecr-credential-provider")),
            &[]
        ));
        assert!(selected(Some(&a("ecr-credential-provider")), &[a("get")]));
        assert!(selected(
            Some(&a("docker-credential-ecr-login")),
            &[a(FLAG)]
        ));
        assert!(!selected(
            Some(&a("docker-credential-ecr-login")),
            &[a("get")]
        ));
        assert!(!selected(None, &[]));
    }

    #[test]
    fn half_the_remaining_validity() {
        use std::time::Duration;
        let now = GoTime::from_unix_secs(1_000);
        assert_eq!(
            cache_duration(now + Duration::from_secs(12 * 3600), now),
            "21600s"
        );
        assert_eq!(cache_duration(now - Duration::from_secs(1), now), "0s");
        assert_eq!(cache_duration(GoTime::ZERO, now), "0s");
    }

    #[test]
    fn bad_requests_fail_with_exit_1() {
        let helper = crate::serve::tests::NeverHelper;
        for body in [
            &b""[..],
            b"{",
            b"[]",
            br#"{"apiVersion":"v2","kind":"CredentialProviderRequest","image":"x"}"#,
            br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"Other","image":"x"}"#,
        ] {
            let out = run(body, &helper);
            assert_eq!(out.code, 1);
            assert!(out.stdout.is_empty());
        }
    }
}
