//! The registries configuration in the way of one call (D18-D20): `get` resolves the request
//! through it first (an alias gives its registry; a rule gives the identity that serves it),
//! `list` adds the configured registries and aliases, without a network call.

use super::routes::{Identity as RouteIdentity, Scope};
use super::Helper;
use crate::log;
use crate::serve::Answer;
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::sync::Arc;

impl Helper {
    /// Credentials for `server_url` (an ECR host or a configured alias), or `None` for the
    /// not-found answer.
    pub fn get(&self, server_url: &str) -> Option<Answer> {
        let target = match self.routes.resolve(server_url) {
            Ok(Some(target)) => target,
            Ok(None) => {
                log::info(
                    "docker-credential-ecr-login can only be used with Amazon Elastic Container Registry.",
                    &[("serverURL", &log::redact_url(server_url))],
                );
                return None;
            }
            Err(problem) => {
                log::error(
                    "The registries configuration refuses this registry",
                    &[
                        ("serverURL", &log::redact_url(server_url)),
                        ("at", &problem.origin),
                        ("problem", &problem.message),
                    ],
                );
                return None;
            }
        };
        if let Some(alias) = &target.alias {
            log::debug("Alias", &[("alias", alias)]);
        }
        let routed;
        let helper = match &target.identity {
            Some((identity, origin)) => {
                log::debug(
                    "Using the identity configured for this registry",
                    &[("rule", origin)],
                );
                routed = self.with_identity(identity);
                &routed
            }
            None => self,
        };
        helper.get_registry(server_url, target.registry)
    }

    /// This call with a rule's identity: its profile selected as `AWS_PROFILE` would select
    /// it, its role assumed on top.
    fn with_identity(&self, id: &RouteIdentity) -> Helper {
        let cfg = match &id.profile {
            Some(profile) => self.cfg.with_profile(profile),
            None => (*self.cfg).clone(),
        };
        Helper {
            cfg: Arc::new(cfg),
            cache: self.cache.clone(),
            deadline: self.deadline,
            files: self.files.clone(),
            profile: OnceCell::new(),
            identity: OnceCell::new(),
            // a kubelet pod's role wins over the rule's identity
            pod: self.pod.clone(),
            routes: super::routes::Routes::default(),
            role: id.role.clone(),
        }
    }

    /// The `list` answer: every cached endpoint (after priming the cache), then every
    /// configured registry and alias not among them, with the username `AWS` (D20).
    pub fn list(&self) -> BTreeMap<String, String> {
        let mut out = self.list_cached();
        if self.routes.is_empty() {
            return out;
        }
        let accounts = self
            .routes
            .rules
            .iter()
            .any(|r| matches!(r.scope, Scope::Account(_)));
        let region = accounts.then(|| self.configured_region()).flatten();
        // Not `entry`: that API costs the static binary 2 KB more than `insert`.
        #[allow(clippy::map_entry)]
        for name in self.routes.listed(region.as_deref()) {
            if !out.contains_key(&name) {
                out.insert(name, "AWS".to_owned());
            }
        }
        out
    }
}
