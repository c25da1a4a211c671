//! `list` (SPEC §8): prime the cache with the configured region's default registry and ECR
//! Public, best effort and under the deadline, then list every cached endpoint.

use super::cached::{private_keys, Slot};
use super::runtime::run_until;
use super::session::{log_api_error, Session, SessionError};
use super::Helper;
use crate::aws::client::PUBLIC_REGION;
use crate::log;
use crate::registry::{self, Registry};
use crate::token;
use std::collections::BTreeMap;

impl Helper {
    /// Every cached endpoint and its username, after priming the cache.
    pub(super) fn list_cached(&self) -> BTreeMap<String, String> {
        let Some(cache) = &self.cache else {
            // D13: no cache, nothing to list and no priming.
            return BTreeMap::new();
        };
        let worker = self.for_worker();
        if run_until(self.deadline, move || async move { worker.prime().await }).is_none() {
            log::warn(
                "Timed out priming the cache for list; listing what is cached",
                &[],
            );
        }
        let mut out = BTreeMap::new();
        for entry in cache.load().registries.into_values() {
            if let Ok(c) = token::decode(entry.authorization_token.expose()) {
                out.insert(entry.proxy_endpoint, c.username);
            }
        }
        out
    }

    /// Best effort: the default registry of the configured region, then ECR Public.
    async fn prime(&self) {
        let region = self.configured_region();
        let session = match self
            .session(region.as_deref().unwrap_or(PUBLIC_REGION))
            .await
        {
            Ok(session) => session,
            Err(SessionError::Config(e)) => {
                log::error(&format!("list: {e}; listing the cache only"), &[]);
                return;
            }
            Err(SessionError::Credentials(e)) => {
                log::warn(
                    "list: no AWS credentials; listing the cache only",
                    &[("error", &e.to_string())],
                );
                return;
            }
        };
        match &region {
            Some(region) => self.prime_private(&session, region).await,
            None => log::info("an AWS region is required, but was not found", &[]),
        }
        self.prime_public(&session).await;
    }

    /// `AWS_REGION`/`AWS_DEFAULT_REGION`, else the profile's non-empty `region`.
    pub(super) fn configured_region(&self) -> Option<String> {
        self.cfg.env_region.clone().or_else(|| {
            self.profile()
                .get("region")
                .filter(|r| !r.is_empty())
                .cloned()
        })
    }

    /// The caller's default private registry in `region`, cached under the returned account.
    async fn prime_private(&self, session: &Session, region: &str) {
        match session.fetch_default_private().await {
            Ok(fetched) => {
                let owner = self.session_owner(&session.akid);
                let key = fetched
                    .account
                    .as_ref()
                    .zip(owner)
                    .map(|(account, owner)| private_keys(region, &owner, account).current);
                self.accept(fetched, key, "ecr");
            }
            Err(e) => log_api_error(&e),
        }
    }

    /// ECR Public under its first hostname, unless a fresh token is cached.
    async fn prime_public(&self, session: &Session) {
        let public = Registry::Public {
            host: registry::PUBLIC_HOSTS[0].to_owned(),
        };
        let slot = self
            .session_owner(&session.akid)
            .map(|owner| Slot::new(&public, owner));
        if slot.as_ref().is_some_and(|s| self.fresh(&s.keys).is_some()) {
            return;
        }
        match session.fetch(&public).await {
            Ok(fetched) => {
                let key = slot.map(|s| s.store_key(&public, &fetched));
                self.accept(fetched, key, public.service());
            }
            Err(e) => log_api_error(&e),
        }
    }
}
