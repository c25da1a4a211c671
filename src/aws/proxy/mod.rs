//! Which proxy a request goes through, decided as Go's `net/http.ProxyFromEnvironment`
//! (golang.org/x/net/http/httpproxy `FromEnvironment().ProxyFunc()`) decides it.
//!
//! * `HTTPS_PROXY` serves `https://` requests and `HTTP_PROXY` `http://` ones (upper case first,
//!   then lower case). A value without a scheme and host (`proxy:3128`, `10.0.0.1:8080`) means
//!   `http://<value>`.
//! * `localhost` and loopback addresses are never proxied.
//! * `NO_PROXY` entries: `*` (nothing is proxied), an IP address or CIDR, an optional `:port`,
//!   `domain` (the name and its subdomains), `.domain` and `*.domain` (subdomains only).
//!
//! Where Go would use a proxy our HTTP client cannot speak (`socks5://`, `socks5h://`, any other
//! scheme) or a value that does not parse, the request is refused: the helper answers
//! not-found and logs why, instead of silently connecting directly past a mandated proxy.

mod no_proxy;
#[cfg(test)]
mod tests;
mod url;

use no_proxy::NoProxy;
pub use url::ProxyUrl;

/// One proxy variable, as read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// Not set (or empty): connect directly.
    Unset,
    /// An `http://` or `https://` proxy URL our client can use.
    Usable(String),
    /// A proxy that must not be bypassed but cannot be used; the reason (URLs redacted).
    Unusable(String),
}

/// The decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Connect straight to the target.
    Direct,
    /// Connect through this `http://` or `https://` proxy URL.
    Proxy(String),
    /// Do not connect at all; the reason.
    Refuse(String),
}

/// The proxy environment of the process, parsed once.
#[derive(Debug, Clone)]
pub struct ProxyEnv {
    http: Setting,
    https: Setting,
    no_proxy: NoProxy,
}

/// A non-empty environment variable, upper case first, as Go's `getEnvAny` reads them. A
/// value of only blanks counts as unset.
fn env_either(upper: &str, lower: &str) -> Option<String> {
    [upper, lower]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
}

impl ProxyEnv {
    /// `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` (or their lower-case forms).
    pub fn from_env() -> ProxyEnv {
        ProxyEnv::new(
            env_either("HTTP_PROXY", "http_proxy").as_deref(),
            env_either("HTTPS_PROXY", "https_proxy").as_deref(),
            env_either("NO_PROXY", "no_proxy").as_deref().unwrap_or(""),
        )
    }

    /// The environment from explicit values.
    pub fn new(http: Option<&str>, https: Option<&str>, no_proxy: &str) -> ProxyEnv {
        ProxyEnv {
            http: parse_setting(http),
            https: parse_setting(https),
            no_proxy: NoProxy::parse(no_proxy),
        }
    }

    /// Runs `check` on every usable proxy URL (the HTTP client's own parser) and makes the
    /// ones it rejects unusable.
    pub fn checked(mut self, check: impl Fn(&str) -> Result<(), String>) -> ProxyEnv {
        for setting in [&mut self.http, &mut self.https] {
            if let Setting::Usable(url) = setting {
                if let Err(e) = check(url) {
                    *setting = Setting::Unusable(format!(
                        "invalid proxy URL {}: {e}",
                        crate::log::redact_url(url)
                    ));
                }
            }
        }
        self
    }

    /// The usable proxy URL for `https://` (or `http://`) requests, if there is one.
    pub fn usable(&self, https: bool) -> Option<&str> {
        match if https { &self.https } else { &self.http } {
            Setting::Usable(url) => Some(url),
            _ => None,
        }
    }

    /// The proxy for `uri` (`scheme://authority/...`).
    pub fn route(&self, uri: &str) -> Route {
        let Some(target) = Target::parse(uri) else {
            return Route::Direct;
        };
        let setting = match target.scheme.as_str() {
            "https" => &self.https,
            "http" => &self.http,
            _ => &Setting::Unset,
        };
        if *setting == Setting::Unset || !self.no_proxy.use_proxy(&target.host, &target.port) {
            return Route::Direct;
        }
        match setting {
            Setting::Usable(url) => Route::Proxy(url.clone()),
            Setting::Unusable(why) => Route::Refuse(why.clone()),
            Setting::Unset => Route::Direct,
        }
    }
}

/// Go's `parseProxy`: the value as a URL when it has a scheme and a host, else `http://` + it;
/// then only `http` and `https` are usable.
fn parse_setting(value: Option<&str>) -> Setting {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Setting::Unset;
    };
    let (scheme, url) = match split_scheme(value) {
        Some((scheme, rest)) if has_host(rest) => {
            let scheme = scheme.to_ascii_lowercase();
            let url = format!("{scheme}:{rest}");
            (scheme, url)
        }
        _ => ("http".to_owned(), format!("http://{value}")),
    };
    match scheme.as_str() {
        "http" | "https" => Setting::Usable(url),
        _ => Setting::Unusable(format!(
            "proxy scheme {scheme:?} is not supported (only http and https proxies are), proxy {}",
            crate::log::redact_url(&url)
        )),
    }
}

/// The scheme of a URL as Go's `url.getScheme` finds it: a letter, then letters, digits, `+`,
/// `-` or `.`, then `:`. Returns the scheme and what follows the colon.
fn split_scheme(value: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = value.split_once(':')?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    (first_ok && rest_ok).then_some((scheme, rest))
}

/// Whether the part after `scheme:` has a non-empty authority (`//host...`).
fn has_host(rest: &str) -> bool {
    rest.strip_prefix("//")
        .and_then(|r| r.split(['/', '?', '#']).next())
        .is_some_and(|authority| {
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            !host.is_empty()
        })
}

/// The scheme, host (lower case, no brackets) and port (explicit or the scheme's default) of a
/// request URI, as Go's `canonicalAddr` gives them.
#[derive(Debug)]
pub struct Target {
    pub scheme: String,
    pub host: String,
    pub port: String,
}

impl Target {
    /// Splits `scheme://[userinfo@]host[:port][/...]`; `None` when there is no `://`.
    pub fn parse(uri: &str) -> Option<Target> {
        let (scheme, rest) = uri.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = match hostport.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').unwrap_or((v6, ""));
                (host, after.strip_prefix(':').unwrap_or_default())
            }
            None => hostport.split_once(':').unwrap_or((hostport, "")),
        };
        let port = match (port, scheme.as_str()) {
            ("", "https") => "443",
            ("", "http") => "80",
            (p, _) => p,
        };
        Some(Target {
            host: host.to_owned(),
            port: port.to_owned(),
            scheme,
        })
    }
}
