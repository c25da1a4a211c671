//! The ECR helper (SPEC §5, §6, §8): implements [`CredentialHelper`] for the front ends.
//!
//! The way of one `get`:
//! 1. resolve the request ([`routed`]): a configured alias gives its registry, else the host
//!    is parsed ([`crate::registry::parse`]; not ECR: not-found, no I/O); a rule of the
//!    registries configuration ([`routes`], D19) names the identity that serves it;
//! 2. compute the identity locally ([`identity`]); when it has a key (static keys: Go's key;
//!    roles, web identity, SSO, container, `credential_process`: an `id1.` key, D17; an
//!    instance role: Go's key of the access key id its memo remembers, [`instance`]) and its
//!    local session has not ended, answer a fresh cache entry: no runtime, SDK, TLS or
//!    instance metadata;
//! 3. otherwise, on a worker thread under the deadline ([`runtime`]), resolve the SDK
//!    configuration and credentials in one step ([`session`]); the cache keys are the
//!    identity's, or Go's from the resolved access key id when the identity is not known
//!    locally (instance metadata, undetermined); an identity whose session ended gets none;
//! 4. look again, take the registry's fetch lock, polling the cache while another process holds
//!    it, and look again ([`single_flight`]);
//! 5. call the API and write the cache under `.lock-cache` ([`cached`]).
//!
//! A failed call, or one the deadline cuts short once the keys are known, falls back to an
//! unexpired cached token (D6). Everything after stdin is read fits in one deadline (D5).
//! `list` primes the cache first ([`prime`]).

mod cached;
pub mod identity;
mod instance;
mod pod;
mod prime;
mod routed;
pub mod routes;
pub(crate) mod runtime;
mod session;
mod single_flight;

use crate::aws::client::PUBLIC_REGION;
use crate::aws::profile::{Properties, SharedFiles};
use crate::cache::Cache;
use crate::config::Config;
use crate::go::time::GoTime;
use crate::log;
use crate::registry::Registry;
use crate::serve::{Answer, CredentialHelper, Federated, NotImplemented};
use cached::{Owner, Slot};
use identity::Identity;
use runtime::run_until;
use session::{log_api_error, Session, SessionError};
use single_flight::Flight;
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The ECR helper as the front ends see it (`crate::serve`): every call gets its own deadline,
/// `AWS_ECR_TIMEOUT` from the moment it is asked (D5).
pub struct EcrHelper<'a> {
    cfg: &'a Config,
}

impl<'a> EcrHelper<'a> {
    pub fn new(cfg: &'a Config) -> EcrHelper<'a> {
        EcrHelper { cfg }
    }

    fn call(&self) -> Helper {
        Helper::new(self.cfg, Instant::now() + self.cfg.timeout)
    }

    /// Nothing is ever stored. For a host `get` answers (ECR, ECR Public, a configured alias)
    /// that is success (D18); otherwise Go's `not implemented`, unless
    /// `AWS_ECR_IGNORE_CREDS_STORAGE`.
    fn storage(&self, verb: &str, server_url: &str) -> Result<(), NotImplemented> {
        if self.call().routes.answers(server_url) {
            log::debug(
                "Nothing to store: tokens are fetched when asked for",
                &[("verb", verb), ("serverURL", &log::redact_url(server_url))],
            );
            return Ok(());
        }
        log::warn(
            &format!("{verb} is not supported by the ECR credential helper; nothing was changed"),
            &[],
        );
        if self.cfg.ignore_creds_storage {
            Ok(())
        } else {
            Err(NotImplemented)
        }
    }
}

impl CredentialHelper for EcrHelper<'_> {
    fn get(&self, server_url: &str) -> Option<Answer> {
        self.call().get(server_url)
    }

    fn get_as(&self, server_url: &str, pod: &Federated) -> Option<Answer> {
        self.call().get_as(server_url, pod.clone())
    }

    fn list(&self) -> BTreeMap<String, String> {
        self.call().list()
    }

    fn store(&self, server_url: &str) -> Result<(), NotImplemented> {
        self.storage("store", server_url)
    }

    fn erase(&self, server_url: &str) -> Result<(), NotImplemented> {
        self.storage("erase", server_url)
    }
}

/// One call's state: its configuration, cache and deadline.
pub struct Helper {
    /// Shared with the worker thread that runs the SDK (see [`run_until`]).
    cfg: Arc<Config>,
    cache: Option<Cache>,
    deadline: Instant,
    /// The shared config and credentials files, read at most once per invocation.
    files: OnceCell<SharedFiles>,
    /// The selected profile's properties, parsed from `files` at most once.
    profile: OnceCell<Properties>,
    /// The identity the credential chain would use, computed locally at most once.
    identity: OnceCell<Identity>,
    /// The kubelet pod this call is made as ([`pod`]), instead of the configured identity.
    pod: Option<Federated>,
    /// The registries configuration (D19), read once per call; empty in the copies that only
    /// fetch (the worker, a rule's identity): they never resolve a request.
    routes: routes::Routes,
    /// A role a rule of that configuration assumes on top of the identity.
    role: Option<routes::RoleSpec>,
}

impl Helper {
    pub fn new(cfg: &Config, deadline: Instant) -> Helper {
        let cache = match (&cfg.cache_dir, cfg.cache_disabled) {
            (Some(dir), false) => Some(Cache::new(dir.clone())),
            _ => None,
        };
        let routes = routes::Routes::load(cfg);
        for problem in &routes.problems {
            log::warn(
                "Problem in the registries configuration",
                &[("at", &problem.origin), ("problem", &problem.message)],
            );
        }
        Helper {
            cfg: Arc::new(cfg.clone()),
            cache,
            deadline,
            files: OnceCell::new(),
            profile: OnceCell::new(),
            identity: OnceCell::new(),
            pod: None,
            routes,
            role: None,
        }
    }

    /// A copy for the worker thread, with whatever was already read.
    fn for_worker(&self) -> Helper {
        Helper {
            cfg: Arc::clone(&self.cfg),
            cache: self.cache.clone(),
            deadline: self.deadline,
            files: self.files.clone(),
            profile: self.profile.clone(),
            identity: self.identity.clone(),
            pod: self.pod.clone(),
            routes: routes::Routes::default(),
            role: self.role.clone(),
        }
    }

    fn files(&self) -> &SharedFiles {
        self.files
            .get_or_init(|| SharedFiles::read(&self.cfg.config_file, &self.cfg.credentials_file))
    }

    fn profile(&self) -> &Properties {
        self.profile
            .get_or_init(|| self.files().properties(&self.cfg.profile))
    }

    fn identity(&self) -> &Identity {
        self.identity.get_or_init(|| {
            self.pod_identity().unwrap_or_else(|| {
                let id = identity::resolve_config(&self.cfg, || self.files());
                match &self.role {
                    Some(role) => identity::assumed(role, id),
                    None => id,
                }
            })
        })
    }

    /// Whether the identity's local session (web identity token, SSO session) still allows a
    /// cached answer (D17); logged when it does not.
    fn identity_usable(&self) -> bool {
        let id = self.identity();
        let usable = id.usable_at(GoTime::now());
        if !usable {
            log::debug(
                "The identity's session has ended; no cached answer",
                &[("identity", id.kind())],
            );
        }
        usable
    }

    /// The owner known without the SDK (D8, D17): static keys, or an identity with a key.
    fn local_owner(&self) -> Option<Owner> {
        if !self.identity_usable() {
            return None;
        }
        match self.identity() {
            Identity::StaticKey { akid } => Some(Owner::Akid(akid.clone())),
            Identity::Instance { place } => self.instance_owner(place),
            id => id.key_part().map(Owner::Identity),
        }
    }

    /// The owner of the tokens fetched with the resolved access key id `akid`: the local
    /// identity when it has a key, else `akid` (Go's key); `None` once its session has ended.
    fn session_owner(&self, akid: &str) -> Option<Owner> {
        if !self.identity_usable() {
            return None;
        }
        Some(match self.identity() {
            Identity::StaticKey { .. } => Owner::Akid(akid.to_owned()),
            id => id
                .key_part()
                .map_or_else(|| Owner::Akid(akid.to_owned()), Owner::Identity),
        })
    }

    fn remaining(&self) -> Duration {
        self.deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    }

    /// Credentials for `registry`, which `server_url` names, or `None` for the not-found answer.
    fn get_registry(&self, server_url: &str, registry: Registry) -> Option<Answer> {
        log::debug(
            "Retrieving credentials",
            &[
                ("serverURL", &log::redact_url(server_url)),
                ("service", registry.service()),
            ],
        );
        if let Some(answer) = self.fresh_for_local_identity(&registry) {
            return Some(answer);
        }
        let worker = self.for_worker();
        let answer = run_until(self.deadline, move || async move {
            worker.resolve_and_fetch(&registry).await
        });
        answer.unwrap_or_else(|| {
            // Out of time before the credentials were known: no keys, so no fallback.
            self.log_timeout();
            None
        })
    }

    /// The fast path (D8, D17): a fresh token for an identity known without the SDK.
    fn fresh_for_local_identity(&self, registry: &Registry) -> Option<Answer> {
        self.cache.as_ref()?;
        let slot = Slot::new(registry, self.local_owner()?);
        let answer = self.fresh(&slot.keys)?;
        log::debug(
            "Using cached token (local identity)",
            &[
                ("service", registry.service()),
                ("identity", self.identity().kind()),
            ],
        );
        Some(answer)
    }

    /// Resolves the session, whose credentials give the cache keys, then fetches under the
    /// deadline; when the deadline cuts the fetch short, the fallback uses those keys.
    async fn resolve_and_fetch(&self, registry: &Registry) -> Option<Answer> {
        let session = match self
            .session(registry.region().unwrap_or(PUBLIC_REGION))
            .await
        {
            Ok(session) => session,
            Err(SessionError::Config(e)) => {
                log::error(&e.to_string(), &[]);
                return None;
            }
            Err(SessionError::Credentials(e)) => {
                self.log_no_credentials(&e);
                return None;
            }
        };
        if let Identity::Instance { place } = self.identity() {
            self.remember_instance(place, &session);
        }
        let slot = self
            .cache
            .as_ref()
            .and_then(|_| self.session_owner(&session.akid))
            .map(|owner| Slot::new(registry, owner));
        let fetch = self.fetch(registry, &session, slot.as_ref());
        match tokio::time::timeout_at(self.deadline.into(), fetch).await {
            Ok(answer) => answer,
            Err(_) => {
                self.log_timeout();
                self.fallback(slot.as_ref().map(|s| &s.keys))
            }
        }
    }

    /// Single flight (with a cache), the API call, and the cache write or the fallback.
    async fn fetch(
        &self,
        registry: &Registry,
        session: &Session,
        slot: Option<&Slot>,
    ) -> Option<Answer> {
        let keys = slot.map(|s| &s.keys);
        let _guard = match (&self.cache, keys) {
            (Some(cache), Some(keys)) => match self.single_flight(cache, registry, keys).await {
                Flight::Cached(answer) => return Some(answer),
                Flight::Fetch(guard) => guard,
            },
            _ => None,
        };
        match session.fetch(registry).await {
            Ok(fetched) => {
                let key = slot.map(|s| s.store_key(registry, &fetched));
                self.accept(fetched, key, registry.service())
            }
            Err(e) => {
                log_api_error(&e);
                self.fallback(keys)
            }
        }
    }

    fn log_timeout(&self) {
        log::error(
            "Timed out getting credentials; raise AWS_ECR_TIMEOUT or check network access to ECR",
            &[("timeout", &format!("{:?}", self.cfg.timeout))],
        );
    }
}
