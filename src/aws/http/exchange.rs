//! One request and its response over a fresh connection with hyper's HTTP/1.1 client, and the
//! SDK's error kinds for what goes wrong (the classification `aws-smithy-http-client` makes,
//! so retries behave as before: connection and I/O failures are retryable, timeouts are
//! timeouts).

use super::connect::Io;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_util::rt::TokioIo;
use std::error::Error as StdError;

/// The request line's form: origin (`/path?query`) to a server or through a tunnel, absolute
/// (`http://host/path`) to a plain-HTTP proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Origin,
    Absolute,
}

/// Sends `request` on `io` and returns the response with its body still streaming.
pub async fn exchange(
    io: Io,
    mut request: http::Request<SdkBody>,
    form: Form,
) -> Result<HttpResponse, ConnectorError> {
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| classify(&e)(Box::new(e)))?;
    tokio::spawn(async move {
        // Drives the connection until the response body is read; its end is of no interest.
        let _ = connection.await;
    });
    set_host(&mut request);
    if form == Form::Origin {
        let origin = request
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .parse::<http::Uri>()
            .map_err(|e| ConnectorError::user(Box::new(e)))?;
        *request.uri_mut() = origin;
    }
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| classify(&e)(Box::new(e)))?;
    HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
        .map_err(|e| ConnectorError::other(Box::new(e), None))
}

/// `Host` from the URI when the request has none (hyper's connection-level client, unlike its
/// pooled one, does not add it), without the scheme's default port.
fn set_host(request: &mut http::Request<SdkBody>) {
    if request.headers().contains_key(http::header::HOST) {
        return;
    }
    let uri = request.uri();
    let Some(host) = uri.host() else {
        return;
    };
    let default_port = match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    };
    let value = match uri.port_u16() {
        Some(port) if Some(port) != default_port => format!("{host}:{port}"),
        _ => host.to_owned(),
    };
    if let Ok(value) = http::HeaderValue::from_str(&value) {
        request.headers_mut().insert(http::header::HOST, value);
    }
}

type Kind = fn(Box<dyn StdError + Send + Sync>) -> ConnectorError;

/// The SDK's kind for a hyper error (`aws-smithy-http-client`'s `to_connector_error`).
fn classify(err: &hyper::Error) -> Kind {
    if err.is_timeout() {
        return ConnectorError::timeout;
    }
    if err.is_user() {
        return ConnectorError::user;
    }
    if err.is_closed() || err.is_canceled() || has_io_source(err) {
        return ConnectorError::io;
    }
    if err.is_incomplete_message() {
        return |e| ConnectorError::other(e, Some(ErrorKind::TransientError));
    }
    |e| ConnectorError::other(e, None)
}

fn has_io_source(err: &hyper::Error) -> bool {
    let mut next = err.source();
    while let Some(e) = next {
        if e.is::<std::io::Error>() {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_of(uri: &str) -> Option<String> {
        let mut r = http::Request::builder()
            .uri(uri)
            .body(SdkBody::empty())
            .unwrap();
        set_host(&mut r);
        r.headers()
            .get(http::header::HOST)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn host_header() {
        assert_eq!(
            host_of("https://api.ecr.us-east-1.amazonaws.com/").as_deref(),
            Some("api.ecr.us-east-1.amazonaws.com")
        );
        assert_eq!(host_of("https://h:443/").as_deref(), Some("h"));
        assert_eq!(host_of("https://h:8443/x").as_deref(), Some("h:8443"));
        assert_eq!(
            host_of("http://127.0.0.1:80/").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(host_of("http://[::1]:8080/").as_deref(), Some("[::1]:8080"));
        assert_eq!(host_of("/relative"), None);
    }
}
