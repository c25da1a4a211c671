//! Everything that talks to AWS (SPEC §5): SDK and client set-up (`factory`, as the Go helper's
//! `api/factory.go`) and the ECR calls (`client`, as its `api/client.go`), instance metadata,
//! the HTTP client with Go's proxy rules, TLS roots, the shared config files and
//! `credential_process`.

pub mod assume;
pub mod client;
pub mod factory;
pub mod http;
pub mod imds;
pub mod process;
pub mod profile;
pub mod proxy;
pub mod tls;
pub mod web_identity;
