//! Per-pod roles (KEP-4412), as cloud-provider-aws's `ecr-credential-provider` chooses them
//! (kubernetes/cloud-provider-aws#1155): when a v1 request carries the pod's
//! `serviceAccountToken`, the role is the service account's `eks.amazonaws.com/ecr-role-arn`
//! annotation when the kubelet passed that key, else `AWS_ECR_ROLE_ARN`; it is assumed with
//! `AssumeRoleWithWebIdentity` and that token, session name `ecr-credential-provider`. No token,
//! or a token with an empty or no role: the node's identity, as before (and as upstream).
//!
//! Beyond upstream, a malformed value is refused here rather than sent to STS: a role that is
//! not an IAM role ARN, a token that is not a JWT.

use crate::log;
use crate::secret::Secret;
use crate::serve::Federated;
use std::collections::BTreeMap;

/// The service-account annotation naming the role.
pub const ROLE_ANNOTATION: &str = "eks.amazonaws.com/ecr-role-arn";
/// The role used when the annotation was not passed.
pub const DEFAULT_ROLE_VAR: &str = "AWS_ECR_ROLE_ARN";
/// `RoleSessionName` of every per-pod `AssumeRoleWithWebIdentity`.
pub const SESSION_NAME: &str = "ecr-credential-provider";

/// A request's per-pod values that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PodError {
    #[error("the role ARN from {0} is not an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)")]
    RoleArn(&'static str),
    #[error("serviceAccountToken is not a JWT (three base64url parts)")]
    Token,
}

/// The role to assume for a request's `token` (see the module documentation): `Ok(None)` for
/// the node's identity.
pub fn select(
    token: Option<String>,
    annotations: &BTreeMap<String, String>,
    default_role: Option<String>,
) -> Result<Option<Federated>, PodError> {
    let Some(token) = token.filter(|t| !t.is_empty()).map(Secret::new) else {
        return Ok(None);
    };
    let (role_arn, from) = match annotations.get(ROLE_ANNOTATION) {
        Some(arn) => (arn.clone(), "the service account's annotation"),
        None => (default_role.unwrap_or_default(), DEFAULT_ROLE_VAR),
    };
    if role_arn.is_empty() {
        log::info(
            "A service-account token without a role ARN (annotation or AWS_ECR_ROLE_ARN): using the node's identity",
            &[],
        );
        return Ok(None);
    }
    if !is_role_arn(&role_arn) {
        return Err(PodError::RoleArn(from));
    }
    if !is_jwt(token.expose()) {
        return Err(PodError::Token);
    }
    Ok(Some(Federated {
        role_arn,
        session_name: SESSION_NAME.to_owned(),
        token,
    }))
}

/// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`, printable ASCII without spaces.
fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    prefix == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource
            .strip_prefix("role/")
            .is_some_and(|name| !name.is_empty() && !name.ends_with('/'))
        && arn.bytes().all(|b| b.is_ascii_graphic())
}

/// A JWS compact serialization: three `.`-separated base64url parts, the first two non-empty.
fn is_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    let b64url = |p: &str| {
        p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    parts.len() == 3
        && !parts[0].is_empty()
        && !parts[1].is_empty()
        && parts.iter().all(|p| b64url(p))
}
