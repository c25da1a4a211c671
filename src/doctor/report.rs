//! The doctor's findings and how they are printed: one line per check, `✔` (works), `✘`
//! (broken, with what to do) or `-` (not checked or not used), or one JSON document (`--json`):
//!
//! `{"ok":<bool>,"checks":[{"check":"<name>","registry":"<host>","status":"ok|fail|skip",
//! "detail":"<text>","fix":"<text>"}]}`; `registry` is absent for the checks that concern no
//! one registry, `fix` when there is nothing to do. Never a secret: the details name files,
//! hosts, identities and masked access key ids only.

/// How one check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Fail,
    Skip,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub check: &'static str,
    pub registry: Option<String>,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(check: &'static str, detail: String) -> Check {
        Check::new(check, Status::Ok, detail, None)
    }

    pub fn skip(check: &'static str, detail: String) -> Check {
        Check::new(check, Status::Skip, detail, None)
    }

    pub fn fail(check: &'static str, detail: String, fix: &str) -> Check {
        Check::new(check, Status::Fail, detail, Some(fix.to_owned()))
    }

    fn new(check: &'static str, status: Status, detail: String, fix: Option<String>) -> Check {
        Check {
            check,
            registry: None,
            status,
            detail,
            fix,
        }
    }

    /// The same check, about `registry`.
    pub fn about(mut self, registry: &str) -> Check {
        self.registry = Some(registry.to_owned());
        self
    }
}

/// The whole report, in the order the checks ran.
#[derive(Debug, Default)]
pub struct Report {
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn new(checks: Vec<Check>) -> Report {
        let ok = checks.iter().all(|c| c.status != Status::Fail);
        Report { ok, checks }
    }

    /// Exit code: 0 when nothing failed, else 1.
    pub fn code(&self) -> i32 {
        i32::from(!self.ok)
    }

    /// The human form: a `== <registry>` line where the registry changes, then one line per
    /// check and an indented `fix:` line under a failure.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let mut current: Option<&str> = None;
        for c in &self.checks {
            if c.registry.is_some() && c.registry.as_deref() != current {
                current = c.registry.as_deref();
                out.push_str("== ");
                out.push_str(current.unwrap_or_default());
                out.push('\n');
            }
            out.push_str(match c.status {
                Status::Ok => "✔ ",
                Status::Fail => "✘ ",
                Status::Skip => "- ",
            });
            out.push_str(c.check);
            out.push_str(": ");
            out.push_str(&c.detail);
            out.push('\n');
            if let Some(fix) = &c.fix {
                out.push_str("    fix: ");
                out.push_str(fix);
                out.push('\n');
            }
        }
        out.push_str(if self.ok {
            "all checks passed\n"
        } else {
            "some checks failed\n"
        });
        out
    }

    /// The `--json` form, one line.
    pub fn json(&self) -> String {
        use crate::go::json::push_str;
        let mut s = String::from(if self.ok {
            "{\"ok\":true"
        } else {
            "{\"ok\":false"
        });
        s.push_str(",\"checks\":[");
        for (i, c) in self.checks.iter().enumerate() {
            s.push_str(if i == 0 {
                "{\"check\":"
            } else {
                ",{\"check\":"
            });
            push_str(&mut s, c.check);
            if let Some(r) = &c.registry {
                s.push_str(",\"registry\":");
                push_str(&mut s, r);
            }
            s.push_str(match c.status {
                Status::Ok => ",\"status\":\"ok\",\"detail\":",
                Status::Fail => ",\"status\":\"fail\",\"detail\":",
                Status::Skip => ",\"status\":\"skip\",\"detail\":",
            });
            push_str(&mut s, &c.detail);
            if let Some(f) = &c.fix {
                s.push_str(",\"fix\":");
                push_str(&mut s, f);
            }
            s.push('}');
        }
        s.push_str("]}\n");
        s
    }
}

#[cfg(test)]
mod tests;
