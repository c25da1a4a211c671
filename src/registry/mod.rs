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
mod tests;
