//! Go's `NO_PROXY` matcher (golang.org/x/net/http/httpproxy `config.useProxy`): the list
//! parsed once into rules (`*`, IP addresses and CIDRs, `domain`, `.domain`, `*.domain`, each
//! with an optional `:port`), then asked whether a request's host and port go through the proxy.

use std::net::IpAddr;

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
pub(super) struct NoProxy {
    rules: Vec<Rule>,
}

impl NoProxy {
    /// Go's `config.init`: entries split on `,`, trimmed and lower-cased; malformed ones
    /// ignored.
    pub(super) fn parse(list: &str) -> NoProxy {
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
    pub(super) fn use_proxy(&self, host: &str, port: &str) -> bool {
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
