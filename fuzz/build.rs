//! `src/protocol.rs` reads `ECR_LOGIN_GIT_COMMIT` at compile time (the main crate's build.rs sets
//! it); the fuzz build has no commit to report.

fn main() {
    println!("cargo:rustc-env=ECR_LOGIN_GIT_COMMIT=fuzz");
}
