//! The proxy choice against Go's own tables (golang.org/x/net/http/httpproxy proxy_test.go)
//! and the forms and refusals of issue 11.

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
/// schemes): (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, request, expected proxy URL; `None`: direct).
const GO_PROXY_FOR_URL: &[(&str, &str, &str, &str, Option<&str>)] = &[
    ("127.0.0.1:8080", "", "", "", Some("http://127.0.0.1:8080")),
    (
        "cache.corp.example.com:1234",
        "",
        "",
        "",
        Some("http://cache.corp.example.com:1234"),
    ),
    (
        "cache.corp.example.com",
        "",
        "",
        "",
        Some("http://cache.corp.example.com"),
    ),
    ("localhost", "", "", "", Some("http://localhost")),
    (
        "https://cache.corp.example.com",
        "",
        "",
        "",
        Some("https://cache.corp.example.com"),
    ),
    (
        "http://127.0.0.1:8080",
        "",
        "",
        "",
        Some("http://127.0.0.1:8080"),
    ),
    (
        "https://127.0.0.1:8080",
        "",
        "",
        "",
        Some("https://127.0.0.1:8080"),
    ),
    (
        "http.proxy.tld",
        "secure.proxy.tld",
        "",
        "http://insecure.tld/",
        Some("http://http.proxy.tld"),
    ),
    (
        "http.proxy.tld",
        "secure.proxy.tld",
        "",
        "https://secure.tld/",
        Some("http://secure.proxy.tld"),
    ),
    (
        "http.proxy.tld",
        "https://secure.proxy.tld",
        "",
        "https://secure.tld/",
        Some("https://secure.proxy.tld"),
    ),
    ("http.proxy.tld", "", "", "https://secure.tld/", None),
    ("http.proxy.tld", "", "", "ftp://insecure.tld/", None),
    ("", "", "", "", None),
    ("proxy", "", "example.com", "http://example.com/", None),
    (
        "proxy",
        "",
        ".example.com",
        "http://example.com/",
        Some("http://proxy"),
    ),
    (
        "proxy",
        "",
        "ample.com",
        "http://example.com/",
        Some("http://proxy"),
    ),
    ("proxy", "", "example.com", "http://foo.example.com/", None),
    (
        "proxy",
        "",
        ".foo.com",
        "http://example.com/",
        Some("http://proxy"),
    ),
    (
        "proxy",
        "",
        "example.com",
        "http://[1000::%25.example.com]:123",
        Some("http://proxy"),
    ),
];

/// [`GO_PROXY_FOR_URL`] through [`ProxyEnv::route`].
#[test]
fn go_proxy_for_url_table() {
    for (http, https, no, req, proxy) in GO_PROXY_FOR_URL {
        let want = &proxy.map_or(Route::Direct, |u| Route::Proxy(u.to_owned()));
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
