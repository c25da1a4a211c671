//! The checks that need no network: the executable on PATH, the hostname, the identity the
//! credential chain would use (named, never its secret), the cache directory and its modes, and
//! where the log goes.

use super::report::Check;
use crate::config::Config;
use crate::configure::paths::EXECUTABLE;
use crate::helper::identity::Identity;
use crate::helper::routes::{Identity as RouteIdentity, Routes};
use crate::registry::Registry;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// The last four characters of an access key id (enough to tell keys apart, as `aws configure
/// list` shows them).
pub fn mask(akid: &str) -> String {
    let tail: String = akid
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

/// Whether the clients find `docker-credential-ecr-login` on PATH, and which file it is.
pub fn check_path() -> Check {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|d| d.join(EXECUTABLE))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0));
    let Some(found) = found else {
        return Check::fail(
            "PATH",
            format!(
                "no executable {EXECUTABLE} in PATH={}",
                path.to_string_lossy()
            ),
            "install this binary as /usr/local/bin/docker-credential-ecr-login",
        );
    };
    let me = std::env::current_exe().and_then(std::fs::canonicalize).ok();
    let same = me.is_some() && std::fs::canonicalize(&found).ok() == me;
    let mut detail = found.display().to_string();
    if let (false, Some(me)) = (same, me) {
        detail.push_str(&format!(" (not this binary, {})", me.display()));
    }
    Check::ok("PATH", detail)
}

/// Whether `key` names an ECR registry (or an alias of one in the registries configuration,
/// D19), which, and the identity a rule of that configuration gives it.
pub fn check_host(key: &str, routes: &Routes) -> (Check, Option<Registry>) {
    let target = match routes.resolve(key) {
        Ok(Some(target)) => target,
        Ok(None) => {
            let fix = "name a registry <account>.dkr.ecr.<region>.amazonaws.com or public.ecr.aws, or an alias of the registries configuration; the helper answers not-found for any other host";
            return (
                Check::fail("hostname", format!("{key} is not an ECR registry"), fix),
                None,
            );
        }
        Err(problem) => {
            let detail = format!("the registries configuration refuses {key}: {problem}");
            let fix = "correct that line of the registries configuration (get answers not-found meanwhile)";
            return (Check::fail("hostname", detail, fix), None);
        }
    };
    let Some(alias) = &target.alias else {
        let (check, registry) = describe_host(key, target.registry);
        return (with_rule(check, &target.identity), registry);
    };
    let host = registry_host(&target.registry);
    let (check, registry) = describe_host(&host, target.registry);
    let check = Check::ok(
        "hostname",
        format!("alias {alias} of {host}: {}", check.detail),
    );
    (with_rule(check, &target.identity), registry)
}

/// A rule's identity named in the hostname line.
fn with_rule(mut check: Check, identity: &Option<(RouteIdentity, String)>) -> Check {
    if let Some((id, origin)) = identity {
        let profile = id.profile.as_deref().map(|p| format!(" profile {p}"));
        let role = id.role.as_ref().map(|r| format!(" role {}", r.role_arn));
        check.detail = format!(
            "{}; identity from {origin}:{}{}",
            check.detail,
            profile.unwrap_or_default(),
            role.unwrap_or_default()
        );
    }
    check
}

/// The hostname an alias stands for.
fn registry_host(registry: &Registry) -> String {
    match registry {
        Registry::Private {
            account,
            region,
            fips,
        } => format!(
            "{account}.dkr.ecr{}.{region}.amazonaws.com",
            if *fips { "-fips" } else { "" }
        ),
        Registry::Public { host } => host.clone(),
    }
}

/// The hostname line for a registry.
fn describe_host(key: &str, registry: Registry) -> (Check, Option<Registry>) {
    let detail = match &registry {
        Registry::Private {
            account,
            region,
            fips,
        } => {
            let host = crate::registry::extract_host(key).unwrap_or_default();
            let dual = host.ends_with(".on.aws") || host.ends_with(".on.amazonwebservices.com.cn");
            format!(
                "ECR, account {account}, region {region}{}{}",
                if *fips { ", FIPS" } else { "" },
                if dual { ", dual-stack" } else { "" }
            )
        }
        Registry::Public { host } => format!("ECR Public ({host}), region us-east-1"),
    };
    (Check::ok("hostname", detail), Some(registry))
}

/// The identity the chain would use, named without its secret.
pub fn describe(id: &Identity) -> String {
    match id {
        Identity::StaticKey { akid } => format!("static keys {}", mask(akid)),
        Identity::AssumeRole {
            role_arn, source, ..
        } => {
            format!("role {role_arn} assumed with {}", describe(source))
        }
        Identity::WebIdentity { role_arn, .. } => format!("web identity for {role_arn}"),
        Identity::Sso { account, role, .. } => format!("SSO role {role} in {account}"),
        Identity::Container { endpoint, .. } => {
            format!(
                "container credentials from {}",
                crate::log::redact_url(endpoint)
            )
        }
        Identity::Process { profile, .. } => format!("credential_process of profile {profile}"),
        Identity::Instance { .. } => "instance metadata".to_owned(),
        Identity::Unknown(why) => format!("not known locally ({why})"),
    }
}

/// Whether the cache directory works, and its modes (tokens live there: 0700, 0600).
pub fn check_cache(cfg: &Config) -> Check {
    let dir = match (&cfg.cache_dir, cfg.cache_disabled) {
        (_, true) => return Check::skip("cache", "off (AWS_ECR_DISABLE_CACHE)".to_owned()),
        (None, _) => return Check::skip("cache", "off (no home directory)".to_owned()),
        (Some(dir), false) => dir,
    };
    let fix_dir = "make it a directory you own and can write (chmod 700), or set AWS_ECR_CACHE_DIR";
    let meta = match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return missing_dir(dir, fix_dir);
        }
        Err(e) => return Check::fail("cache", format!("{}: {e}", dir.display()), fix_dir),
        Ok(m) => m,
    };
    if !meta.is_dir() {
        return Check::fail(
            "cache",
            format!("{} is not a directory", dir.display()),
            fix_dir,
        );
    }
    if let Err(e) = probe_write(dir) {
        return Check::fail(
            "cache",
            format!("{} is not writable: {e}", dir.display()),
            fix_dir,
        );
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o022 != 0 {
        let d = format!("{} is writable by others (mode {mode:o})", dir.display());
        return Check::fail("cache", d, "chmod 700 it");
    }
    cache_file(dir, mode)
}

/// The cache file's mode: it holds registry passwords, so nobody else may read it.
fn cache_file(dir: &Path, dir_mode: u32) -> Check {
    let file = dir.join("cache.json");
    let Ok(meta) = std::fs::symlink_metadata(&file) else {
        let detail = format!(
            "{} (directory mode {dir_mode:o}, no file yet)",
            dir.display()
        );
        return Check::ok("cache", detail);
    };
    let mode = meta.permissions().mode() & 0o777;
    let shown = file.display();
    if mode & 0o077 != 0 {
        let detail = format!("{shown} is readable by others (mode {mode:o})");
        return Check::fail("cache", detail, "chmod 600 it: it holds registry passwords");
    }
    let detail = format!("{shown} (directory mode {dir_mode:o}, file mode {mode:o})");
    Check::ok("cache", detail)
}

/// A cache directory that does not exist yet: created 0700 on first use if its parent allows.
fn missing_dir(dir: &Path, fix: &str) -> Check {
    let parent = dir.ancestors().skip(1).find(|p| p.exists());
    match parent {
        Some(p) if p.is_dir() && probe_write(p).is_ok() => Check::ok(
            "cache",
            format!("{} (created 0700 on first use)", dir.display()),
        ),
        _ => Check::fail("cache", format!("{} cannot be created", dir.display()), fix),
    }
}

/// Creates and removes a file in `dir`: the only proof of writability that holds for root and
/// read-only mounts alike.
fn probe_write(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let probe = dir.join(format!(".doctor-probe-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}

/// Where the log goes, at which level.
pub fn check_log(cfg: &Config) -> Check {
    let level = cfg.log_level.as_str();
    match &cfg.cache_dir {
        Some(dir) if level != "off" => Check::ok(
            "log",
            format!(
                "{} (level {level}, AWS_ECR_LOG_LEVEL)",
                dir.join("log/ecr-login.log").display()
            ),
        ),
        _ => Check::skip("log", "off".to_owned()),
    }
}

#[cfg(test)]
mod tests;
