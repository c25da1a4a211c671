//! A usable proxy URL taken apart for the connector: `http://` or `https://`, host, port (the
//! scheme's default when absent) and, from `user:password@`, the `Proxy-Authorization` value Go
//! sends (`Basic base64(user:password)`, both percent-decoded first, as `url.User` gives them).

use super::Target;
use crate::secret::Secret;

/// One proxy, ready to connect to.
#[derive(Debug, Clone)]
pub struct ProxyUrl {
    /// `https://`: the connection to the proxy itself is TLS.
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// `Basic …` for `Proxy-Authorization`, when the URL has a user.
    pub authorization: Option<Secret<String>>,
}

impl ProxyUrl {
    /// Parses a URL the proxy environment marked usable (scheme `http` or `https`); the error
    /// says what is wrong, without the URL (the caller redacts and adds it).
    pub fn parse(url: &str) -> Result<ProxyUrl, String> {
        url.parse::<http::Uri>().map_err(|e| e.to_string())?;
        let target = Target::parse(url).ok_or("no scheme")?;
        let tls = match target.scheme.as_str() {
            "http" => false,
            "https" => true,
            other => return Err(format!("scheme {other:?} is not http or https")),
        };
        if target.host.is_empty() || target.host.contains(char::is_whitespace) {
            return Err("no usable host".to_owned());
        }
        if target.host.contains(':') && target.host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("invalid IPv6 host".to_owned());
        }
        let port = target
            .port
            .parse::<u16>()
            .map_err(|_| format!("invalid port {:?}", target.port))?;
        Ok(ProxyUrl {
            tls,
            host: target.host,
            port,
            authorization: userinfo(url).map(basic),
        })
    }
}

/// The `user[:password]` of `scheme://user[:password]@host…`, if any.
fn userinfo(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    authority.rsplit_once('@').map(|(user, _)| user)
}

/// `Basic base64(user:password)` with both parts percent-decoded.
fn basic(userinfo: &str) -> Secret<String> {
    use base64::Engine as _;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let mut plain = percent_decode(user);
    plain.push(b':');
    plain.extend(percent_decode(password));
    let encoded = base64::engine::general_purpose::STANDARD.encode(plain);
    Secret::new(format!("Basic {encoded}"))
}

/// `%XX` to its byte; anything else (including a malformed `%`) as it is.
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts() {
        let p = ProxyUrl::parse("http://proxy.corp:3128").unwrap();
        assert!(!p.tls);
        assert_eq!((p.host.as_str(), p.port), ("proxy.corp", 3128));
        assert!(p.authorization.is_none());
        let p = ProxyUrl::parse("https://[::1]/").unwrap();
        assert!(p.tls);
        assert_eq!((p.host.as_str(), p.port), ("::1", 443));
        let p = ProxyUrl::parse("http://10.0.0.1").unwrap();
        assert_eq!(p.port, 80);
    }

    #[test]
    fn basic_auth_is_percent_decoded() {
        let p = ProxyUrl::parse("http://us%40er:p%3Ass@proxy:8080").unwrap();
        // base64("us@er:p:ss")
        assert_eq!(p.authorization.unwrap().expose(), "Basic dXNAZXI6cDpzcw==");
        let p = ProxyUrl::parse("http://user@proxy:8080").unwrap();
        assert_eq!(p.authorization.unwrap().expose(), "Basic dXNlcjo=");
        assert_eq!(percent_decode("a%zz%4"), b"a%zz%4");
    }

    #[test]
    fn refused() {
        for bad in [
            "http://",
            "http://a b",
            "http://[::",
            "http://host:99999",
            "http://host:x",
            "socks5://h:1",
            "noscheme",
        ] {
            assert!(ProxyUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
