//! The environment variables the credential chain reads beyond [`Config`](crate::config::Config), read once: the
//! identity's inputs for web identity, container credentials and instance metadata.

use super::TOKEN_ENV_VAR;
use crate::secret::Secret;
use std::path::PathBuf;

/// The environment variables the chain reads beyond [`Config`](crate::config::Config) (non-empty ones only).
#[derive(Debug, Clone, Default)]
pub struct EnvSources {
    /// `AWS_ACCESS_KEY_ID` or `AWS_SECRET_ACCESS_KEY` is set (the SDK's environment provider
    /// then fails when [`Config`](crate::config::Config) found no complete pair).
    pub any_env_key: bool,
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub web_identity_token_file: Option<PathBuf>,
    /// [`TOKEN_ENV_VAR`]: the name of the variable holding the web identity token.
    pub token_var: Option<String>,
    /// That variable's value.
    pub token: Option<Secret<String>>,
    pub container_relative_uri: Option<String>,
    pub container_full_uri: Option<String>,
    pub container_token: Option<Secret<String>>,
    pub container_token_file: Option<PathBuf>,
    /// `AWS_EC2_METADATA_DISABLED` is `true` (any case).
    pub imds_disabled: bool,
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT`, `…_ENDPOINT_MODE`, `AWS_EC2_METADATA_V1_DISABLED`.
    pub imds_settings: [Option<String>; 3],
}

impl EnvSources {
    /// Reads them from the process environment.
    pub fn from_env() -> EnvSources {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string_lossy().into_owned())
        };
        let token_var = var(TOKEN_ENV_VAR);
        EnvSources {
            any_env_key: var("AWS_ACCESS_KEY_ID").is_some()
                || var("AWS_SECRET_ACCESS_KEY").is_some(),
            role_arn: var("AWS_ROLE_ARN"),
            role_session_name: var("AWS_ROLE_SESSION_NAME"),
            web_identity_token_file: var("AWS_WEB_IDENTITY_TOKEN_FILE").map(PathBuf::from),
            token: token_var.as_deref().and_then(var).map(Secret::new),
            token_var,
            container_relative_uri: var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
            container_full_uri: var("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            container_token: var("AWS_CONTAINER_AUTHORIZATION_TOKEN").map(Secret::new),
            container_token_file: var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").map(PathBuf::from),
            imds_disabled: var("AWS_EC2_METADATA_DISABLED")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            imds_settings: [
                var("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
                var("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"),
                var("AWS_EC2_METADATA_V1_DISABLED"),
            ],
        }
    }

    /// The web identity token from the variable named by [`TOKEN_ENV_VAR`], when the chain
    /// would use it: `AWS_ROLE_ARN` is set and `AWS_WEB_IDENTITY_TOKEN_FILE` is not. For the
    /// integration that hands it to the SDK.
    pub fn web_identity_token(&self) -> Option<&Secret<String>> {
        (self.role_arn.is_some() && self.web_identity_token_file.is_none())
            .then_some(self.token.as_ref())
            .flatten()
    }
}
