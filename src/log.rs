//! The log file, `<cache dir>/log/ecr-login.log` (SPEC §9).
//!
//! Lines look like logrus's: `time="…" level=info msg="…" key=value`. The file is created 0600
//! on the first line, opened append-only without following a symlink, and rotated to
//! `ecr-login.log.1` at 5 MiB. Nothing ever goes to stderr: clients show or parse it. If the log
//! cannot be opened, logging is off. Callers never pass secrets; URLs go through [`redact_url`].

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "off" => Level::Off,
            "error" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "debug" => Level::Debug,
            "trace" => Level::Trace,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }
}

/// Rotate when the log reaches this size.
const ROTATE_AT: u64 = 5 << 20;

enum Sink {
    Unopened(PathBuf),
    Open(File),
    Off,
}

struct Logger {
    level: Level,
    sink: Mutex<Sink>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Sets up logging to `<dir>/log/ecr-login.log`. With no directory, or level `off`, nothing is
/// logged. Calling it again has no effect.
pub fn init(level: Level, cache_dir: Option<PathBuf>) {
    let sink = match cache_dir {
        Some(dir) if level > Level::Off => Sink::Unopened(dir.join("log")),
        _ => Sink::Off,
    };
    let _ = LOGGER.set(Logger {
        level,
        sink: Mutex::new(sink),
    });
}

fn open(dir: &std::path::Path) -> Option<File> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .ok()?;
    let path = dir.join("ecr-login.log");
    if let Ok(meta) = std::fs::symlink_metadata(&path) {
        if meta.is_file() && meta.len() >= ROTATE_AT {
            let _ = std::fs::rename(&path, dir.join("ecr-login.log.1"));
        }
    }
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)
        .ok()
}

/// Whether a logrus value needs quoting.
fn needs_quotes(v: &str) -> bool {
    v.is_empty()
        || !v
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._/@^+:".contains(&c))
}

/// Formats one line (without the time, for tests).
fn format_fields(level: Level, msg: &str, fields: &[(&str, &str)]) -> String {
    let mut line = format!("level={} msg=", level.as_str());
    crate::go::json::push_str(&mut line, msg);
    for (k, v) in fields {
        line.push(' ');
        line.push_str(k);
        line.push('=');
        if needs_quotes(v) {
            crate::go::json::push_str(&mut line, v);
        } else {
            line.push_str(v);
        }
    }
    line
}

/// Writes one line at `level` with `key=value` fields.
pub fn log(level: Level, msg: &str, fields: &[(&str, &str)]) {
    let Some(logger) = LOGGER.get() else { return };
    if level > logger.level || level == Level::Off {
        return;
    }
    let Ok(mut sink) = logger.sink.lock() else {
        return;
    };
    if let Sink::Unopened(dir) = &*sink {
        *sink = match open(dir) {
            Some(f) => Sink::Open(f),
            None => Sink::Off,
        };
    }
    if let Sink::Open(file) = &mut *sink {
        let time = crate::go::time::GoTime::now().to_rfc3339();
        let line = format!("time=\"{time}\" {}\n", format_fields(level, msg, fields));
        if file.write_all(line.as_bytes()).is_err() {
            *sink = Sink::Off;
        }
    }
}

pub fn error(msg: &str, fields: &[(&str, &str)]) {
    log(Level::Error, msg, fields)
}
pub fn warn(msg: &str, fields: &[(&str, &str)]) {
    log(Level::Warn, msg, fields)
}
pub fn info(msg: &str, fields: &[(&str, &str)]) {
    log(Level::Info, msg, fields)
}
pub fn debug(msg: &str, fields: &[(&str, &str)]) {
    log(Level::Debug, msg, fields)
}

/// Redacts a server URL as Go's `url.Redacted` does, and more: a userinfo password becomes
/// `xxxxx` and every query value becomes `redacted`.
pub fn redact_url(url: &str) -> String {
    let (body, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let (before_query, query) = match body.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (body, None),
    };
    let scheme_end = before_query.find("://").map_or(0, |i| i + 3);
    let auth_end = before_query[scheme_end..]
        .find('/')
        .map_or(before_query.len(), |i| scheme_end + i);
    let authority = &before_query[scheme_end..auth_end];
    let mut out = String::with_capacity(url.len());
    out.push_str(&before_query[..scheme_end]);
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push_str(":xxxxx");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    out.push_str(&before_query[auth_end..]);
    if let Some(q) = query {
        out.push('?');
        let parts: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) => format!("{k}=redacted"),
                None => kv.to_owned(),
            })
            .collect();
        out.push_str(&parts.join("&"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(Level::parse("DEBUG"), Some(Level::Debug));
        assert_eq!(Level::parse("off"), Some(Level::Off));
        assert_eq!(Level::parse("loud"), None);
        assert!(Level::Error < Level::Info);
    }

    #[test]
    fn line_shape() {
        assert_eq!(
            format_fields(
                Level::Info,
                "Got \"it\"",
                &[("registry", "123456789012"), ("err", "a b")]
            ),
            "level=info msg=\"Got \\\"it\\\"\" registry=123456789012 err=\"a b\""
        );
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact_url("https://user:pw@host/path?token=abc&x=1#f"),
            "https://user:xxxxx@host/path?token=redacted&x=redacted#f"
        );
        assert_eq!(redact_url("user:pw@host:443"), "user:xxxxx@host:443");
        assert_eq!(redact_url("host/a@b"), "host/a@b");
        assert_eq!(redact_url("host"), "host");
    }
}
