//! The integration tests, in one test binary (as ripgrep and cargo do): one link, one moto fork
//! server ([`common::ForkServer`]) for all of them, and one pool of test threads, so that a slow
//! file does not hold up the next one. Each module is what used to be its own `tests/*.rs`:
//! `cargo test --test it cli::` runs one of them.

#[macro_use]
mod common;

mod api_cache;
mod cli;
#[cfg(feature = "doctor")]
mod configure;
mod credentials;
#[cfg(feature = "doctor")]
mod doctor;
mod faults;
mod gitlab_example;
mod go_interop;
mod identity_cache;
mod identity_instance;
mod identity_principal;
mod kubelet;
mod registries;
mod server_smoke;
mod tls;
