//! The HTTP client every AWS call uses (ECR, ECR Public, STS, SSO, IMDS, ECS): our own small
//! connector on hyper's HTTP/1.1 client and tokio-rustls with ring, plugged into the SDK as its
//! `HttpClient`.
//!
//! Ours rather than `aws-smithy-http-client`'s because its TLS context takes roots only as PEM
//! and parses every one of them (issue 14): here the TLS configuration is loaded on a thread of
//! its own while the SDK sets up, with a verifier that parses only the trust anchors the server's
//! chain needs ([`tls::verify`]). Proxies as Go reads them (`HTTPS_PROXY`/`HTTP_PROXY`/
//! `NO_PROXY`, loopback never proxied, an unusable proxy refused rather than bypassed: `proxy`).
//! A plain `http://` endpoint (IMDS, container credentials, a test server) never uses roots and
//! never logs about them; a TLS connection with no roots at all fails with a clear error.

mod connect;
mod exchange;

use crate::aws::proxy::{ProxyEnv, ProxyUrl, Route};
use crate::aws::tls::verify::OnDemandVerifier;
use crate::aws::tls::{self, RootsConfig};
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use connect::Endpoint;
use exchange::{exchange, Form};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The proxy environment, with URLs the connector cannot use marked unusable.
fn proxy_env() -> ProxyEnv {
    ProxyEnv::from_env().checked(|url| ProxyUrl::parse(url).map(|_| ()))
}

/// The cipher suites the SDK's connector allows (smithy-rs `restrict_ciphers`): AES-GCM for
/// TLS 1.3, ECDHE with AES-GCM or ChaCha20 for TLS 1.2.
const SUITES: [rustls::CipherSuite; 7] = [
    rustls::CipherSuite::TLS13_AES_256_GCM_SHA384,
    rustls::CipherSuite::TLS13_AES_128_GCM_SHA256,
    rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// ring, restricted to [`SUITES`].
fn provider() -> rustls::crypto::CryptoProvider {
    let base = rustls::crypto::ring::default_provider();
    let cipher_suites = base
        .cipher_suites
        .iter()
        .filter(|s| SUITES.contains(&s.suite()))
        .copied()
        .collect();
    rustls::crypto::CryptoProvider {
        cipher_suites,
        ..base
    }
}

/// The TLS configuration for the roots of `cfg`, or where roots were looked for in vain, with
/// what the log says about it on first use (loading runs on a thread of its own, which logs
/// nothing: a process that never connects with TLS must not log a missing bundle).
#[derive(Debug)]
struct Loaded {
    config: Result<Arc<rustls::ClientConfig>, String>,
    source: String,
    count: usize,
}

/// Loads the roots of `cfg` (read and decoded now, parsed on demand by the verifier) into a
/// configuration for TLS 1.2 and 1.3, HTTP/1.1 by ALPN.
fn load(cfg: &RootsConfig) -> Loaded {
    let roots = tls::load(cfg);
    let source = tls::describe(&roots.source);
    let count = roots.certs.len();
    if roots.certs.is_empty() {
        let config = Err(format!("no CA certificates found ({source})"));
        return Loaded {
            config,
            source,
            count,
        };
    }
    let provider = Arc::new(provider());
    let verifier = OnDemandVerifier::new(Arc::new(roots.certs), provider.clone());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|builder| {
            let mut config = builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Arc::new(config)
        })
        .map_err(|e| format!("TLS configuration: {e}"));
    Loaded {
        config,
        source,
        count,
    }
}

impl Loaded {
    /// The log lines of the first TLS connection: the roots' source, or the missing bundle.
    fn log(&self) {
        if self.count == 0 {
            crate::log::error(
                "No CA certificates found: cannot make TLS connections. Install a CA bundle (e.g. the ca-certificates package) or set SSL_CERT_FILE or AWS_CA_BUNDLE",
                &[("searched", &self.source)],
            );
        } else {
            let count = self.count.to_string();
            crate::log::debug(
                "Loaded CA certificates",
                &[("source", &self.source), ("count", &count)],
            );
        }
    }
}

/// The TLS configuration of one client: loaded ahead on a thread of its own ([`client`]), or
/// on the first TLS connection if that comes first; logged once, on that connection.
#[derive(Debug)]
struct TlsState {
    loaded: OnceLock<Loaded>,
    logged: std::sync::Once,
}

impl TlsState {
    fn new() -> TlsState {
        TlsState {
            loaded: OnceLock::new(),
            logged: std::sync::Once::new(),
        }
    }
}

type TlsCell = Arc<TlsState>;

/// Sends each request direct or through the proxy as [`ProxyEnv::route`] decides (refusing
/// it when the proxy is unusable), on a fresh connection, TLS for everything but `http://`.
#[derive(Debug, Clone)]
struct Dispatch {
    tls: TlsCell,
    roots: Arc<RootsConfig>,
    proxies: Arc<ProxyEnv>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
}

/// A connector error that fails the request without connecting anywhere.
fn fail(msg: String) -> HttpConnectorFuture {
    HttpConnectorFuture::ready(Err(ConnectorError::other(msg.into(), None)))
}

/// The scheme, host (no brackets) and port of a request URI.
fn endpoint(uri: &http::Uri) -> Option<Endpoint> {
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return None,
    };
    let host = uri.host()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some(Endpoint {
        https,
        host: host.to_owned(),
        port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
    })
}

/// `fut`, or a timeout error after `limit`.
async fn within<T>(
    limit: Option<Duration>,
    what: &'static str,
    fut: impl std::future::Future<Output = Result<T, ConnectorError>>,
) -> Result<T, ConnectorError> {
    let Some(limit) = limit else {
        return fut.await;
    };
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result,
        Err(_) => Err(ConnectorError::timeout(
            format!("{what} timed out after {limit:?}").into(),
        )),
    }
}

/// The SDK's kind for a failed connection: I/O (retried), except a certificate the verifier
/// refused, which no retry changes (the answer comes at once instead of after the retries).
fn connect_error(e: std::io::Error) -> ConnectorError {
    let refused = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|r| matches!(r, rustls::Error::InvalidCertificate(_)));
    if refused {
        ConnectorError::other(Box::new(e), None)
    } else {
        ConnectorError::io(Box::new(e))
    }
}

/// A plain-HTTP request to a proxy: absolute form, with the proxy's credentials if it has any.
fn to_proxy(request: &mut http::Request<SdkBody>, proxy: &ProxyUrl) {
    if let Some(auth) = &proxy.authorization {
        if let Ok(value) = http::HeaderValue::from_str(auth.expose()) {
            request
                .headers_mut()
                .insert(http::header::PROXY_AUTHORIZATION, value);
        }
    }
}

impl Dispatch {
    fn tls(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        let loaded = self.tls.loaded.get_or_init(|| load(&self.roots));
        self.tls.logged.call_once(|| loaded.log());
        loaded.config.clone()
    }

    async fn send(
        self,
        mut request: http::Request<SdkBody>,
        proxy: Option<ProxyUrl>,
    ) -> Result<HttpResponse, ConnectorError> {
        let target = endpoint(request.uri()).ok_or_else(|| {
            ConnectorError::user(format!("not an http(s) URL: {}", request.uri()).into())
        })?;
        let needs_tls = target.https || proxy.as_ref().is_some_and(|p| p.tls);
        // No roots is no reason to connect, nor to retry.
        let tls = if needs_tls {
            Some(
                self.tls()
                    .map_err(|e| ConnectorError::other(e.into(), None))?,
            )
        } else {
            None
        };
        let io = within(self.connect_timeout, "connect", async {
            connect::connect(&target, proxy.as_ref(), tls.as_ref(), self.connect_timeout)
                .await
                .map_err(connect_error)
        })
        .await?;
        let form = match &proxy {
            Some(proxy) if !target.https => {
                to_proxy(&mut request, proxy);
                Form::Absolute
            }
            _ => Form::Origin,
        };
        within(self.read_timeout, "response", exchange(io, request, form)).await
    }

    /// The proxy for `uri`, or the refusal to connect at all (logged).
    fn proxy_for(&self, uri: &str) -> Result<Option<ProxyUrl>, String> {
        match self.proxies.route(uri) {
            Route::Direct => Ok(None),
            Route::Proxy(url) => ProxyUrl::parse(&url)
                .map(Some)
                .map_err(|e| format!("proxy unusable: {e}")),
            Route::Refuse(why) => {
                crate::log::error(
                    "Not connecting: the proxy setting cannot be used, and going around it is not allowed",
                    &[("url", &crate::log::redact_url(uri)), ("error", &why)],
                );
                Err(format!("proxy unusable: {why}"))
            }
        }
    }
}

impl HttpConnector for Dispatch {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let proxy = match self.proxy_for(request.uri()) {
            Ok(proxy) => proxy,
            Err(msg) => return fail(msg),
        };
        let request = match request.try_into_http1x() {
            Ok(r) => r,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        HttpConnectorFuture::new(self.clone().send(request, proxy))
    }
}

/// The shared client: proxies as Go's `ProxyFromEnvironment` chooses them, the SDK's connect
/// and read timeouts, and the TLS configuration loaded at once on a thread of its own, so that
/// reading the CA bundle overlaps the SDK's set-up instead of following it (only a cold `get`
/// makes a client; the thread is never joined).
pub fn client(roots: RootsConfig) -> SharedHttpClient {
    let proxies = Arc::new(proxy_env());
    let tls: TlsCell = Arc::new(TlsState::new());
    let roots = Arc::new(roots);
    let (ahead, ahead_roots) = (tls.clone(), roots.clone());
    // No thread (a limit reached): the first TLS connection loads them instead.
    let _ = std::thread::Builder::new()
        .name("ecr-login-roots".to_owned())
        .spawn(move || {
            ahead.loaded.get_or_init(|| load(&ahead_roots));
        });
    http_client_fn(move |settings, _components| {
        SharedHttpConnector::new(Dispatch {
            tls: tls.clone(),
            roots: roots.clone(),
            proxies: proxies.clone(),
            connect_timeout: settings.connect_timeout(),
            read_timeout: settings.read_timeout(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = endpoint(&"https://api.ecr.us-east-1.amazonaws.com/".parse().unwrap()).unwrap();
        assert!(e.https);
        assert_eq!(
            (e.host.as_str(), e.port),
            ("api.ecr.us-east-1.amazonaws.com", 443)
        );
        let e = endpoint(&"http://[::1]:8080/x".parse().unwrap()).unwrap();
        assert!(!e.https);
        assert_eq!((e.host.as_str(), e.port), ("::1", 8080));
        assert!(endpoint(&"/relative".parse().unwrap()).is_none());
        assert!(endpoint(&"ftp://h/".parse().unwrap()).is_none());
    }

    #[test]
    fn a_refused_certificate_is_not_retried() {
        use aws_smithy_types::retry::ErrorKind;
        let bad = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let e = connect_error(std::io::Error::new(std::io::ErrorKind::InvalidData, bad));
        assert!(!e.is_io() && !e.is_timeout());
        assert_eq!(e.as_other(), None::<ErrorKind>);
        let e = connect_error(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(e.is_io());
    }

    #[test]
    fn restricted_suites() {
        let p = provider();
        assert!(!p.cipher_suites.is_empty());
        assert!(p.cipher_suites.iter().all(|s| SUITES.contains(&s.suite())));
    }
}
