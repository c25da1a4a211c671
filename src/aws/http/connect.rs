//! One connection for one request: TCP (a literal address is never resolved; a name is, by
//! the system resolver), through a proxy when the route says so (TLS to an `https://` proxy,
//! then `CONNECT` for an `https://` target), then TLS to the target with the caller's
//! [`ClientConfig`](rustls::ClientConfig).
//!
//! Nothing is pooled: a `get` makes one to three requests, mostly to different hosts, and a
//! fresh connection each spares the pool's code and its background work.

use crate::aws::proxy::ProxyUrl;
use rustls_pki_types::ServerName;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// A byte stream: TCP, TLS over TCP, or TLS inside a tunnel.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}
pub type Io = Box<dyn Stream>;

/// Where a request goes: the scheme's host and port.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

/// Connects to `target`, directly or through `proxy`; `tls` is the configuration for every TLS
/// hop (`None` for a request that has none: plain HTTP, no `https://` proxy); `budget` is the
/// whole connection's time (the caller enforces it), shared among a name's addresses as
/// hyper's connector does.
pub async fn connect(
    target: &Endpoint,
    proxy: Option<&ProxyUrl>,
    tls: Option<&Arc<rustls::ClientConfig>>,
    budget: Option<Duration>,
) -> io::Result<Io> {
    let Some(proxy) = proxy else {
        let tcp: Io = Box::new(tcp(&target.host, target.port, budget).await?);
        return if target.https {
            handshake(tls, &target.host, tcp).await
        } else {
            Ok(tcp)
        };
    };
    let mut io: Io = Box::new(tcp(&proxy.host, proxy.port, budget).await?);
    if proxy.tls {
        io = handshake(tls, &proxy.host, io).await?;
    }
    if !target.https {
        // plain HTTP goes to the proxy in absolute form (the caller writes it so)
        return Ok(io);
    }
    let auth = proxy.authorization.as_ref().map(|a| a.expose().as_str());
    tunnel(&mut io, target, auth).await?;
    handshake(tls, &target.host, io).await
}

/// TCP to the first address of `host` that answers, each address given an equal share of
/// `budget` (so a black-holed first address leaves time for the next); `TCP_NODELAY` as the
/// SDK's connector sets it. tokio resolves a literal address in place and only a name on its
/// blocking pool.
async fn tcp(host: &str, port: u16, budget: Option<Duration>) -> io::Result<TcpStream> {
    let addrs: Vec<_> = tokio::net::lookup_host((host, port)).await?.collect();
    let share = budget.map(|b| b / u32::try_from(addrs.len().max(1)).unwrap_or(u32::MAX));
    let mut last = None;
    for addr in addrs {
        let attempt = TcpStream::connect(addr);
        let result = match share {
            Some(share) => tokio::time::timeout(share, attempt)
                .await
                .unwrap_or_else(|_| {
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("{addr}: connect timed out"),
                    ))
                }),
            None => attempt.await,
        };
        match result {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{host}: no address"))))
}

/// A TLS client handshake as `host` over `io`.
async fn handshake(tls: Option<&Arc<rustls::ClientConfig>>, host: &str, io: Io) -> io::Result<Io> {
    let config = tls
        .cloned()
        .ok_or_else(|| io::Error::other("no TLS configuration"))?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{host}: {e}")))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, io)
        .await?;
    Ok(Box::new(stream))
}

/// The most a proxy's answer to `CONNECT` may take before the blank line.
const CONNECT_REPLY_CAP: usize = 16 << 10;

/// `CONNECT host:port` through the proxy on `io`; a `2xx` answer opens the tunnel.
async fn tunnel(io: &mut Io, target: &Endpoint, auth: Option<&str>) -> io::Result<()> {
    let authority = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = auth {
        request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    request.push_str("\r\n");
    io.write_all(request.as_bytes()).await?;
    io.flush().await?;
    let reply = read_head(io).await?;
    check_connect_reply(&reply)
}

/// Reads up to the end of the reply's head (`\r\n\r\n`). The client speaks first in TLS, so a
/// proxy sends nothing after the head; anything it does is refused.
async fn read_head(io: &mut Io) -> io::Result<Vec<u8>> {
    let mut reply = Vec::with_capacity(256);
    let mut buf = [0u8; 1024];
    loop {
        let n = io.read(&mut buf).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "proxy closed the connection during CONNECT",
            ));
        }
        reply.extend_from_slice(&buf[..n]);
        if let Some(end) = reply.windows(4).position(|w| w == b"\r\n\r\n") {
            if end + 4 != reply.len() {
                return Err(io::Error::other("proxy sent data after its CONNECT reply"));
            }
            return Ok(reply);
        }
        if reply.len() > CONNECT_REPLY_CAP {
            return Err(io::Error::other("proxy's CONNECT reply is too long"));
        }
    }
}

/// `HTTP/1.x 2xx ...` opens the tunnel; anything else is the proxy's refusal, named.
fn check_connect_reply(reply: &[u8]) -> io::Result<()> {
    let line = reply.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line).trim_end().to_owned();
    let mut parts = line.split_whitespace();
    let version_ok = parts.next().is_some_and(|v| v.starts_with("HTTP/1."));
    let status = parts.next().and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(200..=299) if version_ok => Ok(()),
        _ => Err(io::Error::other(format!(
            "proxy refused CONNECT: {}",
            line.chars().take(200).collect::<String>()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_replies() {
        assert!(check_connect_reply(b"HTTP/1.1 200 Connection established\r\n\r\n").is_ok());
        assert!(check_connect_reply(b"HTTP/1.0 200 OK\r\n\r\n").is_ok());
        let e =
            check_connect_reply(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").unwrap_err();
        assert!(
            e.to_string().contains("407 Proxy Authentication Required"),
            "{e}"
        );
        assert!(check_connect_reply(b"garbage\r\n\r\n").is_err());
        assert!(check_connect_reply(b"SSH-2.0 200\r\n\r\n").is_err());
    }

    #[tokio::test]
    async fn tcp_to_an_address_and_a_name_and_a_refusal() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let budget = Some(Duration::from_secs(5));
        let s = tcp("127.0.0.1", port, budget).await.unwrap();
        assert!(s.nodelay().unwrap());
        if let Err(e) = tcp("localhost", port, budget).await {
            // localhost may come first as ::1, where nothing listens: then the error is that
            assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        }
        drop(listener);
        let e = tcp("127.0.0.1", port, budget).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[tokio::test]
    async fn tunnel_through_a_proxy_that_says_yes_and_no() {
        for (answer, ok) in [
            (&b"HTTP/1.1 200 OK\r\n\r\n"[..], true),
            (b"HTTP/1.1 403 Forbidden\r\n\r\n", false),
            (b"HTTP/1.1 200 OK\r\n\r\nextra", false),
            (b"HTTP/1.1 200 OK\r\n", false),
        ] {
            let (client, mut server) = tokio::io::duplex(4096);
            let answer = answer.to_vec();
            let proxy = tokio::spawn(async move {
                let mut seen = vec![0u8; 4096];
                let n = server.read(&mut seen).await.unwrap();
                server.write_all(&answer).await.unwrap();
                drop(server);
                String::from_utf8(seen[..n].to_vec()).unwrap()
            });
            let mut io: Io = Box::new(client);
            let target = Endpoint {
                https: true,
                host: "api.ecr.us-east-1.amazonaws.com".into(),
                port: 443,
            };
            let got = tunnel(&mut io, &target, Some("Basic dTpw")).await;
            assert_eq!(got.is_ok(), ok, "{got:?}");
            let seen = proxy.await.unwrap();
            assert_eq!(
                seen,
                "CONNECT api.ecr.us-east-1.amazonaws.com:443 HTTP/1.1\r\nHost: api.ecr.us-east-1.amazonaws.com:443\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
            );
        }
    }
}
