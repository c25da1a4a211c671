//! Where the clients read their credential helper settings, as they locate the files:
//! - the docker CLI: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`;
//! - containers/image (podman, buildah, skopeo; containers-auth.json(5)): `$REGISTRY_AUTH_FILE`
//!   when set, else the run-time `$XDG_RUNTIME_DIR/containers/auth.json` and then
//!   `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json` (it also falls back to the docker file).
//!
//! `configure --containers` writes the persistent one (`$REGISTRY_AUTH_FILE`, else the
//! `XDG_CONFIG_HOME` file): the run-time one is lost at logout.

use std::path::{Path, PathBuf};

/// The helper name in `credHelpers` values (`docker-credential-<name>` on PATH).
pub const HELPER: &str = "ecr-login";
/// The executable the clients run.
pub const EXECUTABLE: &str = "docker-credential-ecr-login";

fn var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The docker CLI's config file; `None` without `DOCKER_CONFIG` or a home.
pub fn docker_config(home: Option<&Path>) -> Option<PathBuf> {
    var("DOCKER_CONFIG")
        .or_else(|| home.map(|h| h.join(".docker")))
        .map(|d| d.join("config.json"))
}

/// The persistent containers auth file.
pub fn containers_target(home: Option<&Path>) -> Option<PathBuf> {
    var("REGISTRY_AUTH_FILE").or_else(|| {
        var("XDG_CONFIG_HOME")
            .or_else(|| home.map(|h| h.join(".config")))
            .map(|d| d.join("containers/auth.json"))
    })
}

/// The containers auth files in the order containers/image reads them.
pub fn containers_files(home: Option<&Path>) -> Vec<PathBuf> {
    if let Some(f) = var("REGISTRY_AUTH_FILE") {
        return vec![f];
    }
    let runtime = var("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json"));
    runtime.into_iter().chain(containers_target(home)).collect()
}

/// The key the docker CLI looks a registry up by: the input without `http(s)://` and without
/// anything from the first `/` (host and port as written).
pub fn docker_key(input: &str) -> &str {
    let s = input
        .strip_prefix("https://")
        .or_else(|| input.strip_prefix("http://"))
        .unwrap_or(input);
    s.split('/').next().unwrap_or(s)
}
