//! The helper's side of the cache (SPEC §6): which keys a registry's token lives under for an
//! owner (an access key id, or a local identity: D17), a fresh hit, the fallback to an
//! unexpired token (D6), and storing a new token.

use super::Helper;
use crate::aws::client::Fetched;
use crate::cache::{Entry, Keys, WRITE_LOCK_WAIT};
use crate::go::time::GoTime;
use crate::log;
use crate::registry::Registry;
use crate::serve::Answer;
use crate::token;

/// Whom a token is cached for: an access key id (Go's key, shared with the Go helper) or the
/// key part of an identity computed locally (D17, `id1.<hex>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Owner {
    Akid(String),
    Identity(String),
}

/// An owner and the cache keys of one registry's token for it.
#[derive(Debug, Clone)]
pub(super) struct Slot {
    owner: Owner,
    pub(super) keys: Keys,
}

impl Slot {
    pub(super) fn new(registry: &Registry, owner: Owner) -> Slot {
        let keys = match registry {
            Registry::Private {
                region, account, ..
            } => private_keys(region, &owner, account),
            Registry::Public { .. } => match &owner {
                Owner::Akid(akid) => Keys::public(akid),
                Owner::Identity(part) => Keys::public_identity(part),
            },
        };
        Slot { owner, keys }
    }

    /// The key a fetched token is stored under: private tokens go under the account of the
    /// returned proxy endpoint, as Go does; otherwise under the key that was looked up.
    pub(super) fn store_key(&self, registry: &Registry, fetched: &Fetched) -> String {
        match (registry, &fetched.account) {
            (Registry::Private { region, .. }, Some(account)) => {
                private_keys(region, &self.owner, account).current
            }
            _ => self.keys.current.clone(),
        }
    }
}

/// The keys of a private registry's token for `owner`.
pub(super) fn private_keys(region: &str, owner: &Owner, account: &str) -> Keys {
    match owner {
        Owner::Akid(akid) => Keys::private(region, akid, account),
        Owner::Identity(part) => Keys::private_identity(region, part, account),
    }
}

impl Helper {
    /// A fresh, decodable cached token under `keys`.
    pub(super) fn fresh(&self, keys: &Keys) -> Option<Answer> {
        let cache = self.cache.as_ref()?;
        let file = cache.load();
        let entry = keys.find(&file)?;
        if !entry.is_fresh(GoTime::now()) {
            log::debug("Cached token is not fresh", &[("service", &entry.service)]);
            return None;
        }
        match token::decode(entry.authorization_token.expose()) {
            Ok(creds) => Some(Answer {
                creds,
                expires_at: entry.expires_at,
            }),
            Err(e) => {
                // D14: a fresh entry that does not decode is a miss.
                log::warn(
                    "Cached token does not decode; fetching a new one",
                    &[("error", &e.to_string())],
                );
                None
            }
        }
    }

    /// An unexpired cached token under `keys`, served when a refresh failed (D6).
    pub(super) fn fallback(&self, keys: Option<&Keys>) -> Option<Answer> {
        let file = self.cache.as_ref()?.load();
        let entry = keys?.find(&file)?;
        if !entry.is_unexpired(GoTime::now()) {
            log::debug("Cached token has expired; no fallback", &[]);
            return None;
        }
        let creds = token::decode(entry.authorization_token.expose()).ok()?;
        log::info(
            "Got error fetching authorization token. Falling back to cached token.",
            &[("service", &entry.service)],
        );
        Some(Answer {
            creds,
            expires_at: entry.expires_at,
        })
    }

    /// Decodes a freshly fetched token and caches it under `key` (`None`: no cache).
    pub(super) fn accept(
        &self,
        fetched: Fetched,
        key: Option<String>,
        service: &str,
    ) -> Option<Answer> {
        let creds = match token::decode(fetched.token.expose()) {
            Ok(c) => c,
            Err(e) => {
                log::error(
                    "ECR returned a token that cannot be used; not caching it",
                    &[
                        ("error", &e.to_string()),
                        ("proxyEndpoint", &fetched.proxy_endpoint),
                    ],
                );
                return None;
            }
        };
        log::info(
            "Got authorization token from ECR",
            &[
                ("proxyEndpoint", &fetched.proxy_endpoint),
                ("service", service),
            ],
        );
        let expires_at = fetched.expires_at;
        if let Some(key) = key {
            self.store(&key, fetched, service);
        }
        Some(Answer { creds, expires_at })
    }

    /// Writes a fetched token under `key`; a failure is logged and the answer goes on.
    fn store(&self, key: &str, fetched: Fetched, service: &str) {
        let Some(cache) = &self.cache else {
            return;
        };
        let entry = Entry {
            authorization_token: fetched.token,
            requested_at: GoTime::now(),
            expires_at: fetched.expires_at,
            proxy_endpoint: fetched.proxy_endpoint,
            service: service.to_owned(),
        };
        let wait = WRITE_LOCK_WAIT.min(self.remaining());
        if let Err(e) = cache.store(key, entry, wait) {
            log::warn(
                "Could not write the cache; answering without caching",
                &[
                    ("path", &cache.file_path().to_string_lossy()),
                    ("error", &e.to_string()),
                ],
            );
        }
    }
}
