//! A call made as a kubelet pod's role (SPEC §11, KEP-4412): the role ARN and service-account
//! token come with the request, not from the configuration. Everything else is the normal
//! `get`: the identity is the web identity of that role and token ([`identity::federated`],
//! the same key as that role and token configured in the environment: role ARN, session name,
//! token SHA-256), so each pod's token gets its own cache entry, with no cached answer past the
//! token's `exp`; the credentials come from `AssumeRoleWithWebIdentity` on the session's HTTP
//! client and region ([`web_identity::assume`]), never from the node's chain, with no fallback
//! to the node's identity. The token is never logged; it reaches STS through a private file, as
//! the environment's does.

use super::identity::{self, Identity};
use super::Helper;
use crate::aws::client::EcrError;
use crate::aws::web_identity;
use crate::go::time::GoTime;
use crate::log;
use crate::serve::{Answer, Federated};
use aws_credential_types::Credentials;
use aws_types::sdk_config::SdkConfig;

impl Helper {
    /// Credentials for `server_url` as `pod`; `None` (logged) when its token has expired.
    pub fn get_as(mut self, server_url: &str, pod: Federated) -> Option<Answer> {
        log::debug(
            "Using the pod's service-account token",
            &[("roleArn", &pod.role_arn)],
        );
        self.pod = Some(pod);
        self.identity = std::cell::OnceCell::new();
        if !self.identity().usable_at(GoTime::now()) {
            log::error("The pod's service-account token has expired", &[]);
            return None;
        }
        self.get(server_url)
    }

    /// The pod's identity, when this call is made as one.
    pub(super) fn pod_identity(&self) -> Option<Identity> {
        let pod = self.pod.as_ref()?;
        Some(identity::federated(
            &pod.role_arn,
            &pod.session_name,
            &pod.token,
        ))
    }

    /// The pod's credentials when this call is made as one; `None` otherwise.
    pub(super) async fn pod_credentials(
        &self,
        sdk: &SdkConfig,
    ) -> Option<Result<Credentials, EcrError>> {
        let pod = self.pod.as_ref()?;
        Some(web_identity::assume(sdk, &pod.role_arn, &pod.session_name, &pod.token).await)
    }

    /// Logs why no credentials were resolved.
    pub(super) fn log_no_credentials(&self, e: &EcrError) {
        let msg = match &self.pod {
            Some(_) => "AssumeRoleWithWebIdentity with the pod's service-account token failed",
            None => "No AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or attach a role",
        };
        log::error(msg, &[("error", &e.to_string())]);
    }
}
