//! A role assumed on top of credentials already resolved (issue 16, D19): the role a
//! registry's rule in the registries configuration names, on top of the default chain or of a
//! profile. aws-config's [`AssumeRoleProvider`] on the SDK configuration's HTTP client, region,
//! endpoint overrides (`AWS_ENDPOINT_URL_STS`) and time bounds.

use crate::aws::client::EcrError;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::sdk_config::SdkConfig;
use std::time::Duration;

/// A role to assume and the parameters of `AssumeRole`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSpec {
    pub role_arn: String,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
    pub duration_seconds: Option<u64>,
}

/// The provider that assumes `role` with `source`'s credentials (also the factory's own
/// roles, [`crate::aws::factory`]: one copy of aws-config's builder in the binary).
pub async fn provider(
    sdk: &SdkConfig,
    role: &RoleSpec,
    source: SharedCredentialsProvider,
) -> AssumeRoleProvider {
    let mut builder = AssumeRoleProvider::builder(role.role_arn.clone()).configure(sdk);
    if let Some(seconds) = role.duration_seconds {
        builder = builder.session_length(Duration::from_secs(seconds));
    }
    if let Some(id) = &role.external_id {
        builder = builder.external_id(id.clone());
    }
    if let Some(name) = &role.session_name {
        builder = builder.session_name(name.clone());
    }
    builder.build_from_provider(source).await
}

/// Assumes `role` with `source`'s credentials.
pub async fn assume(
    sdk: &SdkConfig,
    role: &RoleSpec,
    source: Credentials,
) -> Result<Credentials, EcrError> {
    let provider = provider(sdk, role, SharedCredentialsProvider::new(source)).await;
    provider.provide_credentials().await.map_err(|e| {
        EcrError::Credentials(format!(
            "assuming {}: {}",
            role.role_arn,
            DisplayErrorContext(&e)
        ))
    })
}

/// The credentials of the chain for `cfg` and `profile`, with `role` (a rule's) assumed on top:
/// what `get` and `doctor` both sign with.
pub async fn chain_credentials(
    cfg: &crate::config::Config,
    profile: &crate::aws::profile::Properties,
    sdk: &SdkConfig,
    role: Option<&RoleSpec>,
) -> Result<Credentials, EcrError> {
    let creds = crate::aws::factory::credentials(cfg, profile, sdk).await?;
    match role {
        Some(role) => assume(sdk, role, creds).await,
        None => Ok(creds),
    }
}
