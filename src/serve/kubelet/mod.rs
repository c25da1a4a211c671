//! Kubelet credential provider mode (SPEC §11, a MAY): the same binary answers the kubelet's
//! `CredentialProviderRequest` when invoked as `ecr-credential-provider` (argv[0] basename, as
//! EKS installs it) or with the first argument `kubelet-credential-provider`. The registry is the
//! image up to its first `/`; then the usual host rules, cache and API apply. A v1 request with
//! the pod's `serviceAccountToken` (KEP-4412) is answered as the pod's role ([`pod`]).

pub mod pod;

use super::{read_capped, CredentialHelper, Federated, Outcome};
use crate::go::json;
use crate::go::time::GoTime;
use crate::log;
use std::collections::BTreeMap;
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
    /// v1 only (KEP-4412), like the next field; `null` or absent: none.
    #[serde(rename = "serviceAccountToken", default)]
    service_account_token: Option<String>,
    #[serde(rename = "serviceAccountAnnotations", default)]
    service_account_annotations: Option<BTreeMap<String, String>>,
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

/// The request on `stdin`, or the failure to answer.
fn read_request(stdin: impl Read) -> Result<Request, Outcome> {
    let Ok(Some(buf)) = read_capped(stdin) else {
        return Err(fail("cannot read the request on stdin (at most 1 MiB)"));
    };
    let req: Request = serde_json::from_slice(&buf)
        .map_err(|e| fail(&format!("invalid CredentialProviderRequest: {e}")))?;
    if req.kind != "CredentialProviderRequest" || !API_VERSIONS.contains(&req.api_version.as_str())
    {
        return Err(fail(&format!(
            "unsupported request: apiVersion {:?}, kind {:?}",
            req.api_version, req.kind
        )));
    }
    Ok(req)
}

/// The pod's role for a v1 request with a service-account token ([`pod::select`]); the fields
/// are not part of the older versions, whose decoders drop them.
fn pod_role(req: &mut Request) -> Result<Option<Federated>, Outcome> {
    if req.api_version != API_VERSIONS[0] {
        return Ok(None);
    }
    let annotations = req.service_account_annotations.take().unwrap_or_default();
    let default_role = std::env::var(pod::DEFAULT_ROLE_VAR).ok();
    pod::select(req.service_account_token.take(), &annotations, default_role)
        .map_err(|e| fail(&e.to_string()))
}

/// Answers one request read from `stdin`.
pub fn run(stdin: impl Read, helper: &impl CredentialHelper) -> Outcome {
    let mut req = match read_request(stdin) {
        Ok(req) => req,
        Err(out) => return out,
    };
    let pod = match pod_role(&mut req) {
        Ok(pod) => pod,
        Err(out) => return out,
    };
    let registry = req.image.split('/').next().unwrap_or_default();
    let answer = match &pod {
        Some(pod) => helper.get_as(registry, pod),
        None => helper.get(registry),
    };
    let Some(answer) = answer else {
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
    auth: BTreeMap<&'a str, AuthConfig<'a>>,
}

#[derive(serde::Serialize)]
struct AuthConfig<'a> {
    username: &'a str,
    password: &'a str,
}

#[cfg(test)]
mod tests;
