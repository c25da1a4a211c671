//! The HTTP client every AWS call uses (ECR, ECR Public, STS, SSO, IMDS, ECS).
//!
//! rustls with ring, proxies as Go reads them (`HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`, loopback
//! never proxied, an unusable proxy refused rather than bypassed: `proxy`), and CA roots
//! loaded lazily: a plain `http://` endpoint (IMDS, container credentials, a test server) never loads
//! roots, and a TLS connection with no roots at all fails with a clear error instead of the
//! panic the SDK's client would hit.

use crate::aws::proxy::{ProxyEnv, Route};
use crate::aws::tls::{self, RootsConfig};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, Connector};
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings,
    SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::sync::{Arc, OnceLock};

/// The connector configuration for one route: no proxy, or exactly this proxy for every
/// request of the connector's scheme (the [`ProxyEnv`] already applied `NO_PROXY`).
fn proxy_config(https: bool, proxy: Option<&str>) -> ProxyConfig {
    let parsed = match proxy {
        None => return ProxyConfig::disabled(),
        Some(url) if https => ProxyConfig::https(url),
        Some(url) => ProxyConfig::http(url),
    };
    // `ProxyEnv::checked` ran the same parser: an error here cannot happen, and would be a
    // connection error, never a silent direct connection.
    parsed.unwrap_or_else(|_| ProxyConfig::disabled())
}

/// The proxy environment, with URLs the HTTP client cannot parse marked unusable.
fn proxy_env() -> ProxyEnv {
    ProxyEnv::from_env().checked(|url| {
        ProxyConfig::http(url)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

/// A connector builder with the settings, sleep and proxy configuration every connector shares.
fn base_builder(
    settings: Option<&HttpConnectorSettings>,
    components: Option<&RuntimeComponents>,
    proxy: ProxyConfig,
) -> aws_smithy_http_client::ConnectorBuilder {
    let mut b = Connector::builder().proxy_config(proxy);
    b.set_connector_settings(settings.cloned());
    if let Some(c) = components {
        b.set_sleep_impl(c.sleep_impl());
    }
    b
}

/// The clients of one transport (plain or TLS): direct, and through the environment's proxy
/// for that scheme when one is usable.
#[derive(Debug, Clone)]
struct Routes {
    direct: SharedHttpClient,
    proxied: Option<SharedHttpClient>,
}

impl Routes {
    /// The client for `route`; `None` for a refusal.
    fn pick(&self, route: &Route) -> Option<&SharedHttpClient> {
        match route {
            Route::Direct => Some(&self.direct),
            Route::Proxy(_) => self.proxied.as_ref(),
            Route::Refuse(_) => None,
        }
    }
}

/// The TLS clients, built on the first `https://` request.
type TlsCell = Arc<OnceLock<Result<Routes, String>>>;

/// One TLS client with `proxy` (or none).
fn tls_client(context: &TlsContext, proxy: Option<String>) -> SharedHttpClient {
    let context = context.clone();
    Builder::new().build_with_connector_fn(move |settings, components| {
        base_builder(settings, components, proxy_config(true, proxy.as_deref()))
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .tls_context(context.clone())
            .build()
    })
}

/// One plain-HTTP client with `proxy` (or none).
fn plain_client(proxy: Option<String>) -> SharedHttpClient {
    Builder::new().build_with_connector_fn(move |settings, components| {
        base_builder(settings, components, proxy_config(false, proxy.as_deref())).build_http()
    })
}

fn build_tls_client(cfg: &RootsConfig, proxy: Option<String>) -> Result<Routes, String> {
    let roots = tls::load(cfg);
    let where_ = tls::describe(&roots.source);
    if roots.certs.is_empty() {
        crate::log::error(
            "No CA certificates found: cannot make TLS connections. Install a CA bundle (e.g. the ca-certificates package) or set SSL_CERT_FILE or AWS_CA_BUNDLE",
            &[("searched", &where_)],
        );
        return Err(format!("no CA certificates found ({where_})"));
    }
    crate::log::debug(
        "Loaded CA certificates",
        &[
            ("source", &where_),
            ("count", &roots.certs.len().to_string()),
        ],
    );
    let context = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(roots.to_pem()))
        .build()
        .map_err(|e| format!("TLS configuration: {e}"))?;
    Ok(Routes {
        direct: tls_client(&context, None),
        proxied: proxy.map(|p| tls_client(&context, Some(p))),
    })
}

/// Sends each request direct or through the proxy as [`ProxyEnv::route`] decides (refusing
/// it when the proxy is unusable), `http://` on a plain connector and everything else on the
/// lazy TLS one.
#[derive(Debug)]
struct Dispatch {
    plain: Routes,
    tls: TlsCell,
    roots: Arc<RootsConfig>,
    proxies: Arc<ProxyEnv>,
    settings: HttpConnectorSettings,
    components: RuntimeComponents,
}

/// A connector error that fails the request without connecting anywhere.
fn fail(msg: String) -> HttpConnectorFuture {
    HttpConnectorFuture::ready(Err(ConnectorError::other(msg.into(), None)))
}

impl HttpConnector for Dispatch {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let route = self.proxies.route(request.uri());
        if let Route::Refuse(why) = &route {
            crate::log::error(
                "Not connecting: the proxy setting cannot be used, and going around it is not allowed",
                &[
                    ("url", &crate::log::redact_url(request.uri())),
                    ("error", why),
                ],
            );
            return fail(format!("proxy unusable: {why}"));
        }
        let routes = if request.uri().starts_with("http://") {
            &self.plain
        } else {
            let https_proxy = self.proxies.usable(true).map(str::to_owned);
            match self
                .tls
                .get_or_init(|| build_tls_client(&self.roots, https_proxy))
            {
                Ok(routes) => routes,
                Err(msg) => return fail(msg.clone()),
            }
        };
        match routes.pick(&route) {
            Some(client) => client
                .http_connector(&self.settings, &self.components)
                .call(request),
            None => fail("no client for the proxy route".to_owned()),
        }
    }
}

/// The shared client: plain HTTP ready at once, TLS built on first use, proxies as Go's
/// `ProxyFromEnvironment` chooses them.
pub fn client(roots: RootsConfig) -> SharedHttpClient {
    let proxies = Arc::new(proxy_env());
    let plain = Routes {
        direct: plain_client(None),
        proxied: proxies
            .usable(false)
            .map(|p| plain_client(Some(p.to_owned()))),
    };
    let tls: TlsCell = Arc::new(OnceLock::new());
    let roots = Arc::new(roots);
    http_client_fn(move |settings, components| {
        SharedHttpConnector::new(Dispatch {
            plain: plain.clone(),
            tls: tls.clone(),
            roots: roots.clone(),
            proxies: proxies.clone(),
            settings: settings.clone(),
            components: components.clone(),
        })
    })
}
