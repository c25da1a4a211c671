//! The HTTP client every AWS call uses (ECR, ECR Public, STS, SSO, IMDS, ECS).
//!
//! rustls with ring, proxies as Go reads them (`HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`, loopback
//! never proxied), and CA roots loaded
//! lazily: a plain `http://` endpoint (IMDS, container credentials, a test server) never loads
//! roots, and a TLS connection with no roots at all fails with a clear error instead of the
//! panic the SDK's client would hit.

use crate::tls::{self, RootsConfig};
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

/// A non-empty environment variable, upper case first, as Go's `httpproxy` reads them.
fn env_either(upper: &str, lower: &str) -> Option<String> {
    [upper, lower]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
}

/// The proxy for one scheme, as Go's `http.ProxyFromEnvironment` decides it: `HTTPS_PROXY` for
/// `https://`, `HTTP_PROXY` for `http://`, a bare `host:port` meaning `http://host:port`,
/// `NO_PROXY` (`*` for everything), and never for localhost or loopback addresses.
pub fn proxy_config(https: bool) -> ProxyConfig {
    let url = if https {
        env_either("HTTPS_PROXY", "https_proxy")
    } else {
        env_either("HTTP_PROXY", "http_proxy")
    };
    let Some(url) = url else {
        return ProxyConfig::disabled();
    };
    let no_proxy = env_either("NO_PROXY", "no_proxy").unwrap_or_default();
    if no_proxy.split(',').any(|r| r.trim() == "*") {
        return ProxyConfig::disabled();
    }
    let url = if url.contains("://") {
        url
    } else {
        format!("http://{url}")
    };
    let parsed = if https {
        ProxyConfig::https(url.as_str())
    } else {
        ProxyConfig::http(url.as_str())
    };
    match parsed {
        Ok(cfg) => {
            let mut rules: Vec<&str> = no_proxy
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .collect();
            rules.extend(["localhost", "127.0.0.0/8", "::1"]);
            cfg.no_proxy(rules.join(","))
        }
        Err(e) => {
            crate::log::warn(
                "Ignoring an invalid proxy setting",
                &[
                    ("proxy", &crate::log::redact_url(&url)),
                    ("error", &e.to_string()),
                ],
            );
            ProxyConfig::disabled()
        }
    }
}

/// A connector builder with the settings, sleep and proxy configuration every connector shares.
fn base_builder(
    settings: Option<&HttpConnectorSettings>,
    components: Option<&RuntimeComponents>,
    https: bool,
) -> aws_smithy_http_client::ConnectorBuilder {
    let mut b = Connector::builder().proxy_config(proxy_config(https));
    b.set_connector_settings(settings.cloned());
    if let Some(c) = components {
        b.set_sleep_impl(c.sleep_impl());
    }
    b
}

/// The TLS client, built on the first `https://` request.
type TlsCell = Arc<OnceLock<Result<SharedHttpClient, String>>>;

fn build_tls_client(cfg: &RootsConfig) -> Result<SharedHttpClient, String> {
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
    Ok(
        Builder::new().build_with_connector_fn(move |settings, components| {
            base_builder(settings, components, true)
                .tls_provider(Provider::Rustls(CryptoMode::Ring))
                .tls_context(context.clone())
                .build()
        }),
    )
}

/// Sends `http://` requests on a plain connector and everything else on the lazy TLS one.
#[derive(Debug)]
struct Dispatch {
    plain: SharedHttpConnector,
    tls: TlsCell,
    roots: Arc<RootsConfig>,
    settings: HttpConnectorSettings,
    components: RuntimeComponents,
}

impl HttpConnector for Dispatch {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        if request.uri().starts_with("http://") {
            return self.plain.call(request);
        }
        match self.tls.get_or_init(|| build_tls_client(&self.roots)) {
            Ok(client) => client
                .http_connector(&self.settings, &self.components)
                .call(request),
            Err(msg) => {
                HttpConnectorFuture::ready(Err(ConnectorError::other(msg.clone().into(), None)))
            }
        }
    }
}

/// The shared client: plain HTTP ready at once, TLS built on first use.
pub fn client(roots: RootsConfig) -> SharedHttpClient {
    let plain = Builder::new().build_with_connector_fn(|settings, components| {
        base_builder(settings, components, false).build_http()
    });
    let tls: TlsCell = Arc::new(OnceLock::new());
    let roots = Arc::new(roots);
    http_client_fn(move |settings, components| {
        SharedHttpConnector::new(Dispatch {
            plain: plain.http_connector(settings, components),
            tls: tls.clone(),
            roots: roots.clone(),
            settings: settings.clone(),
            components: components.clone(),
        })
    })
}
