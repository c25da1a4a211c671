//! `docker-credential-ecr-login`: a static, drop-in Rust replacement for Amazon's ECR credential
//! helper. The composition root: argv picks a front end; what needs neither stdin nor
//! configuration is answered at once; otherwise the configuration is read and the log started
//! once, and the front end serves the ECR helper. `doctor` and `configure` are commands of
//! their own (first arguments Go rejects as unknown actions, SPEC §1).

use docker_credential_ecr_login::config::Config;
use docker_credential_ecr_login::helper::EcrHelper;
use docker_credential_ecr_login::log;
use docker_credential_ecr_login::serve::Front;
use docker_credential_ecr_login::{configure, doctor};

fn main() {
    let mut argv = std::env::args_os();
    let argv0 = argv.next();
    let args: Vec<std::ffi::OsString> = argv.collect();
    let front = Front::from_argv(argv0.as_ref(), &args);
    let ours = match args.first().and_then(|a| a.to_str()) {
        Some(v @ (doctor::VERB | configure::VERB)) if front != Front::Kubelet => Some(v),
        _ => None,
    };
    let code = match front.static_answer().filter(|_| ours.is_none()) {
        Some(outcome) => outcome.write(),
        None => {
            let cfg = Config::from_env();
            match ours {
                Some(doctor::VERB) => doctor::main(&cfg, &args[1..]),
                Some(_) => configure::main(&cfg, &args[1..]),
                None => {
                    log::init(cfg.log_level, cfg.cache_dir.clone());
                    front
                        .serve(&EcrHelper::new(&cfg), std::io::stdin().lock())
                        .write()
                }
            }
        }
    };
    std::process::exit(code);
}
