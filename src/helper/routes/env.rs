//! The environment shortcuts, in the style of isometry/docker-credential-env:
//! `AWS_PROFILE_<account>` names the profile and `AWS_ROLE_ARN_<account>` a role to assume
//! (on top of that profile, or of the default chain) for every registry of the account: one
//! `[account]` rule per account.

use super::{Identity, Origin, Problem, RoleSpec, Routes, Rule, Scope};

/// Adds one rule per account named by `vars` (`AWS_PROFILE_<12 digits>`,
/// `AWS_ROLE_ARN_<12 digits>`, as [`crate::config::Config::account_vars`] has them).
pub(super) fn add_shortcuts(routes: &mut Routes, vars: &[(String, String)]) {
    let mut accounts: Vec<&str> = vars.iter().map(|(k, _)| account_of(k)).collect();
    accounts.sort_unstable();
    accounts.dedup();
    for account in accounts {
        let value = |prefix: &str| {
            vars.iter()
                .find(|(k, _)| k.strip_prefix(prefix) == Some(account))
                .map(|(_, v)| v.trim().to_owned())
        };
        let (profile, role_arn) = (value("AWS_PROFILE_"), value("AWS_ROLE_ARN_"));
        let names: Vec<String> = vars
            .iter()
            .filter(|(k, _)| account_of(k) == account)
            .map(|(k, _)| k.clone())
            .collect();
        let origin = Origin::Env(names.join(", "));
        let broken = role_arn
            .as_deref()
            .is_some_and(|arn| !arn.starts_with("arn:"));
        if broken {
            let msg = "AWS_ROLE_ARN_<account> is not an ARN (arn:...)";
            routes.problems.push(Problem::new(&origin, msg));
        }
        routes.rules.push(Rule {
            scope: Scope::Account(account.to_owned()),
            identity: Identity {
                profile: profile.filter(|p| !p.is_empty()),
                role: role_arn.map(|role_arn| RoleSpec {
                    role_arn,
                    external_id: None,
                    session_name: None,
                    duration_seconds: None,
                }),
            },
            origin,
            broken,
        });
    }
}

/// The 12-digit suffix of a shortcut's name.
fn account_of(name: &str) -> &str {
    &name[name.len().saturating_sub(12)..]
}
