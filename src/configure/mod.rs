//! `docker-credential-ecr-login configure [--dry-run] [--force] [--containers] REGISTRY...`:
//! sends registries to this helper through `credHelpers` in the docker config (and, with
//! `--containers`, in the containers auth file; [`paths`]).
//!
//! - Every other key, its order and the file's layout stay as they were ([`edit`] inserts
//!   text); the file keeps its mode (a new one is 0600, its directory 0700).
//! - The write is atomic: a temporary file in the same directory, fsync, rename. A config that
//!   is a symbolic link is refused rather than replaced by a file (name its target instead).
//! - An entry naming a different helper is refused unless `--force`; a refusal or any error
//!   writes nothing at all.
//! - `--dry-run` prints the diff and writes nothing.

mod edit;
pub mod paths;

use crate::config::Config;
use crate::helper::routes::Routes;
use paths::HELPER;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first argument that selects this command.
pub const VERB: &str = "configure";
const USAGE: &str =
    "Usage: docker-credential-ecr-login configure [--dry-run] [--force] [--containers] REGISTRY...\n";

/// A message on stderr, exit 1.
pub(crate) fn fail(msg: &str) -> i32 {
    let _ = std::io::stderr().lock().write_all(msg.as_bytes());
    1
}

/// `text` on stdout and `code`; 1 when stdout cannot be written.
pub(crate) fn print(text: &str, code: i32) -> i32 {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => code,
        Err(_) => 1,
    }
}

#[derive(Default)]
struct Options {
    dry_run: bool,
    force: bool,
    containers: bool,
    keys: Vec<String>,
}

/// `args` checked: every registry an ECR host or an alias of the registries configuration (D19).
fn options(args: &[OsString], routes: &Routes) -> Result<Options, String> {
    let mut o = Options::default();
    for a in args {
        match a.to_str() {
            Some("--dry-run") => o.dry_run = true,
            Some("--force") => o.force = true,
            Some("--containers") => o.containers = true,
            Some(r) if !r.starts_with('-') => {
                let key = paths::docker_key(r);
                if !matches!(routes.resolve(key), Ok(Some(_))) {
                    return Err(format!(
                        "{r} is not an ECR registry (nor a usable alias of the registries configuration)\n"
                    ));
                }
                o.keys.push(key.to_owned());
            }
            _ => return Err(USAGE.to_owned()),
        }
    }
    if o.keys.is_empty() {
        return Err(USAGE.to_owned());
    }
    Ok(o)
}

/// Runs the command with the arguments after `configure`; returns the exit code.
pub fn main(cfg: &Config, args: &[OsString]) -> i32 {
    let o = match options(args, &Routes::load(cfg)) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let home = cfg.home.as_deref();
    let mut files = vec![paths::docker_config(home)];
    if o.containers {
        files.push(paths::containers_target(home));
    }
    let Some(files) = files.into_iter().collect::<Option<Vec<PathBuf>>>() else {
        return fail("no home directory: set HOME or DOCKER_CONFIG\n");
    };
    let plans: Result<Vec<Plan>, String> = files.iter().map(|f| plan(f, &o)).collect();
    let plans = match plans {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let mut out = String::new();
    for p in &plans {
        match apply(p, o.dry_run) {
            Ok(text) => out.push_str(&text),
            Err(e) => return fail(&format!("{out}{e}")),
        }
    }
    print(&out, 0)
}

/// One file's change, worked out before anything is written.
struct Plan {
    path: PathBuf,
    old: String,
    new: String,
    /// The file's mode; `None` for a new file.
    mode: Option<u32>,
    added: Vec<String>,
}

/// The file's text and mode (`{}` and `None` when it does not exist); a symbolic link or
/// anything but a regular file is refused.
fn read_target(path: &Path) -> Result<(String, Option<u32>), String> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    Ok(match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ("{}".to_owned(), None),
        Err(e) => return Err(format!("{shown}: {e}\n")),
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::read_link(path).unwrap_or_default();
            return Err(format!("{shown} is a symbolic link to {}: configure the file itself (set DOCKER_CONFIG or REGISTRY_AUTH_FILE)\n", target.display()));
        }
        Ok(m) if !m.is_file() => return Err(format!("{shown} is not a regular file\n")),
        Ok(m) => {
            let bytes = crate::fsutil::read_regular(path, 4 << 20)
                .map_err(|e| format!("{shown}: {e}\n"))?;
            let text = String::from_utf8(bytes).map_err(|_| format!("{shown}: not UTF-8\n"))?;
            (text, Some(m.permissions().mode() & 0o7777))
        }
    })
}

/// Reads `path` and works out the new text.
fn plan(path: &Path, o: &Options) -> Result<Plan, String> {
    let shown = path.display();
    let (old, mode) = read_target(path)?;
    let doc = match serde_json::from_slice::<serde_json::Value>(old.as_bytes()) {
        Ok(serde_json::Value::Object(doc)) => doc,
        Ok(_) => return Err(format!("{shown}: not a JSON object\n")),
        Err(e) => return Err(format!("{shown}: {e}\n")),
    };
    let current = doc.get("credHelpers");
    if current.is_some_and(|c| !c.is_object()) {
        return Err(format!("{shown}: credHelpers is not an object\n"));
    }
    let mut new = old.clone();
    let mut added = Vec::new();
    for key in &o.keys {
        match current.and_then(|c| c.get(key)).and_then(|v| v.as_str()) {
            Some(HELPER) => continue,
            Some(other) if !o.force => {
                return Err(format!(
                    "{shown}: credHelpers sends {key} to \"{other}\"; pass --force to replace it\n"
                ));
            }
            _ => {}
        }
        new =
            edit::set_helper(&new, key, HELPER).ok_or_else(|| format!("{shown}: cannot edit\n"))?;
        added.push(key.clone());
    }
    let parsed: Option<serde_json::Value> = serde_json::from_slice(new.as_bytes()).ok();
    if parsed != Some(edit::expected(&doc, &o.keys, HELPER)) {
        return Err(format!(
            "{shown}: the edit would change other keys; nothing written\n"
        ));
    }
    Ok(Plan {
        path: path.to_owned(),
        old,
        new,
        mode,
        added,
    })
}

/// Writes (or, for a dry run, shows) one plan; the lines to print.
fn apply(p: &Plan, dry_run: bool) -> Result<String, String> {
    let shown = p.path.display().to_string();
    if p.added.is_empty() {
        return Ok(format!("{shown}: unchanged, already sent to {HELPER}\n"));
    }
    if dry_run {
        let old = if p.mode.is_some() { p.old.as_str() } else { "" };
        return Ok(edit::diff(&shown, old, &p.new));
    }
    write_atomic(&p.path, &p.new, p.mode.unwrap_or(0o600))
        .map_err(|e| format!("{shown}: {e}\n"))?;
    Ok(format!(
        "{shown}: {} sent to {HELPER}\n",
        p.added.join(", ")
    ))
}

/// Replaces `path` with `text` through a temporary file in its directory, with `mode`.
fn write_atomic(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
