//! One fetch per registry at a time across processes (D4): the registry's fetch lock in the
//! cache directory, and while another process holds it, polling the cache for the token it is
//! fetching. The caller's deadline bounds the wait (it runs under [`super::runtime`]).

use super::Helper;
use crate::cache::{Cache, Keys, LockGuard, TryLock};
use crate::log;
use crate::registry::Registry;
use crate::serve::Answer;
use std::time::Duration;

/// How often a process waiting for another's fetch looks at the cache again.
const LOCK_POLL: Duration = Duration::from_millis(10);

/// What single flight leaves the caller to do.
pub(super) enum Flight {
    /// A fresh token is cached (maybe just fetched by another process): answer it.
    Cached(Answer),
    /// Fetch, holding the lock (`None`: the lock could not be taken; fetch unlocked).
    Fetch(Option<LockGuard>),
}

impl Helper {
    /// Looks at the cache, takes `registry`'s fetch lock (polling the cache while another
    /// process holds it), and looks again.
    pub(super) async fn single_flight(
        &self,
        cache: &Cache,
        registry: &Registry,
        keys: &Keys,
    ) -> Flight {
        if let Some(c) = self.fresh(keys) {
            log::debug("Using cached token", &[("service", registry.service())]);
            return Flight::Cached(c);
        }
        match self
            .take_lock(cache, &registry.fetch_lock_name(), keys)
            .await
        {
            Flight::Fetch(guard) => match self.fresh(keys) {
                Some(c) => Flight::Cached(c),
                None => Flight::Fetch(guard),
            },
            cached => cached,
        }
    }

    /// Waits for the lock `name`; a token that turns up fresh meanwhile ends the wait.
    async fn take_lock(&self, cache: &Cache, name: &str, keys: &Keys) -> Flight {
        loop {
            match cache.try_lock(name) {
                TryLock::Acquired(g) => return Flight::Fetch(Some(g)),
                TryLock::Failed(e) => {
                    log::debug(
                        "No fetch lock; fetching unlocked",
                        &[("error", &e.to_string())],
                    );
                    return Flight::Fetch(None);
                }
                TryLock::Busy => {
                    tokio::time::sleep(LOCK_POLL).await;
                    if let Some(c) = self.fresh(keys) {
                        log::debug("Another process fetched the token", &[]);
                        return Flight::Cached(c);
                    }
                }
            }
        }
    }
}
