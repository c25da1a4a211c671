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
mod profile;
mod protocol;
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
    // A closed stdout or stderr (EPIPE) is not worth a panic: the exit code still tells.
    let _ = std::io::stdout().lock().write_all(&outcome.stdout);
    let _ = std::io::stdout().lock().flush();
    if !outcome.stderr.is_empty() {
        let _ = std::io::stderr().lock().write_all(&outcome.stderr);
    }
    std::process::exit(outcome.code);
}
