//! The floor program of the benchmark (issue 14): a bench tool, not shipped.
//!
//! `floor <region> <host>` does the least a credential helper's cold `get` can do: one TCP
//! connection through the CONNECT proxy of `HTTPS_PROXY` (`http://host:port`; direct when unset),
//! one TLS handshake (rustls with ring, as our helper), one SigV4-signed
//! `GetAuthorizationToken` (JSON 1.1: `POST /`, body `{}`, signed with the `aws-sigv4` crate, the
//! keys of `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`) with
//! `Connection: close`, and reading the answer. Exit 0 on HTTP 200 with `authorizationData` in
//! the body, 1 otherwise (a message on stderr; nothing secret is ever printed). No tokio, no
//! hyper, no SDK: blocking `std::net`.
//!
//! The roots come from `AWS_CA_BUNDLE`, else `SSL_CERT_FILE`, else the first existing
//! distribution bundle file (the same list as the helper's). Every certificate of that file is
//! parsed into the `RootCertStore`: the helpers load a full bundle too, so a floor that trusted
//! only the test CA would not be a fair lower bound.
//!
//! `scripts/build --example floor` builds it static exactly like the helper; `scripts/bench`
//! times it beside both helpers in the cold rows (bench/README.md).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
// Bundle files tried when no variable names one: the helper's own list.
use docker_credential_ecr_login::aws::tls::BUNDLE_FILES as BUNDLES;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

const TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const BODY: &[u8] = b"{}";

#[derive(Debug, thiserror::Error)]
enum FloorError {
    #[error("usage: floor <region> <host>")]
    Usage,
    #[error("not a host name: {0}")]
    Host(String),
    #[error("{0} is not set")]
    MissingEnv(&'static str),
    #[error("no CA bundle (AWS_CA_BUNDLE, SSL_CERT_FILE or a distribution bundle)")]
    NoBundle,
    #[error("CA bundle {0}: {1:?}")]
    Bundle(PathBuf, rustls_pki_types::pem::Error),
    #[error("proxy {0}: only http://host:port is supported")]
    Proxy(String),
    #[error("proxy CONNECT refused: {0}")]
    Connect(String),
    #[error("signing: {0}")]
    Sign(String),
    #[error("tls: {0}")]
    Tls(#[from] rustls::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("not HTTP 200 with authorizationData: {0}")]
    Answer(String),
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [region, host] => run(region, host),
        _ => Err(FloorError::Usage),
    };
    if let Err(e) = result {
        eprintln!("floor: {e}");
        std::process::exit(1);
    }
}

fn run(region: &str, host: &str) -> Result<(), FloorError> {
    let config = tls_config()?;
    let request = signed_request(region, host)?;
    let tcp = connect(host)?;
    let name =
        ServerName::try_from(host.to_owned()).map_err(|_| FloorError::Host(host.to_owned()))?;
    let conn = rustls::ClientConnection::new(config, name)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(&request)?;
    let (status, body) = read_response(&mut tls)?;
    if !status.starts_with("HTTP/1.1 200") || !body.contains("authorizationData") {
        // The status line only: a 200's body would hold the token.
        return Err(FloorError::Answer(status));
    }
    Ok(())
}

/// rustls with ring and every certificate of the bundle file as roots.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, FloorError> {
    let path = ["AWS_CA_BUNDLE", "SSL_CERT_FILE"]
        .iter()
        .find_map(|v| std::env::var_os(v).filter(|p| !p.is_empty()))
        .map(PathBuf::from)
        .or_else(|| BUNDLES.iter().map(PathBuf::from).find(|p| p.is_file()))
        .ok_or(FloorError::NoBundle)?;
    let certs = CertificateDer::pem_file_iter(&path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| FloorError::Bundle(path.clone(), e))?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The whole HTTP/1.1 request, SigV4-signed.
fn signed_request(region: &str, host: &str) -> Result<Vec<u8>, FloorError> {
    let env = |name: &'static str| std::env::var(name).map_err(|_| FloorError::MissingEnv(name));
    let identity = aws_credential_types::Credentials::new(
        env("AWS_ACCESS_KEY_ID")?,
        env("AWS_SECRET_ACCESS_KEY")?,
        std::env::var("AWS_SESSION_TOKEN").ok(),
        None,
        "environment",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("ecr")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| FloorError::Sign(e.to_string()))?
        .into();
    let headers = [
        ("host", host),
        ("content-type", CONTENT_TYPE),
        ("x-amz-target", TARGET),
    ];
    let uri = format!("https://{host}/");
    let signable =
        SignableRequest::new("POST", &uri, headers.into_iter(), SignableBody::Bytes(BODY))
            .map_err(|e| FloorError::Sign(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| FloorError::Sign(e.to_string()))?
        .into_parts();
    let mut head = format!(
        "POST / HTTP/1.1\r\nhost: {host}\r\ncontent-type: {CONTENT_TYPE}\r\nx-amz-target: {TARGET}\r\n"
    );
    for (name, value) in instructions.headers() {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        BODY.len()
    ));
    let mut request = head.into_bytes();
    request.extend_from_slice(BODY);
    Ok(request)
}

/// TCP to `host:443`, through the CONNECT proxy of HTTPS_PROXY when set.
fn connect(host: &str) -> Result<TcpStream, FloorError> {
    let proxy = ["HTTPS_PROXY", "https_proxy"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|p| !p.is_empty()));
    let Some(proxy) = proxy else {
        return Ok(TcpStream::connect((host, 443))?);
    };
    let addr = proxy
        .strip_prefix("http://")
        .map(|a| a.trim_end_matches('/'))
        .filter(|a| !a.contains(['/', '@']))
        .ok_or_else(|| FloorError::Proxy(proxy.clone()))?;
    let mut tcp = TcpStream::connect(addr)?;
    tcp.write_all(format!("CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n").as_bytes())?;
    // The proxy sends nothing after its answer until the ClientHello: whole reads are safe.
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tcp.read(&mut buf)?;
        if n == 0 {
            return Err(FloorError::Connect("connection closed".into()));
        }
        head.extend_from_slice(&buf[..n]);
    }
    let status = first_line(&head);
    if status.split(' ').nth(1) != Some("200") {
        return Err(FloorError::Connect(status));
    }
    Ok(tcp)
}

/// Reads the answer: the head, then `content-length` bytes (to EOF without one).
fn read_response(stream: &mut impl Read) -> Result<(String, String), FloorError> {
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut head_end: Option<usize> = None;
    let mut wanted: Option<usize> = None;
    loop {
        if head_end.is_none() {
            head_end = data.windows(4).position(|w| w == b"\r\n\r\n");
            if let Some(end) = head_end {
                let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                wanted = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .map(|len| end + 4 + len);
            }
        }
        if wanted.is_some_and(|total| data.len() >= total) {
            break;
        }
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            // A peer closing without close_notify, once everything it sent is read.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let status = first_line(&data);
    let body = head_end
        .map(|end| String::from_utf8_lossy(&data[end + 4..]).into_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn first_line(data: &[u8]) -> String {
    let line = data.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(line).trim_end().to_owned()
}
