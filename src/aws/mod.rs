//! Everything that talks to AWS (SPEC §5): SDK set-up and the ECR calls, instance metadata,
//! the HTTP client with Go's proxy rules, TLS roots, the shared config files and
//! `credential_process`.

pub mod ecr;
pub mod http;
pub mod imds;
pub mod process;
pub mod profile;
pub mod proxy;
pub mod tls;
