//! Embeds the 7-character git commit for the `-v` banner (`ECR_LOGIN_GIT_COMMIT` overrides it;
//! empty when unknown, e.g. in a build without `.git`).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=ECR_LOGIN_GIT_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
    let commit = std::env::var("ECR_LOGIN_GIT_COMMIT")
        .ok()
        .unwrap_or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=7", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().chars().take(7).collect())
                .unwrap_or_default()
        });
    println!("cargo:rustc-env=ECR_LOGIN_GIT_COMMIT={commit}");
}
