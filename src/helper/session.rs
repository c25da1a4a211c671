//! The preamble every call to AWS shares: the SDK configuration for a region and the
//! credentials it resolves, as one value (`get`'s fetch and `list`'s priming both start here).

use super::Helper;
use crate::aws::client::{self, EcrError, Fetched};
use crate::aws::factory;
use crate::registry::Registry;
use aws_credential_types::Credentials;
use aws_types::sdk_config::SdkConfig;

/// An SDK configuration and the credentials resolved through it, ready for the ECR calls.
pub(super) struct Session {
    sdk: SdkConfig,
    creds: Credentials,
    /// The resolved identity's access key ID: the cache keys are made from it.
    pub(super) akid: String,
}

/// Why no session could be had; each caller logs it in its own words.
#[derive(Debug, thiserror::Error)]
pub(super) enum SessionError {
    /// The SDK could not be configured (a refused file, a bad token file, …).
    #[error(transparent)]
    Config(EcrError),
    /// The credential chain resolved nothing.
    #[error(transparent)]
    Credentials(EcrError),
}

impl Helper {
    /// Loads the SDK configuration for `region` and resolves credentials through it, within
    /// what remains of the deadline.
    pub(super) async fn session(&self, region: &str) -> Result<Session, SessionError> {
        let sdk = factory::load_config(
            &self.cfg,
            self.files(),
            self.profile(),
            region,
            self.remaining(),
        )
        .await
        .map_err(SessionError::Config)?;
        let creds = match self.pod_credentials(&sdk).await {
            Some(pod) => pod.map_err(SessionError::Credentials)?,
            None => {
                let role = self.role.as_ref();
                crate::aws::assume::chain_credentials(&self.cfg, self.profile(), &sdk, role)
                    .await
                    .map_err(SessionError::Credentials)?
            }
        };
        let akid = creds.access_key_id().to_owned();
        Ok(Session { sdk, creds, akid })
    }
}

impl Session {
    /// When temporary credentials expire; `None` for credentials without an expiry or a
    /// session token.
    pub(super) fn expiry(&self) -> Option<crate::go::time::GoTime> {
        self.creds.session_token()?;
        let since = self
            .creds
            .expiry()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        Some(crate::go::time::GoTime::from_unix_nanos(
            since.as_nanos() as i128
        ))
    }

    /// `GetAuthorizationToken` for the registry asked for.
    pub(super) async fn fetch(&self, registry: &Registry) -> Result<Fetched, EcrError> {
        match registry {
            Registry::Private { account, fips, .. } => {
                client::get_private(&self.sdk, self.creds.clone(), Some(account), *fips).await
            }
            Registry::Public { host } => self.fetch_public(host).await,
        }
    }

    /// The caller's default private registry in the session's region (`list` priming).
    pub(super) async fn fetch_default_private(&self) -> Result<Fetched, EcrError> {
        client::get_private(&self.sdk, self.creds.clone(), None, false).await
    }

    /// ECR Public's token, with `host` as its proxy endpoint.
    pub(super) async fn fetch_public(&self, host: &str) -> Result<Fetched, EcrError> {
        client::get_public(&self.sdk, self.creds.clone(), host).await
    }
}

/// An ECR call that failed, logged as the error says it.
pub(super) fn log_api_error(e: &EcrError) {
    crate::log::error(&e.to_string(), &[]);
}
