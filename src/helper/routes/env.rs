//! The environment shortcuts, in the style of isometry/docker-credential-env:
//! `AWS_PROFILE_<account>` names the profile and `AWS_ROLE_ARN_<account>` a role to assume
//! (on top of that profile, or of the default chain) for every registry of the account: one
//! `[account]` rule per account.

use super::{Identity, Problem, RoleSpec, Routes, Rule, Scope};

const ENV: &str = "environment variable ";

/// Adds one rule per account named by `vars` (`AWS_PROFILE_<12 digits>`,
/// `AWS_ROLE_ARN_<12 digits>`, as [`crate::config::Config::account_vars`] has them).
pub(super) fn add_shortcuts(routes: &mut Routes, vars: &[(String, String)]) {
    let first = routes.rules.len();
    for (name, value) in vars {
        let account = &name[name.len().saturating_sub(12)..];
        let value = value.trim().to_owned();
        let found = routes.rules[first..]
            .iter()
            .position(|r| matches!(&r.scope, Scope::Account(a) if a == account));
        let i = found.map_or(routes.rules.len(), |i| first + i);
        if found.is_none() {
            routes.rules.push(Rule {
                scope: Scope::Account(account.to_owned()),
                identity: Identity::default(),
                origin: String::new(),
                broken: false,
            });
        }
        let rule = &mut routes.rules[i];
        rule.origin
            .push_str(if rule.origin.is_empty() { ENV } else { ", " });
        rule.origin.push_str(name);
        if name.starts_with("AWS_PROFILE_") {
            rule.identity.profile = (!value.is_empty()).then_some(value);
        } else if value.starts_with("arn:") {
            rule.identity.role = Some(RoleSpec {
                role_arn: value,
                external_id: None,
                session_name: None,
                duration_seconds: None,
            });
        } else {
            rule.broken = true;
            let msg = "AWS_ROLE_ARN_<account> is not an ARN (arn:...)";
            routes
                .problems
                .push(Problem::new(&[ENV, name].concat(), msg));
        }
    }
}
