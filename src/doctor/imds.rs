//! Whether the instance metadata service answers the IMDSv2 token request, and the classic
//! container failure: the endpoint accepts the connection but the answer never arrives, because
//! the instance's `HttpPutResponseHopLimit` is 1 and the container's network adds a hop.

use super::report::Check;
use crate::aws::imds::Endpoint;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Each step's bound (the SDK's IMDS client uses 1 s as well).
const STEP: Duration = Duration::from_secs(1);

/// What the token request met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imds {
    /// Disabled, or its v1 fallback is (the endpoint is then not probed).
    Disabled,
    /// No TCP connection.
    Unreachable(String),
    /// Connected, but no answer to the PUT within a second.
    Silent,
    /// The HTTP status of the token request.
    Status(u16),
}

/// Sends `PUT /latest/api/token` to `ep`.
pub async fn probe(ep: Option<Endpoint>) -> (Option<String>, Imds) {
    let Some(ep) = ep else {
        return (None, Imds::Disabled);
    };
    let result = exchange(&ep.authority).await;
    (Some(ep.authority), result)
}

async fn exchange(authority: &str) -> Imds {
    let mut stream =
        match tokio::time::timeout(STEP, tokio::net::TcpStream::connect(authority)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Imds::Unreachable(e.to_string()),
            Err(_) => return Imds::Unreachable("no answer to the connection".to_owned()),
        };
    let req = format!(
        "PUT /latest/api/token HTTP/1.0\r\nHost: {authority}\r\nx-aws-ec2-metadata-token-ttl-seconds: 21600\r\nContent-Length: 0\r\n\r\n"
    );
    let mut head = [0u8; 64];
    let read = async {
        stream.write_all(req.as_bytes()).await?;
        stream.read(&mut head).await
    };
    match tokio::time::timeout(STEP, read).await {
        Ok(Ok(n)) => std::str::from_utf8(&head[..n])
            .ok()
            .and_then(|h| h.split_whitespace().nth(1)?.parse().ok())
            .map_or(Imds::Silent, Imds::Status),
        Ok(Err(e)) => Imds::Unreachable(e.to_string()),
        Err(_) => Imds::Silent,
    }
}

/// The verdict; a failure only when instance metadata is where the credentials come from.
pub fn check(authority: Option<&str>, found: &Imds, needed: bool) -> Check {
    let at = authority.unwrap_or("169.254.169.254:80");
    let (detail, fix) = match found {
        Imds::Disabled => {
            return Check::skip("instance metadata", "disabled (AWS_EC2_METADATA_DISABLED or the v1 fallback is off)".to_owned())
        }
        Imds::Status(200) => return Check::ok("instance metadata", format!("{at} answers IMDSv2")),
        Imds::Status(s @ 403..=405) => {
            return Check::ok("instance metadata", format!("{at} refuses IMDSv2 tokens (HTTP {s}): the helper falls back to IMDSv1"))
        }
        Imds::Silent => (
            format!("{at} accepts the connection but never answers the token PUT: the hop limit is 1 and this runs in a container"),
            "set the instance's HttpPutResponseHopLimit to 2 (aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2), or AWS_EC2_METADATA_DISABLED=true when unused",
        ),
        Imds::Status(s) => (format!("{at} answers the token PUT with HTTP {s}"), "check what answers at that address"),
        Imds::Unreachable(e) => (
            format!("{at}: {e}"),
            "not on EC2? give credentials another way, and set AWS_EC2_METADATA_DISABLED=true",
        ),
    };
    if needed {
        Check::fail("instance metadata", detail, fix)
    } else {
        Check::skip("instance metadata", format!("not used; {detail}"))
    }
}
