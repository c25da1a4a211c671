//! The registries configuration file: `[kind name]` sections of `key = value` lines, read
//! with the shared files' tokenizer ([`tokens`]: `#`/`;` comments, line numbers kept). Every
//! problem names its line; a section with a problem is kept but marked broken, so that the
//! registries it would serve are refused rather than served by another identity.

use super::Scope;
use super::{pattern, private_host, Alias, Identity, Origin, Problem, RoleSpec, Routes, Rule};
use crate::aws::profile::{tokens, Token};
use crate::registry::{self, Registry};
use std::path::Path;

/// The identity keys, allowed in every section.
const IDENTITY_KEYS: [&str; 5] = [
    "profile",
    "role_arn",
    "external_id",
    "role_session_name",
    "duration_seconds",
];
/// The target keys of an `[alias]`.
const ALIAS_KEYS: [&str; 3] = ["registry", "account", "region"];
const UNKNOWN_KIND: &str = "not `[kind name]` with a kind of registry, account, region or alias";

/// One section being read.
struct Section {
    kind: String,
    name: String,
    origin: Origin,
    /// Key (lower case), value.
    keys: Vec<(String, String)>,
    problems: Vec<Problem>,
}

impl Section {
    fn get(&self, key: &str) -> Option<&str> {
        self.keys
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn problem(&mut self, message: &str) {
        self.problems.push(Problem::new(&self.origin, message));
    }
}

/// Parses the file's text.
pub(super) fn parse(text: &str, path: &Path) -> Routes {
    let mut routes = Routes::default();
    let at = |line| format!("{}:{line}", path.display());
    let mut section: Option<Section> = None;
    for (line, token) in tokens(text) {
        match token {
            Token::Header(header) => {
                finish(&mut routes, section.take());
                section = Some(open(header, at(line)));
            }
            Token::Property(key, value) => match &mut section {
                Some(s) => add_key(s, key, value, at(line)),
                None => routes.problems.push(Problem::new(
                    &at(line),
                    "a key outside any section (start with [registry HOST], [account ID], [region NAME] or [alias NAME])",
                )),
            },
            Token::Continuation(_) | Token::Other(_) => {
                let problem = Problem::new(&at(line), "not `key = value`");
                match &mut section {
                    Some(s) => s.problems.push(problem),
                    None => routes.problems.push(problem),
                }
            }
        }
    }
    finish(&mut routes, section);
    routes
}

/// A section header: `kind name`.
fn open(header: Option<&str>, origin: Origin) -> Section {
    let mut section = Section {
        kind: String::new(),
        name: String::new(),
        origin,
        keys: Vec::new(),
        problems: Vec::new(),
    };
    let Some(header) = header else {
        section.problem("a section header without `]`");
        return section;
    };
    match header.trim().split_once([' ', '\t']) {
        Some((kind, name)) if !name.trim().is_empty() => {
            section.kind = kind.to_ascii_lowercase();
            section.name = name.trim().to_owned();
            if !matches!(
                section.kind.as_str(),
                "registry" | "account" | "region" | "alias"
            ) {
                section.problem(UNKNOWN_KIND);
            }
        }
        _ => section.problem(UNKNOWN_KIND),
    }
    section
}

fn add_key(section: &mut Section, key: &str, value: &str, origin: Origin) {
    let key = key.to_ascii_lowercase();
    let known = IDENTITY_KEYS.contains(&key.as_str())
        || (section.kind == "alias" && ALIAS_KEYS.contains(&key.as_str()));
    let problem = if !known {
        Some(format!(
            "unknown key `{key}` in a [{}] section",
            section.kind
        ))
    } else if section.keys.iter().any(|(k, _)| *k == key) {
        Some("this key is set twice in the section".to_owned())
    } else if value.is_empty() {
        Some("this key has no value".to_owned())
    } else {
        None
    };
    match problem {
        Some(message) => section.problems.push(Problem::new(&origin, message)),
        None => section.keys.push((key, value.to_owned())),
    }
}

/// Validates a finished section and adds its rule or alias.
fn finish(routes: &mut Routes, section: Option<Section>) {
    let Some(mut section) = section else {
        return;
    };
    let identity = identity(&mut section);
    if section.kind == "alias" {
        let target = alias_target(&mut section);
        let alias = Alias {
            name: section.name.to_ascii_lowercase(),
            target,
            identity,
            origin: section.origin.clone(),
            broken: !section.problems.is_empty(),
        };
        routes.aliases.push(alias);
    } else if let Some(scope) = scope(&mut section) {
        if identity.is_none() {
            section.problem("names neither `profile` nor `role_arn`");
        }
        routes.rules.push(Rule {
            scope,
            identity: identity.unwrap_or_default(),
            origin: section.origin.clone(),
            broken: !section.problems.is_empty(),
        });
    }
    routes.problems.append(&mut section.problems);
}

/// The section's `[kind name]` as a scope; `None` for an unknown kind (already a problem).
fn scope(section: &mut Section) -> Option<Scope> {
    let name = section.name.clone();
    let scope = match section.kind.as_str() {
        "registry" if name.contains('*') => {
            if pattern::witnesses(&name).is_empty() {
                section.problem("the pattern matches no ECR registry");
            }
            Scope::Pattern(name)
        }
        "registry" => {
            if registry::parse_host(&name).is_none() {
                section.problem("not an ECR registry host (for another name use [alias NAME])");
            }
            Scope::Host(name)
        }
        "account" => {
            if !is_account(&name) {
                section.problem("not a 12-digit account id");
            }
            Scope::Account(name)
        }
        "region" => {
            if !is_region(&name) {
                section.problem("not a region name");
            }
            Scope::Region(name)
        }
        _ => return None,
    };
    Some(scope)
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|c| c.is_ascii_digit())
}

fn is_region(s: &str) -> bool {
    registry::parse_host(&private_host("111122223333", s)).is_some()
}

/// The identity keys of a section; `None` when it names neither a profile nor a role.
fn identity(section: &mut Section) -> Option<Identity> {
    let get = |k: &str| section.get(k).map(str::to_owned);
    let (profile, role_arn) = (get("profile"), get("role_arn"));
    let (external_id, session_name) = (get("external_id"), get("role_session_name"));
    let duration = get("duration_seconds");
    let role_only = external_id.is_some() || session_name.is_some() || duration.is_some();
    if role_arn.is_none() && role_only {
        section.problem("external_id, role_session_name or duration_seconds without role_arn");
    }
    if role_arn.as_deref().is_some_and(|a| !a.starts_with("arn:")) {
        section.problem("role_arn is not an ARN (arn:...)");
    }
    if session_name
        .as_deref()
        .is_some_and(|n| !valid_session_name(n))
    {
        section.problem("role_session_name must be 2 to 64 of A-Z a-z 0-9 + = , . @ _ -");
    }
    let duration_seconds = duration.and_then(|d| match d.parse::<u64>() {
        Ok(n) if (900..=43_200).contains(&n) => Some(n),
        _ => {
            section.problem("duration_seconds must be a number from 900 to 43200");
            None
        }
    });
    if profile.is_none() && role_arn.is_none() {
        return None;
    }
    Some(Identity {
        profile,
        role: role_arn.map(|role_arn| RoleSpec {
            role_arn,
            external_id,
            session_name,
            duration_seconds,
        }),
    })
}

fn valid_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+=,.@_-".contains(&c))
}

/// An alias's name and target: `registry = HOST`, or `account` and `region`.
fn alias_target(section: &mut Section) -> Option<(Registry, String)> {
    let name = section.name.to_ascii_lowercase();
    if registry::extract_host(&name) != Some(name.as_str()) || name.contains('*') {
        section.problem("the alias is not a host name");
    } else if registry::parse_host(&name).is_some() {
        section.problem("the alias is an ECR host already; an alias needs another name");
    }
    let get = |k: &str| section.get(k).map(str::to_owned);
    let host = match (get("registry"), get("account"), get("region")) {
        (Some(host), None, None) => host,
        (None, Some(account), Some(region)) if is_account(&account) && is_region(&region) => {
            private_host(&account, &region)
        }
        (None, Some(_), Some(_)) => {
            section.problem("account must be 12 digits and region a region name");
            return None;
        }
        _ => {
            section.problem("an alias needs `registry = HOST`, or `account` and `region`");
            return None;
        }
    };
    match registry::parse_host(&host) {
        Some(registry) => Some((registry, host)),
        None => {
            section.problem("`registry` is not an ECR registry host");
            None
        }
    }
}
