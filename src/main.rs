//! `docker-credential-ecr-login`: a static, drop-in Rust replacement for Amazon's ECR credential
//! helper. `main` only reads argv, hands it to the protocol driver and writes the outcome.

mod cache;
mod config;
mod ecr;
mod fsutil;
mod helper;
mod http;
mod imds;
mod json;
mod kubelet;
mod log;
mod process;
mod profile;
mod protocol;
mod proxy;
mod registry;
mod secret;
mod timefmt;
mod tls;
mod token;

use std::io::Write;

fn main() {
    let mut argv = std::env::args_os();
    let argv0 = argv.next();
    let args: Vec<std::ffi::OsString> = argv.collect();
    let outcome = if kubelet::selected(argv0.as_ref(), &args) {
        let cfg = config::Config::from_env();
        log::init(cfg.log_level, cfg.cache_dir.clone());
        kubelet::run(std::io::stdin().lock(), &cfg)
    } else {
        let action = protocol::parse_args(&args);
        match protocol::static_answer(&action) {
            Some(out) => out,
            None => {
                let cfg = config::Config::from_env();
                log::init(cfg.log_level, cfg.cache_dir.clone());
                protocol::run(&action, std::io::stdin().lock(), &cfg)
            }
        }
    };
    let code = match write_stdout(&outcome.stdout) {
        Ok(()) => outcome.code,
        Err(e) => {
            log::error(
                "Could not write the answer to stdout",
                &[("error", &e.to_string())],
            );
            1
        }
    };
    // Like Go's helper, a failed write on stderr (only `-h` writes there) changes nothing.
    if !outcome.stderr.is_empty() {
        let _ = std::io::stderr().lock().write_all(&outcome.stderr);
    }
    std::process::exit(code);
}

/// Writes and flushes the answer on stdout. An error (a full disk, `EPIPE` from a closed pipe:
/// Rust ignores `SIGPIPE`, so it is an error here, never a signal) makes the run a failure, exit
/// 1, as in Go, where a failed write of the answer is a non-zero exit.
fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}
