//! The commands of ours beside the protocol verbs: `doctor` and `configure` (feature `doctor`,
//! default), selected by a first argument Go rejects as an unknown action (SPEC §1), never in
//! the kubelet's front end. Without the feature there are none.

use crate::config::Config;
use crate::serve::Front;
use std::ffi::OsString;

/// The command `args` select, if any.
#[cfg(feature = "doctor")]
pub fn select<'a>(front: &Front, args: &'a [OsString]) -> Option<&'a str> {
    use crate::{configure, doctor};
    match args.first().and_then(|a| a.to_str()) {
        Some(v @ (doctor::VERB | configure::VERB)) if *front != Front::Kubelet => Some(v),
        _ => None,
    }
}

/// Runs command `verb` with the arguments after it; returns the exit code.
#[cfg(feature = "doctor")]
pub fn run(verb: &str, cfg: &Config, args: &[OsString]) -> i32 {
    let rest = args.get(1..).unwrap_or_default();
    if verb == crate::doctor::VERB {
        crate::doctor::main(cfg, rest)
    } else {
        crate::configure::main(cfg, rest)
    }
}

#[cfg(not(feature = "doctor"))]
pub fn select<'a>(_: &Front, _: &'a [OsString]) -> Option<&'a str> {
    None
}

#[cfg(not(feature = "doctor"))]
pub fn run(_: &str, _: &Config, _: &[OsString]) -> i32 {
    1
}
