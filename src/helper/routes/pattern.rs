//! Registry patterns: `*` stands for any run of characters (dots included), everything else
//! matches itself, e.g. `*.dkr.ecr.eu-west-1.amazonaws.com` or `111122223333.dkr.ecr.*`.
//! Whether a pattern can match an ECR host at all, and whether two may match one host, is
//! told by trying witnesses: the pattern with each `*` replaced by typical host parts.

use super::{Problem, Rule, Scope};
use crate::registry;

/// What a `*` is replaced by when looking for a host a pattern matches.
const FILLERS: [&str; 13] = [
    "",
    "1",
    "111122223333",
    "us-east-1",
    "dkr.ecr",
    "ecr",
    "public",
    "aws",
    "amazonaws.com",
    "us-east-1.amazonaws.com",
    "111122223333.dkr.ecr",
    "111122223333.dkr.ecr.us-east-1",
    "dkr.ecr.us-east-1.amazonaws.com",
];

/// At most this many `*` are tried in every combination (13^3 witnesses).
const MAX_STARS: usize = 3;

/// Whether `pattern` matches all of `text`.
pub(super) fn matches(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// The ECR hosts among `pattern`'s witnesses (every `*` replaced by each filler; a pattern
/// with more than [`MAX_STARS`] gets one witness, each `*` replaced by nothing).
pub(super) fn witnesses(pattern: &str) -> Vec<String> {
    let parts: Vec<&str> = pattern.split('*').collect();
    let stars = parts.len() - 1;
    let fillers: &[&str] = if stars > MAX_STARS { &[""] } else { &FILLERS };
    let mut out = Vec::new();
    let total = fillers.len().pow(stars as u32);
    for mut n in 0..total {
        let mut host = String::from(parts[0]);
        for part in &parts[1..] {
            host.push_str(fillers[n % fillers.len()]);
            n /= fillers.len();
            host.push_str(part);
        }
        if registry::parse_host(&host).is_some() {
            out.push(host);
        }
    }
    out
}

/// Two patterns for which a witness of one matches the other: a host may match both.
pub(super) fn overlaps(rules: &[Rule]) -> Vec<Problem> {
    let patterns: Vec<(&str, &Rule)> = rules
        .iter()
        .filter_map(|r| match &r.scope {
            Scope::Pattern(p) => Some((p.as_str(), r)),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for (i, (a, rule)) in patterns.iter().enumerate() {
        for (b, other) in &patterns[i + 1..] {
            let mut found = witnesses(a).into_iter().filter(|h| matches(b, h));
            let mut back = || witnesses(b).into_iter().find(|h| matches(a, h));
            if let Some(host) = found.next().or_else(&mut back) {
                let msg = format!(
                    "this pattern and the one at {} both match {host}",
                    other.origin
                );
                out.push(Problem::new(&rule.origin, msg));
            }
        }
    }
    out
}
