//! The helper's logic: `get` and `list` against the cache and the API (SPEC §5, §6, §8).
//!
//! One `get`: parse the host (not ECR: not-found, no I/O) -> if the identity is known locally,
//! answer a fresh cache entry with no runtime, SDK or TLS -> otherwise resolve credentials through
//! the SDK, look again, take the registry's fetch lock (polling the cache while waiting), look
//! again, call the API, write the cache under `.lock-cache`. A failed call falls back to an
//! unexpired cached token. Everything after stdin is read fits in one deadline (D5).

use crate::aws::client::{self, EcrError, Fetched, PUBLIC_REGION};
use crate::aws::factory;
use crate::aws::profile::{Properties, SharedFiles};
use crate::cache::{Cache, Entry, Keys, TryLock, WRITE_LOCK_WAIT};
use crate::config::Config;
use crate::go::time::GoTime;
use crate::log;
use crate::registry::{self, Registry};
use crate::serve::{Answer, CredentialHelper, NotImplemented};
use crate::token;
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a process waiting for another's fetch looks at the cache again.
const LOCK_POLL: Duration = Duration::from_millis(10);
/// How long past the deadline the answer waits for a worker that is stuck in a blocking call
/// before it is given without it.
const STUCK_GRACE: Duration = Duration::from_millis(300);
/// The worker thread's stack: the main thread's size, as the SDK's futures are deep.
const WORKER_STACK: usize = 8 << 20;

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

    /// Nothing is ever stored: Go's `not implemented`, unless `AWS_ECR_IGNORE_CREDS_STORAGE`.
    fn storage(&self, verb: &str) -> Result<(), NotImplemented> {
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

    fn list(&self) -> BTreeMap<String, String> {
        self.call().list()
    }

    fn store(&self, _server_url: &str) -> Result<(), NotImplemented> {
        self.storage("store")
    }

    fn erase(&self, _server_url: &str) -> Result<(), NotImplemented> {
        self.storage("erase")
    }
}

pub struct Helper {
    /// Shared with the worker thread that runs the SDK (see [`run_until`]).
    cfg: Arc<Config>,
    cache: Option<Cache>,
    deadline: Instant,
    /// The shared config and credentials files, read at most once per invocation.
    files: OnceCell<SharedFiles>,
    /// The selected profile's properties, parsed from `files` at most once.
    profile: OnceCell<Properties>,
}

fn keys_for(registry: &Registry, akid: &str) -> Keys {
    match registry {
        Registry::Private {
            region, account, ..
        } => Keys::private(region, akid, account),
        Registry::Public { .. } => Keys::public(akid),
    }
}

fn fetch_lock_name(registry: &Registry) -> String {
    match registry {
        Registry::Private {
            region, account, ..
        } => format!(".lock-{region}-{account}"),
        Registry::Public { .. } => ".lock-ecr-public".to_owned(),
    }
}

/// Runs the future made by `make` on a single-threaded runtime in a worker thread until
/// `deadline`; `None` when time ran out or the runtime could not start.
///
/// The SDK reads token and cache files inline, blocking the runtime's thread (a FIFO, a hung
/// network mount), and dropping a runtime waits for its blocking tasks: so the work runs on a
/// thread of its own that is never joined. At the deadline its runtime drops the future (which
/// kills a running `credential_process`); if the thread is stuck in a blocking call instead,
/// the answer is given [`STUCK_GRACE`] later without it, and the process exits over it.
fn run_until<T, F, M>(deadline: Instant, make: M) -> Option<T>
where
    M: FnOnce() -> F + Send + 'static,
    F: Future<Output = T>,
    T: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("ecr-login-sdk".to_owned())
        .stack_size(WORKER_STACK)
        .spawn(move || {
            let Some(rt) = runtime() else {
                let _ = tx.send(None);
                return;
            };
            let out = rt.block_on(async { tokio::time::timeout_at(deadline.into(), make()).await });
            let _ = tx.send(out.ok());
            // Never wait for blocking tasks (a hung DNS lookup) on the way out.
            rt.shutdown_background();
        });
    if let Err(e) = spawned {
        log::error("Cannot start a thread", &[("error", &e.to_string())]);
        return None;
    }
    let wait = deadline.saturating_duration_since(Instant::now()) + STUCK_GRACE;
    match rx.recv_timeout(wait) {
        Ok(out) => out,
        Err(_) => {
            log::error(
                "The AWS credential chain is stuck in a blocking call (a FIFO or a hung mount?); answering without it",
                &[],
            );
            None
        }
    }
}

/// A single-threaded runtime with timers and I/O (`None`, logged, if it cannot start).
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            log::error(
                "Cannot start the async runtime",
                &[("error", &e.to_string())],
            );
            None
        }
    }
}

impl Helper {
    pub fn new(cfg: &Config, deadline: Instant) -> Helper {
        let cache = match (&cfg.cache_dir, cfg.cache_disabled) {
            (Some(dir), false) => Some(Cache::new(dir.clone())),
            _ => None,
        };
        Helper {
            cfg: Arc::new(cfg.clone()),
            cache,
            deadline,
            files: OnceCell::new(),
            profile: OnceCell::new(),
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

    /// The access key ID the SDK would resolve, when it can be known without the SDK (D8).
    fn local_access_key(&self) -> Option<String> {
        if let Some(keys) = &self.cfg.env_keys {
            return Some(keys.access_key_id.clone());
        }
        if self.cfg.env_federated {
            return None;
        }
        crate::aws::profile::static_access_key(self.profile()).map(str::to_owned)
    }

    fn remaining(&self) -> Duration {
        self.deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    }

    /// A fresh, decodable cached token under `keys`.
    fn fresh(&self, keys: &Keys) -> Option<Answer> {
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
    fn fallback(&self, keys: Option<&Keys>) -> Option<Answer> {
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
    fn accept(&self, fetched: Fetched, key: Option<String>, service: &str) -> Option<Answer> {
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
        if let (Some(cache), Some(key)) = (&self.cache, key) {
            let entry = Entry {
                authorization_token: fetched.token,
                requested_at: GoTime::now(),
                expires_at: fetched.expires_at,
                proxy_endpoint: fetched.proxy_endpoint,
                service: service.to_owned(),
            };
            let wait = WRITE_LOCK_WAIT.min(self.remaining());
            if let Err(e) = cache.store(&key, entry, wait) {
                log::warn(
                    "Could not write the cache; answering without caching",
                    &[
                        ("path", &cache.file_path().to_string_lossy()),
                        ("error", &e.to_string()),
                    ],
                );
            }
        }
        Some(Answer { creds, expires_at })
    }

    /// Credentials for `server_url`, or `None` for the not-found answer.
    pub fn get(&self, server_url: &str) -> Option<Answer> {
        let Some(registry) = registry::parse(server_url) else {
            log::info(
                "docker-credential-ecr-login can only be used with Amazon Elastic Container Registry.",
                &[("serverURL", &log::redact_url(server_url))],
            );
            return None;
        };
        log::debug(
            "Retrieving credentials",
            &[
                ("serverURL", &log::redact_url(server_url)),
                ("service", registry.service()),
            ],
        );
        if self.cache.is_some() {
            if let Some(akid) = self.local_access_key() {
                if let Some(c) = self.fresh(&keys_for(&registry, &akid)) {
                    log::debug(
                        "Using cached token (local identity)",
                        &[("service", registry.service())],
                    );
                    return Some(c);
                }
            }
        }
        let keys = Arc::new(Mutex::new(None));
        let worker = self.for_worker();
        let worker_keys = Arc::clone(&keys);
        let answer = run_until(self.deadline, move || async move {
            worker.fetch(&registry, &worker_keys).await
        });
        match answer {
            Some(answer) => answer,
            None => {
                log::error(
                    "Timed out getting credentials; raise AWS_ECR_TIMEOUT or check network access to ECR",
                    &[("timeout", &format!("{:?}", self.cfg.timeout))],
                );
                let keys = keys.lock().ok().and_then(|k| k.clone());
                self.fallback(keys.as_ref())
            }
        }
    }

    async fn fetch(&self, registry: &Registry, keys_out: &Mutex<Option<Keys>>) -> Option<Answer> {
        let region = match registry {
            Registry::Private { region, .. } => region.as_str(),
            Registry::Public { .. } => PUBLIC_REGION,
        };
        let sdk = match factory::load_config(
            &self.cfg,
            self.files(),
            self.profile(),
            region,
            self.remaining(),
        )
        .await
        {
            Ok(sdk) => sdk,
            Err(e) => {
                log::error(&e.to_string(), &[]);
                return None;
            }
        };
        let creds = match factory::credentials(&self.cfg, self.profile(), &sdk).await {
            Ok(c) => c,
            Err(e) => {
                log::error(
                    "No AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or attach a role",
                    &[("error", &e.to_string())],
                );
                return None;
            }
        };
        let akid = creds.access_key_id().to_owned();
        let keys = self.cache.as_ref().map(|_| keys_for(registry, &akid));
        if let Ok(mut out) = keys_out.lock() {
            out.clone_from(&keys);
        }
        let _guard = match (&self.cache, &keys) {
            (Some(cache), Some(keys)) => {
                if let Some(c) = self.fresh(keys) {
                    log::debug("Using cached token", &[("service", registry.service())]);
                    return Some(c);
                }
                let name = fetch_lock_name(registry);
                let guard = loop {
                    match cache.try_lock(&name) {
                        TryLock::Acquired(g) => break Some(g),
                        TryLock::Failed(e) => {
                            log::debug(
                                "No fetch lock; fetching unlocked",
                                &[("error", &e.to_string())],
                            );
                            break None;
                        }
                        TryLock::Busy => {
                            tokio::time::sleep(LOCK_POLL).await;
                            if let Some(c) = self.fresh(keys) {
                                log::debug("Another process fetched the token", &[]);
                                return Some(c);
                            }
                        }
                    }
                };
                if let Some(c) = self.fresh(keys) {
                    return Some(c);
                }
                guard
            }
            _ => None,
        };
        let result = match registry {
            Registry::Private { account, fips, .. } => {
                client::get_private(&sdk, creds, Some(account), *fips).await
            }
            Registry::Public { host } => client::get_public(&sdk, creds, host).await,
        };
        match result {
            Ok(fetched) => {
                // Private tokens are cached under the account of the returned proxy endpoint,
                // as Go does; `keys` is `None` when there is no cache.
                let key = keys.as_ref().map(|k| match (registry, &fetched.account) {
                    (Registry::Private { region, .. }, Some(acct)) => {
                        Keys::private(region, &akid, acct).current
                    }
                    _ => k.current.clone(),
                });
                self.accept(fetched, key, registry.service())
            }
            Err(e) => {
                log_api_error(&e);
                self.fallback(keys.as_ref())
            }
        }
    }

    /// The `list` answer: every cached endpoint and its username, after priming the cache.
    pub fn list(&self) -> BTreeMap<String, String> {
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
        let region = self.cfg.env_region.clone().or_else(|| {
            self.profile()
                .get("region")
                .filter(|r| !r.is_empty())
                .cloned()
        });
        let sdk = match factory::load_config(
            &self.cfg,
            self.files(),
            self.profile(),
            region.as_deref().unwrap_or(PUBLIC_REGION),
            self.remaining(),
        )
        .await
        {
            Ok(sdk) => sdk,
            Err(e) => {
                log::error(&format!("list: {e}; listing the cache only"), &[]);
                return;
            }
        };
        let creds = match factory::credentials(&self.cfg, self.profile(), &sdk).await {
            Ok(c) => c,
            Err(e) => {
                log::warn(
                    "list: no AWS credentials; listing the cache only",
                    &[("error", &e.to_string())],
                );
                return;
            }
        };
        let akid = creds.access_key_id().to_owned();
        match &region {
            Some(region) => match client::get_private(&sdk, creds.clone(), None, false).await {
                Ok(fetched) => {
                    let key = fetched
                        .account
                        .as_ref()
                        .map(|acct| Keys::private(region, &akid, acct).current);
                    self.accept(fetched, key, "ecr");
                }
                Err(e) => log_api_error(&e),
            },
            None => log::info("an AWS region is required, but was not found", &[]),
        }
        let public = Registry::Public {
            host: registry::PUBLIC_HOSTS[0].to_owned(),
        };
        let keys = keys_for(&public, &akid);
        if self.fresh(&keys).is_some() {
            return;
        }
        match client::get_public(&sdk, creds, registry::PUBLIC_HOSTS[0]).await {
            Ok(fetched) => {
                self.accept(fetched, Some(keys.current), "ecr-public");
            }
            Err(e) => log_api_error(&e),
        }
    }
}

fn log_api_error(e: &EcrError) {
    log::error(&e.to_string(), &[]);
}
