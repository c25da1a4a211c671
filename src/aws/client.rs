//! The ECR calls, as the Go helper's `ecr-login/api/client.go` makes them (SPEC §5):
//! `GetAuthorizationToken` for ECR (one account, FIPS where asked) and ECR Public, the token and
//! its expiry as the API returned them, and the AWS room's error type. The SDK set-up is in
//! [`crate::aws::factory`].

use crate::go::time::{GoTime, NANOS_PER_SEC};
use crate::registry::{self, Registry};
use crate::secret::Secret;
use aws_credential_types::Credentials;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::region::Region;
use aws_types::sdk_config::SdkConfig;

/// ECR Public lives in us-east-1 only.
pub const PUBLIC_REGION: &str = "us-east-1";

/// A token as the API returned it.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub token: Secret<String>,
    /// Nanoseconds since the Unix epoch; Go's zero time when absent.
    pub expires_at: GoTime,
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

/// `expiresAt` at millisecond precision, as ECR sends it and Go's SDK keeps it (the Rust SDK
/// reads it through an f64, so `.406` can arrive as `.405999…`).
fn expires(t: Option<&aws_smithy_types::DateTime>) -> GoTime {
    t.map_or(GoTime::ZERO, |d| {
        let millis = (i128::from(d.subsec_nanos()) + 500_000) / 1_000_000;
        GoTime::from_unix_nanos(i128::from(d.secs()) * NANOS_PER_SEC + millis * 1_000_000)
    })
}

/// An interceptor that watches a call's request and response (`doctor`); `get` has none.
pub type Observer = Option<aws_smithy_runtime_api::client::interceptors::SharedInterceptor>;

/// The ECR client for `sdk` with `creds`, on the FIPS endpoint when asked and no endpoint
/// override is configured (the override wins).
fn private_client(
    sdk: &SdkConfig,
    creds: Credentials,
    fips: bool,
    observer: Observer,
) -> aws_sdk_ecr::Client {
    let mut conf = aws_sdk_ecr::config::Builder::from(sdk).credentials_provider(creds);
    if let Some(o) = observer {
        conf.push_interceptor(o);
    }
    if fips {
        if crate::aws::factory::endpoint_overridden(sdk, "ECR") {
            crate::log::debug(
                "FIPS host with an endpoint override: the override wins",
                &[],
            );
        } else {
            conf = conf.use_fips(true);
        }
    }
    aws_sdk_ecr::Client::from_conf(conf.build())
}

/// Private ECR `GetAuthorizationToken` for `account` (none: the caller's default registry).
pub async fn get_private(
    sdk: &SdkConfig,
    creds: Credentials,
    account: Option<&str>,
    fips: bool,
) -> Result<Fetched, EcrError> {
    get_private_observed(sdk, creds, account, fips, None).await
}

/// [`get_private`], watched by `observer`.
pub async fn get_private_observed(
    sdk: &SdkConfig,
    creds: Credentials,
    account: Option<&str>,
    fips: bool,
    observer: Observer,
) -> Result<Fetched, EcrError> {
    let client = private_client(sdk, creds, fips, observer);
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
    get_public_observed(sdk, creds, host, None).await
}

/// [`get_public`], watched by `observer`.
pub async fn get_public_observed(
    sdk: &SdkConfig,
    creds: Credentials,
    host: &str,
    observer: Observer,
) -> Result<Fetched, EcrError> {
    let mut conf = aws_sdk_ecrpublic::config::Builder::from(sdk)
        .region(Region::new(PUBLIC_REGION))
        .credentials_provider(creds);
    if let Some(o) = observer {
        conf.push_interceptor(o);
    }
    let client = aws_sdk_ecrpublic::Client::from_conf(conf.build());
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
