//! `docker-credential-ecr-login` as a library: the binary in `main.rs` is a thin composition
//! root over it, and the tests and fuzz targets use it directly.
//!
//! The rooms, and the one direction of their arrows:
//! - [`serve`]: the protocols callers speak (docker credential helper, kubelet credential
//!   provider) over the [`serve::CredentialHelper`] trait; knows nothing of AWS or the cache.
//! - [`helper`]: the ECR helper that implements that trait: fast path, single-flight fetch,
//!   fallback, `list` priming.
//! - [`cache`]: the drop-in `~/.ecr/cache.json`: entries, keys, file format, locks.
//! - [`aws`]: everything that talks to AWS: SDK set-up, the ECR calls, instance metadata, HTTP,
//!   proxies, TLS roots, the shared config files, `credential_process`.
//! - [`go`]: byte-exact Go compatibility (JSON strings, RFC 3339 times).
//! - `doctor` and `configure` (feature `doctor`, default): the commands of those names (verbs Go
//!   rejects as unknown actions, so no protocol verb changes), chosen in [`commands`].
//! - leaves: [`registry`], [`token`], [`secret`], [`config`], [`log`], [`fsutil`].
//!
//! `aws` and `helper` need the default feature `aws` (the SDK); the rest builds without it.
//!
//! main → serve, helper · helper → registry, token, cache, aws, config, log · aws → registry,
//! config, log, go, secret · cache → go, secret, fsutil, log · serve → go, secret, log.

#[cfg(feature = "aws")]
pub mod aws;
pub mod cache;
#[cfg(feature = "aws")]
pub mod commands;
pub mod config;
#[cfg(feature = "doctor")]
pub mod configure;
#[cfg(feature = "doctor")]
pub mod doctor;
pub mod fsutil;
pub mod go;
#[cfg(feature = "aws")]
pub mod helper;
pub mod log;
pub mod registry;
pub mod secret;
pub mod serve;
pub mod token;
