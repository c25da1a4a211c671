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

use std::net::IpAddr;

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
struct Target {
    scheme: String,
    host: String,
    port: String,
}

impl Target {
    /// Splits `scheme://[userinfo@]host[:port][/...]`; `None` when there is no `://`.
    fn parse(uri: &str) -> Option<Target> {
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

/// One `NO_PROXY` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// `*`: nothing is proxied.
    All,
    /// `10.0.0.0/8`, `2001:db8::/32`.
    Cidr { net: IpAddr, bits: u8 },
    /// `10.1.2.3`, `10.1.2.3:80`, `[::1]:443`; an empty port matches any.
    Ip { ip: IpAddr, port: String },
    /// `.suffix` (with its leading dot) and optional port; `exact` also matches the name
    /// without the dot (entries written `domain`, not `.domain` or `*.domain`).
    Domain {
        suffix: String,
        port: String,
        exact: bool,
    },
}

/// The parsed `NO_PROXY` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct NoProxy {
    rules: Vec<Rule>,
}

impl NoProxy {
    /// Go's `config.init`: entries split on `,`, trimmed and lower-cased; malformed ones
    /// ignored.
    fn parse(list: &str) -> NoProxy {
        let mut rules = Vec::new();
        for entry in list.split(',') {
            let entry = entry.trim().to_ascii_lowercase();
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                return NoProxy {
                    rules: vec![Rule::All],
                };
            }
            if let Some(rule) = parse_rule(&entry) {
                rules.push(rule);
            }
        }
        NoProxy { rules }
    }

    /// Go's `useProxy`: false for `localhost`, loopback addresses and `NO_PROXY` matches.
    fn use_proxy(&self, host: &str, port: &str) -> bool {
        if host == "localhost" {
            return false;
        }
        let ip = parse_addr(host);
        if ip.is_some_and(|ip| unmap(ip).is_loopback()) {
            return false;
        }
        let host = host.trim().to_ascii_lowercase();
        !self.rules.iter().any(|r| rule_matches(r, &host, port, ip))
    }
}

/// One entry (already trimmed, lower case, not `*`) as a rule; `None` when malformed.
fn parse_rule(entry: &str) -> Option<Rule> {
    if let Some(rule) = parse_cidr(entry) {
        return Some(rule);
    }
    let (host, port) = match split_host_port(entry) {
        Some((h, p)) => {
            if h.is_empty() {
                return None;
            }
            let h = h
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(h);
            (h, p)
        }
        None => (entry, ""),
    };
    if let Some(ip) = parse_ip(host) {
        return Some(Rule::Ip {
            ip,
            port: port.to_owned(),
        });
    }
    if host.is_empty() {
        return None;
    }
    let host = host
        .strip_prefix('*')
        .filter(|h| h.starts_with('.'))
        .unwrap_or(host);
    let exact = !host.starts_with('.');
    let suffix = if exact {
        format!(".{host}")
    } else {
        host.to_owned()
    };
    Some(Rule::Domain {
        suffix,
        port: port.to_owned(),
        exact,
    })
}

/// Whether `rule` matches the lower-cased `host` (with its parsed address, if it is one) and
/// `port`.
fn rule_matches(rule: &Rule, host: &str, port: &str, ip: Option<IpAddr>) -> bool {
    match (rule, ip) {
        (Rule::All, _) => true,
        (Rule::Cidr { net, bits }, Some(ip)) => cidr_contains(*net, *bits, ip),
        (Rule::Ip { ip: want, port: p }, Some(ip)) => {
            same_ip(*want, ip) && (p.is_empty() || p == port)
        }
        (
            Rule::Domain {
                suffix,
                port: p,
                exact,
            },
            None,
        ) => {
            (host.ends_with(suffix.as_str()) || (*exact && host == &suffix[1..]))
                && (p.is_empty() || p == port)
        }
        _ => false,
    }
}

/// Go's `net.SplitHostPort`: `host:port` or `[host]:port` (brackets removed); `None` when
/// there is no port or the form is malformed.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    let colon = s.rfind(':')?;
    let (host, inner_start, after_bracket) = if s.starts_with('[') {
        let end = s.find(']')?;
        if end + 1 != colon {
            return None;
        }
        (&s[1..end], 1, end + 1)
    } else {
        let host = &s[..colon];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if s[inner_start..].contains('[') || s[after_bracket..].contains(']') {
        return None;
    }
    Some((host, &s[colon + 1..]))
}

/// Go's `net.ParseIP`: dotted IPv4 or IPv6 without a zone.
fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// Go's `netip.ParseAddr` of a request host: like [`parse_ip`], but an IPv6 zone (`%eth0`) is
/// allowed and dropped.
fn parse_addr(host: &str) -> Option<IpAddr> {
    match host.split_once('%') {
        Some((addr, zone)) if !zone.is_empty() && addr.contains(':') => {
            addr.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
        }
        Some(_) => None,
        None => parse_ip(host),
    }
}

/// Go's `net.ParseCIDR`: `ip/bits`, bits within the address length.
fn parse_cidr(s: &str) -> Option<Rule> {
    let (ip, bits) = s.split_once('/')?;
    let net = parse_ip(ip)?;
    if bits.is_empty() || bits.len() > 3 || !bits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits: u8 = bits.parse().ok()?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some(Rule::Cidr { net, bits })
}

/// An address as Go compares them: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the IPv4 address.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Go's `net.IP.Equal`.
fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    unmap(a) == unmap(b)
}

/// Go's `net.IPNet.Contains`.
fn cidr_contains(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    let prefix = |bytes: &[u8], n: u8| -> Vec<u8> {
        bytes
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let keep = u32::from(n).saturating_sub(8 * i as u32).min(8);
                let mask = if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
                b & mask
            })
            .collect()
    };
    match (unmap(net), unmap(ip)) {
        (IpAddr::V4(n), IpAddr::V4(i)) => prefix(&n.octets(), bits) == prefix(&i.octets(), bits),
        (IpAddr::V6(n), IpAddr::V6(i)) => prefix(&n.octets(), bits) == prefix(&i.octets(), bits),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// golang.org/x/net/http/httpproxy proxy_test.go `noProxy`.
    const GO_NO_PROXY: &str = "foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, 10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, 2002:db8:a::45/64";

    /// proxy_test.go `UseProxyTests`: host (asked with port 80), whether it is proxied.
    const GO_USE_PROXY: &[(&str, bool)] = &[
        ("localhost", false),
        ("127.0.0.1", false),
        ("127.0.0.2", false),
        ("[::1]", false),
        ("[::2]", true),
        ("192.168.1.1", false),
        ("192.168.1.2", true),
        ("192.168.1.3", false),
        ("192.168.1.4", true),
        ("10.0.0.2", false),
        ("[2001:db8::52:0:1]", false),
        ("[2001:db8::52:0:2]", true),
        ("[2001:db8::52:0:3]", false),
        ("[2002:db8:a::123]", false),
        ("[fe80::424b:c8be:1643:a1b6]", true),
        ("barbaz.net", true),
        ("www.barbaz.net", false),
        ("foobar.com", false),
        ("www.foobar.com", false),
        ("foofoobar.com", true),
        ("baz.com", true),
        ("localhost.net", true),
        ("local.localhost", true),
        ("barbarbaz.net", true),
        ("wildcard.io", true),
        ("nested.wildcard.io", false),
        ("awildcard.io", true),
    ];

    /// `useProxy(host:80)` through the request path, as Go's `ExportUseProxy`.
    fn proxied(env: &ProxyEnv, host: &str) -> bool {
        env.route(&format!("http://{host}:80/")) != Route::Direct
    }

    #[test]
    fn go_use_proxy_table() {
        let env = ProxyEnv::new(Some("proxy"), None, GO_NO_PROXY);
        for (host, want) in GO_USE_PROXY {
            assert_eq!(proxied(&env, host), *want, "{host}");
        }
    }

    #[test]
    fn go_all_no_proxy() {
        let env = ProxyEnv::new(Some("proxy"), None, "*");
        for (host, _) in GO_USE_PROXY {
            assert!(!proxied(&env, host), "{host}");
        }
    }

    #[test]
    fn go_invalid_no_proxy() {
        let env = ProxyEnv::new(Some("proxy"), None, ":1");
        assert!(proxied(&env, "example.com"));
    }

    /// proxy_test.go `proxyForURLTests` that apply (no CGI, no IDNA, no unknown request
    /// schemes): (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, request, expected route).
    #[test]
    fn go_proxy_for_url_table() {
        let p = |u: &str| Route::Proxy(u.to_owned());
        let cases: &[(&str, &str, &str, &str, Route)] = &[
            ("127.0.0.1:8080", "", "", "", p("http://127.0.0.1:8080")),
            (
                "cache.corp.example.com:1234",
                "",
                "",
                "",
                p("http://cache.corp.example.com:1234"),
            ),
            (
                "cache.corp.example.com",
                "",
                "",
                "",
                p("http://cache.corp.example.com"),
            ),
            ("localhost", "", "", "", p("http://localhost")),
            (
                "https://cache.corp.example.com",
                "",
                "",
                "",
                p("https://cache.corp.example.com"),
            ),
            (
                "http://127.0.0.1:8080",
                "",
                "",
                "",
                p("http://127.0.0.1:8080"),
            ),
            (
                "https://127.0.0.1:8080",
                "",
                "",
                "",
                p("https://127.0.0.1:8080"),
            ),
            (
                "http.proxy.tld",
                "secure.proxy.tld",
                "",
                "http://insecure.tld/",
                p("http://http.proxy.tld"),
            ),
            (
                "http.proxy.tld",
                "secure.proxy.tld",
                "",
                "https://secure.tld/",
                p("http://secure.proxy.tld"),
            ),
            (
                "http.proxy.tld",
                "https://secure.proxy.tld",
                "",
                "https://secure.tld/",
                p("https://secure.proxy.tld"),
            ),
            (
                "http.proxy.tld",
                "",
                "",
                "https://secure.tld/",
                Route::Direct,
            ),
            (
                "http.proxy.tld",
                "",
                "",
                "ftp://insecure.tld/",
                Route::Direct,
            ),
            ("", "", "", "", Route::Direct),
            (
                "proxy",
                "",
                "example.com",
                "http://example.com/",
                Route::Direct,
            ),
            (
                "proxy",
                "",
                ".example.com",
                "http://example.com/",
                p("http://proxy"),
            ),
            (
                "proxy",
                "",
                "ample.com",
                "http://example.com/",
                p("http://proxy"),
            ),
            (
                "proxy",
                "",
                "example.com",
                "http://foo.example.com/",
                Route::Direct,
            ),
            (
                "proxy",
                "",
                ".foo.com",
                "http://example.com/",
                p("http://proxy"),
            ),
            (
                "proxy",
                "",
                "example.com",
                "http://[1000::%25.example.com]:123",
                p("http://proxy"),
            ),
        ];
        for (http, https, no, req, want) in cases {
            let nz = |s: &'static str| Some(s).filter(|s| !s.is_empty());
            let env = ProxyEnv::new(nz(http), nz(https), no);
            let req = if req.is_empty() {
                "http://example.com"
            } else {
                req
            };
            assert_eq!(
                &env.route(req),
                want,
                "http={http} https={https} no={no} {req}"
            );
        }
    }

    /// The forms issue 11 names: `host:port` and `*.domain` entries, against the default port.
    #[test]
    fn ports_and_wildcards() {
        let env = ProxyEnv::new(
            None,
            Some("http://proxy:3128"),
            "api.ecr.us-east-1.amazonaws.com:443, *.amazonaws.com.cn, .example, other:8443",
        );
        let direct = |u: &str| env.route(u) == Route::Direct;
        assert!(direct("https://api.ecr.us-east-1.amazonaws.com/"));
        assert!(direct("https://API.ecr.us-east-1.amazonaws.com:443/"));
        assert!(!direct("https://api.ecr.us-east-1.amazonaws.com:8443/"));
        assert!(direct("https://api.ecr.cn-north-1.amazonaws.com.cn/"));
        assert!(!direct("https://amazonaws.com.cn/"));
        assert!(direct("https://x.example/"));
        assert!(!direct("https://example/"));
        assert!(direct("https://other:8443/"));
        assert!(!direct("https://other/"));
        assert!(!direct("https://api.ecr.us-west-2.amazonaws.com/"));
        let env = ProxyEnv::new(None, Some("proxy:3128"), "*.amazonaws.com");
        assert!(env.route("https://api.ecr.us-east-1.amazonaws.com") == Route::Direct);
        assert_eq!(
            env.route("https://ecr.us-east-1.api.aws"),
            Route::Proxy("http://proxy:3128".to_owned())
        );
    }

    #[test]
    fn cidrs_and_mapped_addresses() {
        let env = ProxyEnv::new(Some("p"), None, "10.0.0.0/8,192.168.0.1,fd00::/8");
        let direct = |u: &str| env.route(u) == Route::Direct;
        assert!(direct("http://10.200.1.1/"));
        assert!(direct("http://[::ffff:10.1.1.1]/"));
        assert!(!direct("http://11.0.0.1/"));
        assert!(direct("http://192.168.0.1:8080/"));
        assert!(direct("http://[fd12::1]/"));
        assert!(!direct("http://[fe80::1%25eth0]/"));
        assert!(direct("http://[::ffff:127.0.0.1]/"), "mapped loopback");
        assert!(direct("http://user:pw@localhost:99/"));
        assert!(direct("http://127.9.9.9/"));
        assert!(
            !direct("http://LOCALHOST/"),
            "Go compares localhost as written"
        );
    }

    #[test]
    fn unsupported_and_bogus_proxies_refuse_unless_bypassed() {
        for value in ["socks5://127.0.0.1:1080", "SOCKS5H://h:1", "foo://host"] {
            let env = ProxyEnv::new(None, Some(value), "bypassed.example");
            match env.route("https://api.ecr.us-east-1.amazonaws.com/") {
                Route::Refuse(why) => assert!(why.contains("not supported"), "{why}"),
                other => panic!("{value}: {other:?}"),
            }
            assert_eq!(env.route("https://bypassed.example/"), Route::Direct);
            assert_eq!(env.route("https://127.0.0.1:9/"), Route::Direct);
            assert_eq!(env.route("http://api.example/"), Route::Direct);
        }
        let env = ProxyEnv::new(Some("http://a b"), Some("http://[::"), "").checked(|u| {
            if u.contains(' ') || u.contains("[::") {
                Err("bad".into())
            } else {
                Ok(())
            }
        });
        assert!(
            matches!(env.route("https://x.example/"), Route::Refuse(w) if w.contains("invalid proxy URL"))
        );
        assert!(matches!(env.route("http://x.example/"), Route::Refuse(_)));
    }

    #[test]
    fn refusal_texts_redact_passwords() {
        let env = ProxyEnv::new(None, Some("socks5://user:hunter2@h:1080"), "");
        let Route::Refuse(why) = env.route("https://x.example/") else {
            panic!("not refused")
        };
        assert!(
            !why.contains("hunter2") && why.contains("user:xxxxx@h:1080"),
            "{why}"
        );
    }

    #[test]
    fn proxy_values_parse_like_go() {
        let usable = |v: &str| parse_setting(Some(v));
        assert_eq!(usable(""), Setting::Unset);
        assert_eq!(
            usable("HTTP://Proxy:1"),
            Setting::Usable("http://Proxy:1".into())
        );
        assert_eq!(
            usable("proxy:3128/"),
            Setting::Usable("http://proxy:3128/".into())
        );
        assert_eq!(
            usable("u:p@proxy"),
            Setting::Usable("http://u:p@proxy".into())
        );
        assert_eq!(
            usable("http:///x"),
            Setting::Usable("http://http:///x".into())
        );
        assert!(matches!(usable("socks5://h"), Setting::Unusable(_)));
    }
}
