//! GitLab OIDC without glue (issue 12): with `AWS_ROLE_ARN` set and no
//! `AWS_WEB_IDENTITY_TOKEN_FILE`, the web identity token is read from the environment variable
//! named by `AWS_ECR_WEB_IDENTITY_TOKEN_ENV` (e.g. `GITLAB_OIDC_TOKEN`).
//!
//! aws-config's [`WebIdentityTokenCredentialsProvider`] reads its token from a file only, so
//! for the one call the token is written to a 0600 file in a fresh 0700 directory under the
//! temporary directory, removed again when the call ends. [`assume`] does the same with a token
//! and role given to one call (a kubelet pod's, SPEC §11).

use crate::aws::client::EcrError;
use crate::aws::profile::{self, Properties};
use crate::secret::Secret;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::{StaticConfiguration, WebIdentityTokenCredentialsProvider};
use aws_config::ConfigLoader;
use aws_credential_types::provider::{self, error::CredentialsError, future, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::sdk_config::SdkConfig;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

/// `AssumeRoleWithWebIdentity` with the token from the environment variable.
#[derive(Debug)]
pub struct EnvTokenProvider {
    token: Secret<String>,
    role_arn: String,
    session_name: String,
    config: ProviderConfig,
}

impl EnvTokenProvider {
    /// The provider when the environment asks for it; `config` carries the HTTP client,
    /// region and sleep the STS call uses.
    pub fn from_env(config: ProviderConfig) -> Option<EnvTokenProvider> {
        let (role_arn, token) = env_token()?;
        let session_name = var("AWS_ROLE_SESSION_NAME").unwrap_or_else(|| {
            let millis = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            format!("web-identity-token-{millis}")
        });
        Some(EnvTokenProvider {
            token,
            role_arn,
            session_name,
            config,
        })
    }

    /// The web identity token in the variable named by `AWS_ECR_WEB_IDENTITY_TOKEN_ENV` (with
    /// `AWS_ROLE_ARN`, no token file), where the SDK's chain would reach environment web identity:
    /// the profile has no credentials of its own.
    pub async fn for_profile(
        profile: &Properties,
        defaults: impl Fn() -> ConfigLoader,
    ) -> Option<EnvTokenProvider> {
        if profile::has_credentials(profile) {
            return None;
        }
        env_token()?;
        let sdk = defaults().load().await;
        let pc = crate::aws::factory::provider_config(&sdk).with_region(sdk.region().cloned());
        EnvTokenProvider::from_env(pc)
    }

    async fn credentials(&self) -> provider::Result {
        let file = TokenFile::write(self.token.expose()).map_err(|e| {
            CredentialsError::provider_error(format!("cannot write the web identity token: {e}"))
        })?;
        let provider = WebIdentityTokenCredentialsProvider::builder()
            .configure(&self.config)
            .static_configuration(StaticConfiguration {
                web_identity_token_file: file.path.clone(),
                role_arn: self.role_arn.clone(),
                session_name: self.session_name.clone(),
            })
            .build();
        provider.provide_credentials().await
    }
}

impl ProvideCredentials for EnvTokenProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}

/// `AssumeRoleWithWebIdentity` for `role_arn` with `token` (given to this call, not read from
/// the environment), through `sdk`'s HTTP client, timeouts and region.
pub async fn assume(
    sdk: &SdkConfig,
    role_arn: &str,
    session_name: &str,
    token: &Secret<String>,
) -> Result<Credentials, EcrError> {
    let provider = EnvTokenProvider {
        token: token.clone(),
        role_arn: role_arn.to_owned(),
        session_name: session_name.to_owned(),
        config: crate::aws::factory::provider_config(sdk).with_region(sdk.region().cloned()),
    };
    provider
        .credentials()
        .await
        .map_err(|e| EcrError::Credentials(DisplayErrorContext(&e).to_string()))
}

/// A non-empty environment variable.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `AWS_ROLE_ARN` and the token, when the environment asks for this provider. The same rule as
/// `crate::helper::identity::EnvSources::web_identity_token` (the cache key's side), read here
/// so that `aws` does not depend on `helper`.
fn env_token() -> Option<(String, Secret<String>)> {
    if var("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
        return None;
    }
    let role_arn = var("AWS_ROLE_ARN")?;
    let token = var(&var(TOKEN_ENV_VAR)?)?;
    Some((role_arn, Secret::new(token)))
}

/// The variable that names the variable holding the token.
pub const TOKEN_ENV_VAR: &str = "AWS_ECR_WEB_IDENTITY_TOKEN_ENV";

/// The token in a private file, removed with its directory on drop.
struct TokenFile {
    dir: PathBuf,
    path: PathBuf,
}

impl TokenFile {
    fn write(token: &str) -> std::io::Result<TokenFile> {
        let nanos = crate::go::time::GoTime::now().unix_nanos();
        let dir = std::env::temp_dir().join(format!(
            "ecr-login-web-identity-{}-{nanos}",
            std::process::id()
        ));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let file = TokenFile {
            path: dir.join("token"),
            dir,
        };
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&file.path)?
            .write_all(token.as_bytes())?;
        Ok(file)
    }
}

impl Drop for TokenFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}
