//! Per-registry identities and aliases (issue 16, SPEC §14 D19, D20): the registries
//! configuration, read once per call, without the SDK.
//!
//! Sources: the file [`crate::config::Config::ecr_config_file`] (`AWS_ECR_CONFIG_FILE`, else
//! `~/.ecr/config`; INI as `~/.aws/config`, read with [`crate::aws::profile::tokens`]) and
//! the environment shortcuts `AWS_PROFILE_<account>` / `AWS_ROLE_ARN_<account>` ([`env`]).
//! A missing default file and no shortcut: [`Routes`] is empty and nothing changes.
//!
//! ```ini
//! [registry 111122223333.dkr.ecr.us-east-1.amazonaws.com]   # a host, or a pattern with `*`
//! profile = prod
//! [account 444455556666]
//! role_arn = arn:aws:iam::444455556666:role/pull
//! [region eu-west-1]
//! profile = europe
//! [alias registry.example.com]
//! registry = 111122223333.dkr.ecr.us-east-1.amazonaws.com  # or account + region, or public.ecr.aws
//! ```
//!
//! The most specific rule wins: an alias's own identity, then `[registry HOST]`, a matching
//! pattern, `[account]` (or its shortcuts), `[region]`; the default chain otherwise. Two rules
//! of one rank that both match, or a matching rule or alias whose section has an error, give
//! an error (the `get` is not-found, with a log line naming the file and line): a registry is
//! never served by an identity other than the configured one. [`problems`] lists every
//! problem for a `doctor`.

mod env;
mod parse;
mod pattern;
#[cfg(test)]
mod tests;

pub use crate::aws::assume::RoleSpec;
use crate::config::Config;
use crate::registry::{self, Registry};
use std::fmt;
use std::path::Path;

/// Largest registries configuration file read.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Where a rule, an alias or a problem comes from: `<file>:<line>`, `<file>` (the file as a
/// whole), or `environment variable <NAME>[, <NAME>]`.
pub type Origin = String;

/// One configuration problem, for a log line or a `doctor`: `<file>:<line>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub origin: Origin,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

impl Problem {
    fn new(origin: &Origin, message: impl Into<String>) -> Problem {
        Problem {
            origin: origin.clone(),
            message: message.into(),
        }
    }
}

/// The identity a rule names: a profile (as `AWS_PROFILE` would), a role on top of it or of
/// the default chain, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub profile: Option<String>,
    pub role: Option<RoleSpec>,
}

/// What a rule applies to, most specific first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Host(String),
    Pattern(String),
    Account(String),
    Region(String),
}

impl Scope {
    fn rank(&self) -> u8 {
        match self {
            Scope::Host(_) => 0,
            Scope::Pattern(_) => 1,
            Scope::Account(_) => 2,
            Scope::Region(_) => 3,
        }
    }

    fn matches(&self, host: &str, registry: &Registry) -> bool {
        match (self, registry) {
            (Scope::Host(h), _) => h == host,
            (Scope::Pattern(p), _) => pattern::matches(p, host),
            (Scope::Account(a), Registry::Private { account, .. }) => a == account,
            (Scope::Region(r), Registry::Private { region, .. }) => r == region,
            _ => false,
        }
    }
}

/// A rule: which identity serves the registries of a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub scope: Scope,
    pub identity: Identity,
    pub origin: Origin,
    /// Its section has an error: a registry it matches is refused.
    pub broken: bool,
}

/// A name of the user's for an ECR registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// Lower case.
    pub name: String,
    /// The registry and its canonical host (what the rules match); `None` when broken.
    pub target: Option<(Registry, String)>,
    /// The alias's own identity, when its section names one.
    pub identity: Option<Identity>,
    pub origin: Origin,
    pub broken: bool,
}

impl Alias {
    /// Whether `host` is this alias (without regard to ASCII case).
    fn matches(&self, host: &str) -> bool {
        self.name
            .bytes()
            .eq(host.bytes().map(|c| c.to_ascii_lowercase()))
    }
}

/// The registries configuration.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    pub rules: Vec<Rule>,
    pub aliases: Vec<Alias>,
    pub problems: Vec<Problem>,
    /// The file exists but cannot be used: every registry is refused.
    pub unusable: Option<Problem>,
}

/// A registry a request names, and who serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub registry: Registry,
    /// The alias the request used, if any.
    pub alias: Option<String>,
    /// The identity configured for it, and where; `None`: the default chain.
    pub identity: Option<(Identity, Origin)>,
}

impl Routes {
    /// The configuration from `cfg`'s file and shortcuts.
    pub fn load(cfg: &Config) -> Routes {
        let mut routes = match &cfg.ecr_config_file {
            Some(path) => read(path, cfg.ecr_config_from_env),
            None => Routes::default(),
        };
        env::add_shortcuts(&mut routes, &cfg.account_vars);
        routes
    }

    /// Nothing configured (and nothing wrong).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.aliases.is_empty() && self.unusable.is_none()
    }

    /// The registry `server_url` names (an ECR host or an alias) and its identity: `Ok(None)`
    /// when it names neither; `Err` when the configuration refuses it.
    pub fn resolve(&self, server_url: &str) -> Result<Option<Target>, Problem> {
        let Some(host) = registry::extract_host(server_url) else {
            return Ok(None);
        };
        if let Some(problem) = &self.unusable {
            return Err(problem.clone());
        }
        let mut aliases = self.aliases.iter().filter(|a| a.matches(host));
        if let Some(alias) = aliases.next() {
            if aliases.next().is_some() {
                return Err(Problem::new(&alias.origin, "this alias is defined twice"));
            }
            return self.via_alias(alias).map(Some);
        }
        let Some(registry) = registry::parse_host(host) else {
            return Ok(None);
        };
        let identity = self.rule_for(host, &registry)?;
        Ok(Some(Target {
            registry,
            alias: None,
            identity,
        }))
    }

    /// Whether `get` would answer `server_url` (an ECR host or a usable alias): `store` and
    /// `erase` then succeed without storing anything (D18).
    pub fn answers(&self, server_url: &str) -> bool {
        registry::parse(server_url).is_some()
            || registry::extract_host(server_url)
                .is_some_and(|h| self.aliases.iter().any(|a| !a.broken && a.matches(h)))
    }

    fn via_alias(&self, alias: &Alias) -> Result<Target, Problem> {
        let (registry, host) = match (&alias.target, alias.broken) {
            (Some(target), false) => target,
            _ => return Err(Problem::new(&alias.origin, "this alias has errors")),
        };
        let identity = match &alias.identity {
            Some(id) => Some((id.clone(), alias.origin.clone())),
            None => self.rule_for(host, registry)?,
        };
        Ok(Target {
            registry: registry.clone(),
            alias: Some(alias.name.clone()),
            identity,
        })
    }

    /// The most specific rule matching `host`.
    fn rule_for(
        &self,
        host: &str,
        registry: &Registry,
    ) -> Result<Option<(Identity, Origin)>, Problem> {
        for rank in 0..4 {
            let mut found = self
                .rules
                .iter()
                .filter(|r| r.scope.rank() == rank && r.scope.matches(host, registry));
            let Some(rule) = found.next() else {
                continue;
            };
            if let Some(other) = found.next() {
                let msg = format!("{host} is matched by this rule and by {}", other.origin);
                return Err(Problem::new(&rule.origin, msg));
            }
            if rule.broken {
                return Err(Problem::new(&rule.origin, "this section has errors"));
            }
            return Ok(Some((rule.identity.clone(), rule.origin.clone())));
        }
        Ok(None)
    }

    /// The registries `list` names without a network call (D20): every `[registry HOST]`,
    /// every usable alias, and each configured account's registry in `region` when known.
    pub fn listed(&self, region: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        for rule in self.rules.iter().filter(|r| !r.broken) {
            match (&rule.scope, region) {
                (Scope::Host(h), _) => out.push(format!("https://{h}")),
                (Scope::Account(a), Some(region)) => {
                    out.push(format!("https://{}", private_host(a, region)));
                }
                _ => {}
            }
        }
        let aliases = self.aliases.iter().filter(|a| !a.broken);
        out.extend(aliases.map(|a| format!("https://{}", a.name)));
        out
    }

    /// The same scope configured twice (two sections, or a section and a shortcut), for
    /// [`problems`]; a `get` finds them as two rules (or aliases) that both match.
    fn check_duplicates(&mut self) {
        let mut found = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if let Some(first) = self.rules[..i].iter().find(|r| r.scope == rule.scope) {
                let msg = format!("configured again (first at {})", first.origin);
                found.push(Problem::new(&rule.origin, msg));
            }
        }
        for (i, alias) in self.aliases.iter().enumerate() {
            if let Some(first) = self.aliases[..i].iter().find(|a| a.name == alias.name) {
                let msg = format!("alias defined again (first at {})", first.origin);
                found.push(Problem::new(&alias.origin, msg));
            }
        }
        self.problems.extend(found);
    }
}

/// The usual hostname of a private registry (`amazonaws.com.cn` for `cn-` regions).
pub fn private_host(account: &str, region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("{account}.dkr.ecr.{region}.{suffix}")
}

/// Reads and parses the file; a missing file is no configuration unless `required`.
fn read(path: &Path, required: bool) -> Routes {
    // Formatted only on an error: the warm path with no file must stay cheap.
    let unusable = |message: String| {
        let problem = Problem::new(&path.display().to_string(), message);
        Routes {
            problems: vec![problem.clone()],
            unusable: Some(problem),
            ..Routes::default()
        }
    };
    match crate::fsutil::read_regular(path, MAX_FILE_BYTES) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => parse::parse(&text, path),
            Err(_) => unusable("not UTF-8 text".to_owned()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Routes::default(),
        Err(e) => unusable(format!("cannot be read: {e}")),
    }
}

/// Every problem of `cfg`'s registries configuration, for a `doctor` command: the parse and
/// value errors, rules configured twice, patterns that may match one registry together, and
/// profiles the shared files do not have. Empty when all is well (or nothing is configured).
pub fn problems(cfg: &Config) -> Vec<Problem> {
    let mut routes = Routes::load(cfg);
    routes.check_duplicates();
    let mut out = routes.problems.clone();
    out.extend(pattern::overlaps(&routes.rules));
    out.extend(missing_profiles(cfg, &routes));
    out
}

/// Rules and aliases naming a profile that neither shared file has.
fn missing_profiles(cfg: &Config, routes: &Routes) -> Vec<Problem> {
    let rules = routes.rules.iter().map(|r| (Some(&r.identity), &r.origin));
    let aliases = routes
        .aliases
        .iter()
        .map(|a| (a.identity.as_ref(), &a.origin));
    let mut files = None;
    let mut out = Vec::new();
    for (identity, origin) in rules.chain(aliases) {
        let Some(profile) = identity.and_then(|i| i.profile.as_deref()) else {
            continue;
        };
        let files = files.get_or_insert_with(|| {
            crate::aws::profile::SharedFiles::read(&cfg.config_file, &cfg.credentials_file)
        });
        if files.properties(profile).is_empty() {
            let msg = format!(
                "profile {profile} is in neither {} nor {}",
                cfg.config_file.display(),
                cfg.credentials_file.display()
            );
            out.push(Problem::new(origin, msg));
        }
    }
    out
}
