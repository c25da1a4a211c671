//! `configure`: entries added by text insertion (every other byte, the key order and the mode
//! kept), atomic, a different helper refused unless `--force`, `--dry-run` a diff that writes
//! nothing, a symlinked config refused, the containers auth file on request.

use crate::common::Env;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const PUBLIC: &str = "public.ecr.aws";

fn setup(contents: Option<&str>) -> (Env, PathBuf) {
    let docker = tempfile::Builder::new()
        .prefix("docker-")
        .tempdir()
        .unwrap()
        .keep();
    let env = Env::new().with("DOCKER_CONFIG", &docker);
    let file = docker.join("config.json");
    if let Some(c) = contents {
        std::fs::write(&file, c).unwrap();
    }
    (env, file)
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn new_file_is_0600_in_docker_layout() {
    let (env, file) = setup(None);
    let out = env.run(&["configure", HOST, &format!("https://{PUBLIC}/v2/")], b"");
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        out.stdout_str(),
        format!("{}: {HOST}, {PUBLIC} sent to ecr-login\n", file.display())
    );
    let want = format!("{{\n\t\"credHelpers\": {{\n\t\t\"{HOST}\": \"ecr-login\",\n\t\t\"{PUBLIC}\": \"ecr-login\"\n\t}}\n}}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), want);
    assert_eq!(mode(&file), 0o600);
    // Again: nothing to do, nothing written.
    let out = env.run(&["configure", HOST], b"");
    assert_eq!(
        out.stdout_str(),
        format!("{}: unchanged, already sent to ecr-login\n", file.display())
    );
}

#[test]
fn other_keys_order_layout_and_mode_are_kept() {
    let before = "{\n  \"zeta\": {\"x\": [1, 2]},\n  \"auths\": {\n    \"ghcr.io\": {}\n  },\n  \"credHelpers\": {\n    \"gcr.io\": \"gcloud\"\n  },\n  \"alpha\": \"a\\\"}\"\n}\n";
    let (env, file) = setup(Some(before));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = env.run(&["configure", HOST], b"");
    assert_eq!(out.code, 0, "{out}");
    let want = before.replace(
        "\"gcloud\"\n",
        &format!("\"gcloud\",\n    \"{HOST}\": \"ecr-login\"\n"),
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), want);
    assert_eq!(mode(&file), 0o640);
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers, ["config.json"]);
}

#[test]
fn compact_file_without_cred_helpers() {
    let (env, file) = setup(Some(r#"{"auths":{},"credsStore":"desktop"}"#));
    let out = env.run(&["configure", HOST], b"");
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!(
            r#"{{"auths":{{}},"credsStore":"desktop","credHelpers":{{"{HOST}":"ecr-login"}}}}"#
        )
    );
}

#[test]
fn a_different_helper_is_refused_unless_forced() {
    let before = format!("{{\n\t\"credHelpers\": {{\n\t\t\"{HOST}\": \"other\"\n\t}}\n}}");
    let (env, file) = setup(Some(&before));
    let out = env.run(&["configure", PUBLIC, HOST], b"");
    assert_eq!(out.code, 1, "{out}");
    assert_eq!(
        out.stderr_str(),
        format!(
            "{}: credHelpers sends {HOST} to \"other\"; pass --force to replace it\n",
            file.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before,
        "nothing written"
    );
    let out = env.run(&["configure", "--force", HOST], b"");
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before.replace("\"other\"", "\"ecr-login\"")
    );
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let before = "{\n\t\"auths\": {},\n\t\"credHelpers\": {}\n}";
    let (env, file) = setup(Some(before));
    let out = env.run(&["configure", "--dry-run", HOST], b"");
    assert_eq!(out.code, 0, "{out}");
    let path = file.display();
    assert_eq!(
        out.stdout_str(),
        format!("--- {path}\n+++ {path}\n \t\"auths\": {{}},\n-\t\"credHelpers\": {{}}\n+\t\"credHelpers\": {{\n+\t\t\"{HOST}\": \"ecr-login\"\n+\t}}\n }}\n")
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
}

#[test]
fn a_symlinked_config_is_refused() {
    let (env, file) = setup(None);
    let target = file.with_file_name("real.json");
    std::fs::write(&target, "{}").unwrap();
    std::os::unix::fs::symlink(&target, &file).unwrap();
    let out = env.run(&["configure", HOST], b"");
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr_str().contains("is a symbolic link to"), "{out}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "{}");
    assert!(std::fs::symlink_metadata(&file)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn containers_auth_file_on_request() {
    let (env, file) = setup(Some("{}"));
    let auth = env.dir().join("containers/auth.json");
    let env = env.with("REGISTRY_AUTH_FILE", &auth);
    let out = env.run(&["configure", "--containers", HOST], b"");
    assert_eq!(out.code, 0, "{out}");
    for f in [&file, &auth] {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        assert_eq!(v["credHelpers"][HOST], "ecr-login", "{}", f.display());
    }
}

#[test]
fn bad_arguments_and_files() {
    let (env, file) = setup(Some("[1]"));
    for (args, err) in [
        (&["configure"][..], "Usage: docker-credential-ecr-login configure [--dry-run] [--force] [--containers] REGISTRY...\n".to_owned()),
        (&["configure", "registry.example.com"], "registry.example.com is not an ECR registry (nor a usable alias of the registries configuration)\n".to_owned()),
        (&["configure", HOST], format!("{}: not a JSON object\n", file.display())),
    ] {
        let out = env.run(args, b"");
        assert_eq!((out.code, out.stderr_str()), (1, err), "{out}");
    }
}

#[test]
fn an_alias_of_the_registries_configuration_is_configured() {
    let (env, file) = setup(None);
    let routes = env.dir().join("ecr-config");
    std::fs::write(
        &routes,
        format!("[alias registry.example.com]\nregistry = {HOST}\n"),
    )
    .unwrap();
    let env = env.with("AWS_ECR_CONFIG_FILE", routes.to_str().unwrap());
    let out = env.run(&["configure", "registry.example.com"], b"");
    assert_eq!(out.code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(v["credHelpers"]["registry.example.com"], "ecr-login");
}
