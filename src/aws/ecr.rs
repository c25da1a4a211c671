//! The AWS side (SPEC §5): SDK configuration, credentials, and `GetAuthorizationToken` for ECR
//! and ECR Public.

use crate::aws::profile::SharedFiles;
use crate::config::Config;
use crate::go::time::{self, ZERO_TIME};
use crate::registry::{self, Registry};
use crate::secret::Secret;
// aws-config's aliases of aws-runtime's EnvConfigFiles (aws-runtime is no direct dependency).
#[allow(deprecated)]
use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::region::Region;
use aws_types::sdk_config::SdkConfig;
use aws_types::service_config::ServiceConfigKey;
use std::path::PathBuf;
use std::time::Duration;

/// The SDK's connect timeout default, kept when we set an operation timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);
/// ECR Public lives in us-east-1 only.
pub const PUBLIC_REGION: &str = "us-east-1";

/// A token as the API returned it.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub token: Secret<String>,
    /// Nanoseconds since the Unix epoch; Go's zero time when absent.
    pub expires_at: i128,
    pub proxy_endpoint: String,
    /// For private registries, the account parsed from the proxy endpoint.
    pub account: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EcrError {
    #[error("unusable AWS configuration: {0}")]
    Config(String),
    #[error("no AWS credentials could be resolved: {0}")]
    Credentials(String),
    #[error("no AWS credentials provider is configured")]
    NoCredentialsProvider,
    #[error("ecr: Failed to get authorization token: {0}")]
    Api(String),
    #[error("ecr: failed to get authorization token: {0}")]
    PublicApi(String),
    #[error("missing AuthorizationData in ECR response for {0}")]
    MissingData(String),
    #[error("No AuthorizationToken found for {0}")]
    NoToken(String),
    #[error("ecr: missing AuthorizationData in ECR Public response")]
    PublicMissingData,
    #[error("Invalid ProxyEndpoint returned by ECR: {0}")]
    InvalidProxyEndpoint(String),
}

/// The retry policy from `AWS_MAX_ATTEMPTS`/`AWS_RETRY_MODE` or the profile's `max_attempts`/
/// `retry_mode`: standard with 3 attempts unless they say otherwise. aws-config would panic on
/// an invalid value (D1); here it is logged and the default used.
fn retry_config(cfg: &Config, profile: &crate::aws::profile::Properties) -> RetryConfig {
    let attempts = cfg
        .max_attempts
        .clone()
        .or_else(|| profile.get("max_attempts").cloned());
    let mode = cfg
        .retry_mode
        .clone()
        .or_else(|| profile.get("retry_mode").cloned());
    let max_attempts = match attempts.as_deref().map(|a| a.trim().parse::<u32>()) {
        None => 3,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            crate::log::warn(
                "Ignoring an invalid AWS_MAX_ATTEMPTS/max_attempts (want 1 to 100); using 3",
                &[],
            );
            3
        }
    };
    let base = match mode.as_deref().map(str::trim) {
        None | Some("standard") | Some("legacy") => RetryConfig::standard(),
        Some("adaptive") => RetryConfig::adaptive(),
        Some(_) => {
            crate::log::warn(
                "Ignoring an invalid AWS_RETRY_MODE/retry_mode (want standard or adaptive)",
                &[],
            );
            RetryConfig::standard()
        }
    };
    base.with_max_attempts(max_attempts)
}

/// Largest token file read by the pre-check (a JWT or a container token is a few KiB).
const MAX_TOKEN_BYTES: u64 = 1 << 20;
/// How many `source_profile` hops are followed looking for token files.
const MAX_PROFILE_HOPS: usize = 8;

/// The token files the SDK's credential chain may read for this configuration: the
/// `web_identity_token_file` along the profile's `source_profile` chain and, when the profile
/// has no credentials of its own, `AWS_WEB_IDENTITY_TOKEN_FILE` and
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.
fn token_files(
    cfg: &Config,
    files: &SharedFiles,
    profile: &crate::aws::profile::Properties,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if cfg.env_keys.is_some() {
        return out;
    }
    let mut name = cfg.profile.clone();
    let mut props = profile.clone();
    for _ in 0..MAX_PROFILE_HOPS {
        if let Some(file) = props.get("web_identity_token_file") {
            out.push(PathBuf::from(file));
            break;
        }
        match props.get("source_profile") {
            Some(next) if *next != name => {
                name = next.clone();
                props = files.properties(&name);
            }
            _ => break,
        }
    }
    if !crate::aws::profile::has_credentials(profile) {
        out.extend(cfg.web_identity_token_file.clone());
        out.extend(cfg.container_token_file.clone());
    }
    out
}

/// Refuses token files the SDK would hang on or read without end (it reads them whole and
/// blocking, on the runtime's thread): a FIFO, a directory, an endless device.
fn check_token_files(
    cfg: &Config,
    files: &SharedFiles,
    profile: &crate::aws::profile::Properties,
) -> Result<(), EcrError> {
    for path in token_files(cfg, files, profile) {
        if let Err(e) = crate::fsutil::read_regular(&path, MAX_TOKEN_BYTES) {
            if crate::fsutil::is_refused(&e) {
                return Err(EcrError::Config(format!(
                    "token file {}: {e}",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// The shared files' contents as the SDK's profile files (so it never opens them itself).
#[allow(deprecated)]
fn profile_files(files: &SharedFiles) -> ProfileFiles {
    ProfileFiles::builder()
        .with_contents(ProfileFileKind::Config, files.config.expose().clone())
        .with_contents(
            ProfileFileKind::Credentials,
            files.credentials.expose().clone(),
        )
        .build()
}

/// Loads the SDK configuration for `region`, bounded by `remaining` per operation.
pub async fn load_config(
    cfg: &Config,
    files: &SharedFiles,
    profile: &crate::aws::profile::Properties,
    region: &str,
    remaining: Duration,
) -> Result<SdkConfig, EcrError> {
    // The SDK gets the files' contents (read bounded and non-blocking), never their paths; a
    // FIFO, a directory or an endless device there fails the call instead.
    if let Some(why) = &files.refused {
        return Err(EcrError::Config(why.clone()));
    }
    check_token_files(cfg, files, profile)?;
    let roots = crate::aws::tls::RootsConfig {
        aws_ca_bundle: cfg.aws_ca_bundle.clone(),
        profile_ca_bundle: profile
            .get("ca_bundle")
            .filter(|v| !v.is_empty())
            .and_then(|v| {
                crate::config::expand_tilde(std::path::Path::new(v), cfg.home.as_deref())
            }),
        ssl_cert_file: cfg.ssl_cert_file.clone(),
        ssl_cert_dir: cfg.ssl_cert_dir.clone(),
    };
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(remaining))
        .operation_timeout(remaining)
        .build();
    let retries = retry_config(cfg, profile);
    let http = crate::aws::http::client(roots);
    let shared_files = profile_files(files);
    let defaults = || {
        let loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http.clone())
            .region(Region::new(region.to_owned()))
            .retry_config(retries.clone())
            .timeout_config(timeouts.clone())
            .profile_files(shared_files.clone());
        if cfg.profile_from_env {
            // Covers Go's AWS_DEFAULT_PROFILE, which aws-config does not read.
            loader.profile_name(cfg.profile.clone())
        } else {
            loader
        }
    };
    let mut loader = defaults();
    if cfg.env_keys.is_none() {
        if let Some(role) = own_role(files, profile, defaults).await {
            loader = loader.credentials_provider(role);
        } else if let Some(process) = process_provider(profile, false) {
            loader = loader.credentials_provider(process);
        }
    }
    if let Some(keys) = &cfg.env_keys {
        // Environment keys (with Go's AWS_ACCESS_KEY/AWS_SECRET_KEY aliases) come first in the
        // chain, as in every SDK.
        loader = loader.credentials_provider(Credentials::new(
            keys.access_key_id.clone(),
            keys.secret_access_key.expose().clone(),
            keys.session_token.as_ref().map(|t| t.expose().clone()),
            None,
            "Environment",
        ));
    }
    Ok(loader.load().await)
}

/// Our `credential_process` provider (killed with its process group at the deadline) when the
/// SDK would resolve `profile` through its `credential_process`: no role, credential source,
/// web identity, SSO or login session, and, for a `source` profile later in a role chain, no
/// static keys (the SDK prefers those there).
fn process_provider(
    profile: &crate::aws::profile::Properties,
    source: bool,
) -> Option<crate::aws::process::ProcessProvider> {
    let command = profile
        .get("credential_process")
        .filter(|c| !c.is_empty())?;
    let other = [
        "role_arn",
        "credential_source",
        "web_identity_token_file",
        "login_session",
    ];
    if other.iter().any(|k| profile.contains_key(*k))
        || profile.keys().any(|k| k.starts_with("sso_"))
        || (source && crate::aws::profile::static_access_key(profile).is_some())
    {
        return None;
    }
    Some(crate::aws::process::ProcessProvider::new(
        command.clone(),
        profile.get("aws_account_id").cloned(),
    ))
}

/// The selected profile's role, assumed here rather than by the SDK's profile provider when
/// that one falls short: a `duration_seconds` (which it does not send) or a `source_profile`
/// that runs a `credential_process` (which must die at the deadline). The role is assumed from
/// its `source_profile` or `credential_source`; `None` leaves the profile to the SDK.
async fn own_role(
    files: &SharedFiles,
    profile: &crate::aws::profile::Properties,
    defaults: impl Fn() -> aws_config::ConfigLoader,
) -> Option<aws_config::sts::AssumeRoleProvider> {
    use aws_config::provider_config::ProviderConfig;
    use aws_credential_types::provider::SharedCredentialsProvider;
    let role_arn = profile.get("role_arn")?;
    if profile.contains_key("web_identity_token_file") {
        return None; // a web identity profile: the SDK's own provider handles it
    }
    let seconds: Option<u64> = profile
        .get("duration_seconds")
        .and_then(|s| s.trim().parse().ok());
    let process = profile
        .get("source_profile")
        .and_then(|name| process_provider(&files.properties(name), true));
    if seconds.is_none() && process.is_none() {
        return None;
    }
    if !profile.contains_key("source_profile") && !profile.contains_key("credential_source") {
        return None;
    }
    let sdk = defaults().load().await;
    let source: SharedCredentialsProvider = match (
        process,
        profile.get("source_profile"),
        profile.get("credential_source").map(String::as_str),
    ) {
        (Some(process), _, _) => SharedCredentialsProvider::new(process),
        (None, Some(name), _) => defaults()
            .profile_name(name)
            .load()
            .await
            .credentials_provider()?,
        (None, None, Some(source)) => {
            let mut pc = ProviderConfig::without_region();
            if let Some(http) = sdk.http_client() {
                pc = pc.with_http_client(http);
            }
            if let Some(sleep) = sdk.sleep_impl() {
                pc = pc.with_sleep_impl(sleep);
            }
            match source {
                "Environment" => SharedCredentialsProvider::new(
                    aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
                ),
                "EcsContainer" => SharedCredentialsProvider::new(
                    aws_config::ecs::EcsCredentialsProvider::builder()
                        .configure(&pc)
                        .build(),
                ),
                "Ec2InstanceMetadata" => SharedCredentialsProvider::new(
                    aws_config::imds::credentials::ImdsCredentialsProvider::builder()
                        .configure(&pc)
                        .build(),
                ),
                _ => return None,
            }
        }
        (None, None, None) => return None,
    };
    let mut builder =
        aws_config::sts::AssumeRoleProvider::builder(role_arn.clone()).configure(&sdk);
    if let Some(seconds) = seconds {
        builder = builder.session_length(Duration::from_secs(seconds));
    }
    if let Some(id) = profile.get("external_id") {
        builder = builder.external_id(id.clone());
    }
    if let Some(name) = profile.get("role_session_name") {
        builder = builder.session_name(name.clone());
    }
    Some(builder.build_from_provider(source).await)
}

/// Resolves credentials once through the configured chain, then IMDSv1 when the chain failed
/// and the instance metadata service refuses IMDSv2 tokens.
pub async fn credentials(
    cfg: &Config,
    profile: &crate::aws::profile::Properties,
    sdk: &SdkConfig,
) -> Result<Credentials, EcrError> {
    let provider = sdk
        .credentials_provider()
        .ok_or(EcrError::NoCredentialsProvider)?;
    let err = match provider.provide_credentials().await {
        Ok(c) => return Ok(c),
        Err(e) => EcrError::Credentials(DisplayErrorContext(&e).to_string()),
    };
    if cfg.env_keys.is_none() && !cfg.env_federated {
        let ep = (!crate::aws::profile::has_credentials(profile))
            .then(|| crate::aws::imds::endpoint(profile))
            .flatten();
        if let Some(ep) = ep {
            if let Some(c) = crate::aws::imds::v1_credentials(&ep).await {
                return Ok(c);
            }
        }
    }
    Err(err)
}

/// Whether an endpoint URL is configured for the service (env, profile or global).
fn endpoint_overridden(sdk: &SdkConfig, service_id: &str) -> bool {
    if sdk.endpoint_url().is_some() {
        return true;
    }
    let Ok(key) = ServiceConfigKey::builder()
        .service_id(service_id)
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
    else {
        return false;
    };
    sdk.service_config()
        .and_then(|c| c.load_config(key))
        .is_some()
}

/// `expiresAt` at millisecond precision, as ECR sends it and Go's SDK keeps it (the Rust SDK
/// reads it through an f64, so `.406` can arrive as `.405999…`).
fn expires(t: Option<&aws_smithy_types::DateTime>) -> i128 {
    t.map_or(ZERO_TIME, |d| {
        let millis = (i128::from(d.subsec_nanos()) + 500_000) / 1_000_000;
        i128::from(d.secs()) * time::NANOS_PER_SEC + millis * 1_000_000
    })
}

/// Private ECR `GetAuthorizationToken` for `account` (none: the caller's default registry).
pub async fn get_private(
    sdk: &SdkConfig,
    creds: Credentials,
    account: Option<&str>,
    fips: bool,
) -> Result<Fetched, EcrError> {
    let mut conf = aws_sdk_ecr::config::Builder::from(sdk).credentials_provider(creds);
    if fips {
        if endpoint_overridden(sdk, "ECR") {
            crate::log::debug(
                "FIPS host with an endpoint override: the override wins",
                &[],
            );
        } else {
            conf = conf.use_fips(true);
        }
    }
    let client = aws_sdk_ecr::Client::from_conf(conf.build());
    let id = account.unwrap_or("").to_owned();
    // registryIds is deprecated in the model but still what ECR and the Go helper use.
    #[allow(deprecated)]
    let out = client
        .get_authorization_token()
        .set_registry_ids(account.map(|a| vec![a.to_owned()]))
        .send()
        .await
        .map_err(|e| EcrError::Api(DisplayErrorContext(&e).to_string()))?;
    let data = out.authorization_data();
    if data.is_empty() {
        return Err(EcrError::MissingData(id));
    }
    for d in data {
        if let (Some(pe), Some(token)) = (d.proxy_endpoint(), d.authorization_token()) {
            let account = match registry::parse(pe) {
                Some(Registry::Private { account, .. }) => account,
                _ => return Err(EcrError::InvalidProxyEndpoint(pe.to_owned())),
            };
            return Ok(Fetched {
                token: Secret::new(token.to_owned()),
                expires_at: expires(d.expires_at()),
                proxy_endpoint: pe.to_owned(),
                account: Some(account),
            });
        }
    }
    Err(EcrError::NoToken(id))
}

/// ECR Public `GetAuthorizationToken` (always us-east-1). The proxy endpoint is the host asked
/// for.
pub async fn get_public(
    sdk: &SdkConfig,
    creds: Credentials,
    host: &str,
) -> Result<Fetched, EcrError> {
    let conf = aws_sdk_ecrpublic::config::Builder::from(sdk)
        .region(Region::new(PUBLIC_REGION))
        .credentials_provider(creds)
        .build();
    let client = aws_sdk_ecrpublic::Client::from_conf(conf);
    let out = client
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| EcrError::PublicApi(DisplayErrorContext(&e).to_string()))?;
    let data = out
        .authorization_data()
        .ok_or(EcrError::PublicMissingData)?;
    let token = data
        .authorization_token()
        .ok_or(EcrError::PublicMissingData)?;
    Ok(Fetched {
        token: Secret::new(token.to_owned()),
        expires_at: expires(data.expires_at()),
        proxy_endpoint: format!("https://{host}"),
        account: None,
    })
}
