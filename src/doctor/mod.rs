//! `docker-credential-ecr-login doctor [--json] [REGISTRY...]`: walks the whole path a `get`
//! takes for a registry (or every registry the client configs send here) and says, one line a
//! link, what works and what to do about what does not (`get` itself must answer not-found for
//! every cause, so the cause otherwise only reaches the log).
//!
//! General checks first ([`routing::check_files`], PATH, instance metadata, cache, log), then
//! per registry: routing, hostname, credentials, endpoint, TCP, CA bundle, TLS, a real
//! `GetAuthorizationToken` and the clock. Every check runs (a check that depends on a broken
//! one is skipped); the exit code is 1 when any failed. The network part is bounded by
//! `AWS_ECR_TIMEOUT`, as `get` is. Nothing is written but a probe file in the cache directory,
//! removed at once; no token or secret key is ever printed. The report's shape is in
//! [`report`].

mod imds;
mod local;
mod remote;
pub mod report;
mod routing;
mod verdict;
mod watch;

use crate::aws::profile::SharedFiles;
use crate::config::Config;
use crate::helper::identity::{self, Identity};
use crate::helper::routes::{self, Routes};
use crate::registry::Registry;
use report::{Check, Report};
use std::ffi::OsString;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The first argument that selects this command.
pub const VERB: &str = "doctor";
const USAGE: &str = "Usage: docker-credential-ecr-login doctor [--json] [REGISTRY...]\n";

/// Runs the command with the arguments after `doctor`; returns the exit code.
pub fn main(cfg: &Config, args: &[OsString]) -> i32 {
    let mut json = false;
    let mut registries = Vec::new();
    for a in args {
        match a.to_str() {
            Some("--json") => json = true,
            Some(r) if !r.starts_with('-') => registries.push(r.to_owned()),
            _ => return crate::configure::fail(USAGE),
        }
    }
    let report = run(cfg, &registries);
    let text = if json { report.json() } else { report.human() };
    crate::configure::print(&text, report.code())
}

/// A registry's docker key, its parsed form, and its local checks (routing, hostname).
struct Target {
    key: String,
    registry: Option<Registry>,
    /// The identity a rule of the registries configuration gives it (D19).
    rule: Option<routes::Identity>,
    checks: Vec<Check>,
}

impl Target {
    fn new(files: &[routing::ClientFile], routes: &Routes, key: &str) -> Target {
        let (host, registry) = local::check_host(key, routes);
        let mut checks = routing::check_route(files, key);
        checks.push(host);
        let rule = routes.resolve(key).ok().flatten();
        Target {
            key: key.to_owned(),
            registry,
            rule: rule.and_then(|t| t.identity).map(|(id, _)| id),
            checks,
        }
    }
}

/// Every check, for `registries` (none: those the client configs send here).
pub fn run(cfg: &Config, registries: &[String]) -> Report {
    let files = routing::files(cfg.home.as_deref());
    let keys: Vec<String> = if registries.is_empty() {
        routing::configured(&files)
    } else {
        let key = |r: &String| crate::configure::paths::docker_key(r).to_owned();
        registries.iter().map(key).collect()
    };
    let shared = SharedFiles::read(&cfg.config_file, &cfg.credentials_file);
    let profile = shared.properties(&cfg.profile);
    let id = identity::resolve(&identity::Inputs::new(cfg), &shared);
    let mut checks = vec![routing::check_files(&files), local::check_path()];
    if keys.is_empty() {
        let fix = "name one: docker-credential-ecr-login doctor REGISTRY, or configure REGISTRY";
        let detail = "none given and no credHelpers entry names ecr-login".to_owned();
        checks.push(Check::fail("registries", detail, fix));
    }
    checks.push(check_routes(cfg));
    let routes = Routes::load(cfg);
    let targets: Vec<Target> = keys
        .iter()
        .map(|k| Target::new(&files, &routes, k))
        .collect();
    let (remotes, imds) = network(cfg, &targets, crate::aws::imds::endpoint(&profile));
    let from_imds = matches!(id, Identity::Instance { .. });
    checks.push(imds::check(imds.0.as_deref(), &imds.1, from_imds));
    checks.push(local::check_cache(cfg));
    checks.push(local::check_log(cfg));
    let roots = crate::aws::tls::load(&crate::aws::factory::roots_config(cfg, &profile));
    let roots = verdict::RootsSummary {
        source: roots_source(cfg, &roots.source),
        count: roots.certs.len(),
    };
    let who = format!("{} (profile {})", local::describe(&id), cfg.profile);
    for (target, remote) in targets.into_iter().zip(remotes) {
        let mut list = target.checks;
        if let Some(remote) = remote {
            list.extend(verdict::checks(&remote, &who, &roots));
        }
        checks.extend(list.into_iter().map(|c| c.about(&target.key)));
    }
    Report::new(checks)
}

/// The registries configuration (D19): absent, clean, or every problem with its file and line.
fn check_routes(cfg: &Config) -> Check {
    let problems = routes::problems(cfg);
    let file = cfg
        .ecr_config_file
        .as_ref()
        .map(|f| f.display().to_string());
    if problems.is_empty() {
        let detail = match file {
            Some(f) if std::path::Path::new(&f).exists() => format!("{f}: no problem"),
            _ => "none (every registry uses the default chain)".to_owned(),
        };
        return Check::ok("registries configuration", detail);
    }
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let fix = "correct those lines (a registry a broken rule matches gets not-found)";
    Check::fail("registries configuration", list.join("; "), fix)
}

/// Where the roots came from, naming the variables' values.
fn roots_source(cfg: &Config, source: &Option<crate::aws::tls::Source>) -> String {
    if *source != Some(crate::aws::tls::Source::SslCertEnv) {
        return crate::aws::tls::describe(source);
    }
    let file = cfg.ssl_cert_file.as_ref().map(|f| f.display().to_string());
    let dir = cfg
        .ssl_cert_dir
        .as_ref()
        .map(|d| d.to_string_lossy().into_owned());
    let file = file.map(|f| format!("SSL_CERT_FILE={f}"));
    let dir = dir.map(|d| format!("SSL_CERT_DIR={d}"));
    file.into_iter().chain(dir).collect::<Vec<_>>().join(", ")
}

type ImdsFinding = (Option<String>, imds::Imds);
/// Every registry's network walk and the instance metadata probe.
type Findings = (Vec<Option<remote::Remote>>, ImdsFinding);

/// The network walks of every ECR target and the instance metadata probe, at once, within
/// `AWS_ECR_TIMEOUT`.
fn network(
    cfg: &Config,
    targets: &[Target],
    imds_ep: Option<crate::aws::imds::Endpoint>,
) -> Findings {
    let deadline = Instant::now() + cfg.timeout;
    let cfg = Arc::new(cfg.clone());
    let registries: Vec<(Option<Registry>, Option<routes::Identity>)> = targets
        .iter()
        .map(|t| (t.registry.clone(), t.rule.clone()))
        .collect();
    let n = registries.len();
    // The answer comes back through `slot`, so that the worker's result type is `()`, as
    // `list`'s priming has it (one instantiation of the channel code, not two).
    let slot: Arc<Mutex<Option<Findings>>> = Arc::default();
    let out = Arc::clone(&slot);
    let work = move || async move {
        let walks = async {
            let mut out = Vec::new();
            for (r, rule) in &registries {
                out.push(match r {
                    Some(r) => Some(remote::probe(&cfg, r, rule.as_ref(), deadline).await),
                    None => None,
                });
            }
            out
        };
        let found = tokio::join!(walks, imds::probe(imds_ep));
        if let Ok(mut s) = out.lock() {
            *s = Some(found);
        }
    };
    let _ = crate::helper::runtime::run_until(deadline, work);
    let found = slot.lock().ok().and_then(|mut s| s.take());
    found.unwrap_or_else(|| {
        let timed_out = || remote::Remote {
            config_err: Some("timed out (AWS_ECR_TIMEOUT)".to_owned()),
            ..Default::default()
        };
        let remotes = (0..n).map(|_| Some(timed_out())).collect();
        let imds = (None, imds::Imds::Unreachable("timed out".to_owned()));
        (remotes, imds)
    })
}
