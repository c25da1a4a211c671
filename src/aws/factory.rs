//! SDK and client set-up, as the Go helper's `ecr-login/api/factory.go` does it (SPEC §5): the
//! SDK configuration for a region (HTTP client, TLS roots, timeouts, retry policy, the shared
//! files' contents), which credentials provider resolves the profile (environment keys, a role
//! assumed here with its `duration_seconds`, our deadline-bound `credential_process`, else the
//! SDK's chain), resolving credentials once (with the IMDSv1 fallback), and whether an endpoint
//! override is configured. The calls themselves are in [`crate::aws::client`].

use crate::aws::client::EcrError;
use crate::aws::process::ProcessProvider;
use crate::aws::profile::{self, Properties, SharedFiles};
use crate::config::Config;
// aws-config's aliases of aws-runtime's EnvConfigFiles (aws-runtime is no direct dependency).
use crate::aws::web_identity::EnvTokenProvider;
#[allow(deprecated)]
use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
use aws_config::provider_config::ProviderConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, ConfigLoader};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
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
/// Largest token file read by the pre-check (a JWT or a container token is a few KiB).
const MAX_TOKEN_BYTES: u64 = 1 << 20;
/// How many `source_profile` hops are followed looking for token files.
const MAX_PROFILE_HOPS: usize = 8;

/// `AWS_MAX_ATTEMPTS`, else the profile's `max_attempts`: 1 to 100, else 3 (logged when
/// invalid).
fn max_attempts(cfg: &Config, profile: &Properties) -> u32 {
    let attempts = cfg
        .max_attempts
        .clone()
        .or_else(|| profile.get("max_attempts").cloned());
    match attempts.as_deref().map(|a| a.trim().parse::<u32>()) {
        None => 3,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            crate::log::warn(
                "Ignoring an invalid AWS_MAX_ATTEMPTS/max_attempts (want 1 to 100); using 3",
                &[],
            );
            3
        }
    }
}

/// The retry policy from `AWS_MAX_ATTEMPTS`/`AWS_RETRY_MODE` or the profile's `max_attempts`/
/// `retry_mode`: standard with 3 attempts unless they say otherwise. aws-config would panic on
/// an invalid value (D1); here it is logged and the default used.
fn retry_config(cfg: &Config, profile: &Properties) -> RetryConfig {
    let mode = cfg
        .retry_mode
        .clone()
        .or_else(|| profile.get("retry_mode").cloned());
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
    base.with_max_attempts(max_attempts(cfg, profile))
}

/// The token files the SDK's credential chain may read for this configuration: the
/// `web_identity_token_file` along the profile's `source_profile` chain and, when the profile
/// has no credentials of its own, `AWS_WEB_IDENTITY_TOKEN_FILE` and
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.
fn token_files(cfg: &Config, files: &SharedFiles, profile: &Properties) -> Vec<PathBuf> {
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
    if !profile::has_credentials(profile) {
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
    profile: &Properties,
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

/// Where the CA roots come from: `AWS_CA_BUNDLE`, the profile's `ca_bundle`, `SSL_CERT_*`.
pub(crate) fn roots_config(cfg: &Config, profile: &Properties) -> crate::aws::tls::RootsConfig {
    crate::aws::tls::RootsConfig {
        aws_ca_bundle: cfg.aws_ca_bundle.clone(),
        profile_ca_bundle: profile
            .get("ca_bundle")
            .filter(|v| !v.is_empty())
            .and_then(|v| {
                crate::config::expand_tilde(std::path::Path::new(v), cfg.home.as_deref())
            }),
        ssl_cert_file: cfg.ssl_cert_file.clone(),
        ssl_cert_dir: cfg.ssl_cert_dir.clone(),
    }
}

/// Loads the SDK configuration for `region`, bounded by `remaining` per operation.
pub async fn load_config(
    cfg: &Config,
    files: &SharedFiles,
    profile: &Properties,
    region: &str,
    remaining: Duration,
) -> Result<SdkConfig, EcrError> {
    // The SDK gets the files' contents (read bounded and non-blocking), never their paths; a
    // FIFO, a directory or an endless device there fails the call instead.
    if let Some(why) = &files.refused {
        return Err(EcrError::Config(why.clone()));
    }
    check_token_files(cfg, files, profile)?;
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(remaining))
        .operation_timeout(remaining)
        .build();
    let retries = retry_config(cfg, profile);
    let http = crate::aws::http::client(roots_config(cfg, profile));
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
    let loader = with_credentials_provider(defaults(), cfg, files, profile, defaults).await;
    Ok(loader.load().await)
}

/// The credentials provider, where ours replaces the SDK's chain: environment keys (with Go's
/// `AWS_ACCESS_KEY`/`AWS_SECRET_KEY` aliases) first, as in every SDK; else the profile's role
/// when assumed here ([`own_role`]); else its `credential_process` ([`process_provider`]).
async fn with_credentials_provider(
    loader: ConfigLoader,
    cfg: &Config,
    files: &SharedFiles,
    profile: &Properties,
    defaults: impl Fn() -> ConfigLoader,
) -> ConfigLoader {
    if let Some(keys) = &cfg.env_keys {
        return loader.credentials_provider(Credentials::new(
            keys.access_key_id.clone(),
            keys.secret_access_key.expose().clone(),
            keys.session_token.as_ref().map(|t| t.expose().clone()),
            None,
            "Environment",
        ));
    }
    if let Some(role) = own_role(files, profile, &defaults).await {
        loader.credentials_provider(role)
    } else if let Some(process) = process_provider(profile, false) {
        loader.credentials_provider(process)
    } else if let Some(web) = EnvTokenProvider::for_profile(profile, &defaults).await {
        loader.credentials_provider(web)
    } else {
        loader
    }
}

/// Our `credential_process` provider (killed with its process group at the deadline) when the
/// SDK would resolve `profile` through its `credential_process`: no role, credential source,
/// web identity, SSO or login session, and, for a `source` profile later in a role chain, no
/// static keys (the SDK prefers those there).
fn process_provider(profile: &Properties, source: bool) -> Option<ProcessProvider> {
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
        || (source && profile::static_access_key(profile).is_some())
    {
        return None;
    }
    Some(ProcessProvider::new(
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
    profile: &Properties,
    defaults: &impl Fn() -> ConfigLoader,
) -> Option<AssumeRoleProvider> {
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
    let source = role_source(profile, process, &sdk, defaults).await?;
    let role = crate::aws::assume::RoleSpec {
        role_arn: role_arn.clone(),
        external_id: profile.get("external_id").cloned(),
        session_name: profile.get("role_session_name").cloned(),
        duration_seconds: seconds,
    };
    Some(crate::aws::assume::provider(&sdk, &role, source).await)
}

/// The credentials a role of [`own_role`] is assumed with: the source profile's
/// `credential_process`, else the source profile through the SDK, else the
/// `credential_source`.
async fn role_source(
    profile: &Properties,
    process: Option<ProcessProvider>,
    sdk: &SdkConfig,
    defaults: impl Fn() -> ConfigLoader,
) -> Option<SharedCredentialsProvider> {
    match (
        process,
        profile.get("source_profile"),
        profile.get("credential_source").map(String::as_str),
    ) {
        (Some(process), _, _) => Some(SharedCredentialsProvider::new(process)),
        (None, Some(name), _) => defaults()
            .profile_name(name)
            .load()
            .await
            .credentials_provider(),
        (None, None, Some(source)) => credential_source(source, sdk),
        (None, None, None) => None,
    }
}

/// A provider configuration on the SDK's HTTP client and sleep, without a region.
pub(crate) fn provider_config(sdk: &SdkConfig) -> ProviderConfig {
    let mut pc = ProviderConfig::without_region();
    if let Some(http) = sdk.http_client() {
        pc = pc.with_http_client(http);
    }
    if let Some(sleep) = sdk.sleep_impl() {
        pc = pc.with_sleep_impl(sleep);
    }
    if let Some(timeouts) = sdk.timeout_config() {
        pc = pc.with_timeout_config(timeouts.clone());
    }
    pc
}

/// A profile's `credential_source` (`Environment`, `EcsContainer`, `Ec2InstanceMetadata`) as a
/// provider on the SDK's HTTP client and sleep; `None` for any other value.
fn credential_source(source: &str, sdk: &SdkConfig) -> Option<SharedCredentialsProvider> {
    let pc = provider_config(sdk);
    Some(match source {
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
    })
}

/// Resolves credentials once through the configured chain, then IMDSv1 when the chain failed
/// and the instance metadata service refuses IMDSv2 tokens.
pub async fn credentials(
    cfg: &Config,
    profile: &Properties,
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
        let ep = (!profile::has_credentials(profile))
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
pub fn endpoint_overridden(sdk: &SdkConfig, service_id: &str) -> bool {
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
