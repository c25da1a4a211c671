//! Registry hostname rules (SPEC §4): which inputs are ECR registries, and which ones.
//!
//! Pure functions: no I/O, no allocation beyond the result. The host extraction mirrors Go's
//! `url.Parse("https://" + input)` closely enough that every input the Go helper accepts is
//! accepted here and every input it rejects is rejected.

/// An ECR registry named by a credential request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registry {
    /// A private registry: `<account>.dkr.ecr[-fips].<region>.<suffix>`.
    Private {
        account: String,
        region: String,
        fips: bool,
    },
    /// ECR Public: `public.ecr.aws` or `ecr-public.aws.com`.
    Public { host: String },
}

impl Registry {
    /// `ecr` or `ecr-public`, as the cache file's `Service` field says.
    pub fn service(&self) -> &'static str {
        match self {
            Registry::Private { .. } => "ecr",
            Registry::Public { .. } => "ecr-public",
        }
    }

    /// A private registry's region; `None` for ECR Public, whose API lives in one region.
    pub fn region(&self) -> Option<&str> {
        match self {
            Registry::Private { region, .. } => Some(region),
            Registry::Public { .. } => None,
        }
    }

    /// The cache directory's lock that makes this registry's fetches single-flight (SPEC §6).
    pub fn fetch_lock_name(&self) -> String {
        match self {
            Registry::Private {
                region, account, ..
            } => format!(".lock-{region}-{account}"),
            Registry::Public { .. } => ".lock-ecr-public".to_owned(),
        }
    }
}

/// The ECR Public hostnames (case-sensitive).
pub const PUBLIC_HOSTS: [&str; 2] = ["public.ecr.aws", "ecr-public.aws.com"];

/// Domain suffixes of every AWS partition (SPEC §4).
const SUFFIXES: [&str; 9] = [
    "amazonaws.com",
    "amazonaws.com.cn",
    "amazonaws.eu",
    "on.aws",
    "on.amazonwebservices.com.cn",
    "c2s.ic.gov",
    "sc2s.sgov.gov",
    "cloud.adc-e.uk",
    "csp.hci.ic.gov",
];

/// Parses a credential request's server URL into an ECR registry, or `None` if it is not one.
pub fn parse(input: &str) -> Option<Registry> {
    let host = extract_host(input)?;
    parse_host(host)
}

/// Classifies a bare hostname (no scheme, port or path).
pub fn parse_host(host: &str) -> Option<Registry> {
    if PUBLIC_HOSTS.contains(&host) {
        return Some(Registry::Public {
            host: host.to_owned(),
        });
    }
    parse_private(host)
}

fn parse_private(host: &str) -> Option<Registry> {
    let b = host.as_bytes();
    if b.len() < 13 || !b[..12].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let account = &host[..12];
    let rest = host[12..].strip_prefix(".dkr")?;
    let rest = rest
        .strip_prefix(".ecr")
        .or_else(|| rest.strip_prefix("-ecr"))?;
    let (fips, rest) = match rest.strip_prefix("-fips") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = rest.strip_prefix('.')?;
    let (region, suffix) = rest.split_once('.')?;
    if !valid_region(region) || !SUFFIXES.contains(&suffix) {
        return None;
    }
    Some(Registry::Private {
        account: account.to_owned(),
        region: region.to_owned(),
        fips,
    })
}

/// `(A-Z / a-z / 0-9) *(A-Z / a-z / 0-9 / "-" / "_")`, ASCII only.
fn valid_region(region: &str) -> bool {
    let mut bytes = region.bytes();
    match bytes.next() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    bytes.all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

/// Every `%` is followed by two hex digits (Go's `unescape` would fail otherwise).
fn valid_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !is_hex(b[i + 1]) || !is_hex(b[i + 2]) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

fn valid_userinfo(s: &str) -> bool {
    s.bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c))
        && valid_escapes(s)
}

/// `""` or `:` followed by ASCII digits.
fn valid_optional_port(p: &str) -> bool {
    match p.strip_prefix(':') {
        Some(digits) => digits.bytes().all(|c| c.is_ascii_digit()),
        None => p.is_empty(),
    }
}

/// The hostname of `https://` + `input` (one leading `https://` stripped first), as Go's
/// `url.Parse(...).Hostname()` gives it, or `None` where Go's parser fails.
pub fn extract_host(input: &str) -> Option<&str> {
    if input.bytes().any(|c| c < 0x20 || c == 0x7f) {
        return None;
    }
    let s = input.strip_prefix("https://").unwrap_or(input);
    // Go cuts the fragment first, then the query, then the authority at the first '/'.
    let (s, fragment) = match s.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (s, None),
    };
    let s = s.split_once('?').map_or(s, |(a, _query)| a);
    let (authority, path) = match s.find('/') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    if !valid_escapes(path) || !fragment.is_none_or(valid_escapes) {
        return None;
    }
    let hostport = match authority.rfind('@') {
        Some(i) => {
            if !valid_userinfo(&authority[..i]) {
                return None;
            }
            &authority[i + 1..]
        }
        None => authority,
    };
    if let Some(bracketed) = hostport.strip_prefix('[') {
        let end = bracketed.rfind(']')?;
        if !valid_optional_port(&bracketed[end + 1..]) {
            return None;
        }
        return Some(&bracketed[..end]);
    }
    match hostport.rfind(':') {
        Some(i) => {
            if !valid_optional_port(&hostport[i..]) {
                return None;
            }
            Some(&hostport[..i])
        }
        None => Some(hostport),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private(account: &str, region: &str, fips: bool) -> Option<Registry> {
        Some(Registry::Private {
            account: account.into(),
            region: region.into(),
            fips,
        })
    }

    fn public(host: &str) -> Option<Registry> {
        Some(Registry::Public { host: host.into() })
    }

    #[test]
    fn shapes_clients_send() {
        let want = private("123456789012", "us-east-1", false);
        for input in [
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/repo/manifests/latest",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo/path/img:tag",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com?x=%zz",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com#frag",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:",
            "user:pw@123456789012.dkr.ecr.us-east-1.amazonaws.com/repo",
            "a@b@123456789012.dkr.ecr.us-east-1.amazonaws.com",
        ] {
            assert_eq!(parse(input), want, "{input}");
        }
    }

    #[test]
    fn spec_examples() {
        assert_eq!(
            parse("user:pw@123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo/img:tag"),
            private("123456789012", "eu-west-1", false)
        );
        assert_eq!(
            parse("123456789012.dkr-ecr-fips.us-west-2.amazonaws.com"),
            private("123456789012", "us-west-2", true)
        );
        assert_eq!(parse("public.ecr.aws:443"), public("public.ecr.aws"));
        assert_eq!(
            parse("https://ecr-public.aws.com"),
            public("ecr-public.aws.com")
        );
        assert_eq!(
            parse("http://123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            None
        );
        assert_eq!(parse("123456789012.DKR.ECR.us-east-1.amazonaws.com"), None);
    }

    #[test]
    fn every_partition_suffix() {
        for (host, region) in [
            ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "us-east-1"),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "cn-north-1",
            ),
            (
                "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
                "eusc-de-east-1",
            ),
            ("123456789012.dkr-ecr.us-east-1.on.aws", "us-east-1"),
            (
                "123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn",
                "cn-north-1",
            ),
            (
                "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
                "us-iso-east-1",
            ),
            (
                "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
                "us-isob-east-1",
            ),
            (
                "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
                "eu-isoe-west-1",
            ),
            (
                "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
                "us-isof-south-1",
            ),
            (
                "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
                "us-gov-west-1",
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
                "us-gov-west-1",
            ),
            ("123456789012.dkr.ecr.US-EAST-1.amazonaws.com", "US-EAST-1"),
            ("123456789012.dkr.ecr.us_east_1.amazonaws.com", "us_east_1"),
        ] {
            let fips = host.contains("-fips");
            assert_eq!(parse(host), private("123456789012", region, fips), "{host}");
        }
    }

    #[test]
    fn not_ecr() {
        for input in [
            "",
            "https://",
            "https://https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "HTTPS://123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "index.docker.io",
            "https://index.docker.io/v1/",
            "docker.io",
            "public.ecr.aws.",
            "Public.ecr.aws",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.",
            "12345678901.dkr.ecr.us-east-1.amazonaws.com",
            "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
            "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
            "१२३४५६७८९०१२.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.org",
            "123456789012.dkr.ecr.us.east.1.amazonaws.com",
            "123456789012.dkr.ecr.-us-east-1.amazonaws.com",
            "123456789012.dkr.ecr..amazonaws.com",
            "123456789012.dkr.ecr-FIPS.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:44a",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:-1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/%zz",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/a%4",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com#%g0",
            "us er@123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "u%zz@123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com\n",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com\u{7f}",
            "vpce-1234.dkr.ecr.us-east-1.vpce.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.vpce.amazonaws.com",
            "[::1]:443",
            "[::1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com%2e",
        ] {
            assert_eq!(parse(input), None, "{input:?}");
        }
    }

    #[test]
    fn host_extraction() {
        assert_eq!(extract_host("[::1]:443"), Some("::1"));
        assert_eq!(extract_host("host:"), Some("host"));
        assert_eq!(extract_host("a/b?c#d"), Some("a"));
        assert_eq!(extract_host("u@h/p%41"), Some("h"));
        assert_eq!(extract_host("h/%4"), None);
        assert_eq!(extract_host("h/%"), None);
    }
}

/// Property tests: every host the SPEC §4 grammar builds, in every client shape, parses to exactly
/// its parts; mutations that leave the grammar never parse; nothing panics.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// (host, account, region, fips) built from the grammar.
    fn private_host() -> impl Strategy<Value = (String, String, String, bool)> {
        (
            "[0-9]{12}",
            prop_oneof![Just("."), Just("-")],
            any::<bool>(),
            "[A-Za-z0-9][A-Za-z0-9_-]{0,24}",
            proptest::sample::select(SUFFIXES.to_vec()),
        )
            .prop_map(|(account, sep, fips, region, suffix)| {
                let f = if fips { "-fips" } else { "" };
                let host = format!("{account}.dkr{sep}ecr{f}.{region}.{suffix}");
                (host, account, region, fips)
            })
    }

    /// A client shape around a host: optional `https://`, userinfo, port, path, query, fragment.
    fn shape() -> impl Strategy<Value = (bool, Option<String>, Option<String>, Option<String>)> {
        (
            any::<bool>(),
            proptest::option::of(
                "([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2}){0,12}".prop_map(|u| u + "@"),
            ),
            proptest::option::of(":[0-9]{0,5}"),
            proptest::option::of(concat!(
                "(/([A-Za-z0-9._:@~-]|%[0-9A-Fa-f]{2}){0,10}){1,3}",
                "(\\?[^#\\x00-\\x1f\\x7f]{0,10})?",
                "(#[A-Za-z0-9/?]{0,6})?",
            )),
        )
    }

    fn wrap(
        host: &str,
        (https, userinfo, port, path): &(bool, Option<String>, Option<String>, Option<String>),
    ) -> String {
        format!(
            "{}{}{host}{}{}",
            if *https { "https://" } else { "" },
            userinfo.as_deref().unwrap_or(""),
            port.as_deref().unwrap_or(""),
            path.as_deref().unwrap_or("")
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn grammar_hosts_parse_to_their_parts(
            (host, account, region, fips) in private_host(),
            s in shape(),
        ) {
            let input = wrap(&host, &s);
            prop_assert_eq!(extract_host(&input), Some(host.as_str()), "{:?}", input);
            prop_assert_eq!(
                parse(&input),
                Some(Registry::Private { account, region, fips }),
                "{:?}", input
            );
        }

        #[test]
        fn public_hosts_parse_in_every_shape(
            host in proptest::sample::select(PUBLIC_HOSTS.to_vec()),
            s in shape(),
        ) {
            let input = wrap(host, &s);
            let want = Registry::Public { host: host.to_owned() };
            prop_assert_eq!(parse(&input), Some(want), "{:?}", input);
        }

        #[test]
        fn mutated_hosts_never_parse(
            (host, account, _region, _fips) in private_host(),
            s in shape(),
            mutation in 0..10u8,
            extra_digit in "[0-9]",
            case in "[dD][kK][rR]",
            ctl in "[\\x00-\\x1f\\x7f]",
            at in any::<proptest::sample::Index>(),
        ) {
            let mutated = match mutation {
                // a 13-digit account, an 11-digit one
                0 => format!("{extra_digit}{host}"),
                1 => host[1..].to_owned(),
                // a trailing dot (kept, and it fails)
                2 => format!("{host}."),
                // any upper-case letter in `dkr` (the literals are case-sensitive)
                3 if case != "dkr" => host.replacen("dkr", &case, 1),
                3 => host.replacen("dkr", "DKR", 1),
                4 => host.replacen("ecr", "ECR", 1),
                // a second dot-free label is needed for the region: a dot in it breaks the suffix
                5 => host.replacen(&format!("{account}."), &format!("{account}.x."), 1),
                // an unknown suffix
                6 => format!("{host}.evil.example"),
                7 => host.replacen("-fips", "-FIPS", 1).replacen(".dkr", ".dkr-vpce", 1),
                // a control byte anywhere in the whole input
                8 => {
                    let input = wrap(&host, &s);
                    let i = at.index(input.len() + 1);
                    let i = (0..=i).rev().find(|&i| input.is_char_boundary(i)).unwrap_or(0);
                    let bad = format!("{}{ctl}{}", &input[..i], &input[i..]);
                    prop_assert_eq!(parse(&bad), None, "{:?}", bad);
                    return Ok(());
                }
                // a scheme Go's parser keeps as part of the host
                _ => {
                    for scheme in ["http://", "HTTPS://", "https://https://"] {
                        let bad = format!("{scheme}{host}");
                        prop_assert_eq!(parse(&bad), None, "{:?}", bad);
                    }
                    return Ok(());
                }
            };
            let input = wrap(&mutated, &s);
            prop_assert_eq!(parse(&input), None, "{:?}", input);
        }

        #[test]
        fn arbitrary_input_never_panics_and_agrees_with_extract_host(
            input in "\\PC{0,80}|[\\x00-\\x7f]{0,80}",
        ) {
            let host = extract_host(&input);
            prop_assert_eq!(parse(&input), host.and_then(parse_host));
        }
    }
}
