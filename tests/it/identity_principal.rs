//! Never the wrong principal (issue 12, SPEC §14 D17), end to end against moto and the local
//! credential stubs: processes with different identities share one cache directory, and each
//! is answered only from the entry fetched for it.
//!
//! moto hands every identity the same token, so "answered from its own entry" is shown by
//! marking: after each identity's first `get` (one fetch, so not another identity's entry),
//! the entry it added gets a password of its own; then every identity's second `get` must
//! answer its own password with no call.

use crate::common;
use crate::identity_cache::{
    assert_got, cache_keys, env_for, get, helper_log, jwt, sts_calls, write_token, HOST, ROLE_ARN,
};

use base64::Engine as _;
use common::{EcrServer, Env};
use serde_json::Value;
use std::path::PathBuf;

const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/ecr-other";

/// Sets `key`'s token to one whose password is `password`.
fn mark_entry(cache_file: &PathBuf, key: &str, password: &str) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(cache_file).unwrap()).unwrap();
    let token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
    v["Registries"][key]["AuthorizationToken"] = token.into();
    std::fs::write(cache_file, v.to_string()).unwrap();
}

fn answer(password: &str) -> String {
    format!("{{\"ServerURL\":\"{HOST}\",\"Username\":\"AWS\",\"Secret\":\"{password}\"}}\n")
}

/// Each of `envs` (one cache directory) fetches once and adds one entry of its own; then each
/// is answered from its own entry without any call.
fn assert_isolated(server: &EcrServer, envs: &[&Env]) {
    let file = envs[0].cache_file();
    for (i, env) in envs.iter().enumerate() {
        assert_eq!(env.cache_file(), file, "one cache directory");
        let before = cache_keys(env);
        server.reset();
        assert_got(&get(env), env);
        assert_eq!(server.calls(), (1, 0), "identity {i} fetched its own token");
        let added: Vec<_> = cache_keys(env)
            .into_iter()
            .filter(|k| !before.contains(k))
            .collect();
        assert_eq!(added.len(), 1, "identity {i}: {added:?}");
        mark_entry(&file, &added[0], &format!("principal-{i}"));
    }
    server.reset();
    for (i, env) in envs.iter().enumerate().rev() {
        let out = get(env);
        let log = helper_log(env);
        assert_eq!(
            out.stdout_str(),
            answer(&format!("principal-{i}")),
            "{out}\n{log}"
        );
    }
    assert_eq!(server.calls(), (0, 0));
    assert_eq!(sts_calls(server), Vec::<Value>::new());
}

/// [`env_for`] writing to `shared`'s cache directory.
fn sharing(server: &EcrServer, shared: &Env) -> Env {
    env_for(server).with("AWS_ECR_CACHE_DIR", shared.cache_dir())
}

fn role_profiles(env: &Env, a: &str, b: &str) {
    env.write_config(&format!(
        "[profile a]\nrole_arn = {a}\nsource_profile = base\n\n\
         [profile b]\nrole_arn = {b}\nsource_profile = base\n\n[profile base]\n"
    ));
    env.write_credentials("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n");
}

#[test]
fn two_roles_two_entries() {
    let server = require_server!();
    let a = env_for(&server).with("AWS_PROFILE", "a");
    role_profiles(&a, ROLE_ARN, OTHER_ROLE);
    let b = sharing(&server, &a)
        .with("AWS_PROFILE", "b")
        .with("AWS_CONFIG_FILE", a.var("AWS_CONFIG_FILE").unwrap())
        .with(
            "AWS_SHARED_CREDENTIALS_FILE",
            a.var("AWS_SHARED_CREDENTIALS_FILE").unwrap(),
        );
    assert_isolated(&server, &[&a, &b]);
}

#[test]
fn two_profiles_for_one_role_two_entries() {
    let server = require_server!();
    let a = env_for(&server).with("AWS_PROFILE", "a");
    role_profiles(&a, ROLE_ARN, ROLE_ARN);
    let b = sharing(&server, &a)
        .with("AWS_PROFILE", "b")
        .with("AWS_CONFIG_FILE", a.var("AWS_CONFIG_FILE").unwrap())
        .with(
            "AWS_SHARED_CREDENTIALS_FILE",
            a.var("AWS_SHARED_CREDENTIALS_FILE").unwrap(),
        );
    assert_isolated(&server, &[&a, &b]);
}

#[test]
fn two_oidc_tokens_two_entries() {
    let server = require_server!();
    let a = env_for(&server).with("AWS_ROLE_ARN", ROLE_ARN);
    let file = write_token(&a, "a", &jwt("job-a", 3600));
    let a = a.with("AWS_WEB_IDENTITY_TOKEN_FILE", file);
    let b = sharing(&server, &a).with("AWS_ROLE_ARN", ROLE_ARN);
    let file = write_token(&b, "b", &jwt("job-b", 3600));
    let b = b.with("AWS_WEB_IDENTITY_TOKEN_FILE", file);
    let c = sharing(&server, &a)
        .with("AWS_ROLE_ARN", ROLE_ARN)
        .with("AWS_ECR_WEB_IDENTITY_TOKEN_ENV", "GITLAB_OIDC_TOKEN")
        .with("GITLAB_OIDC_TOKEN", jwt("job-c", 3600));
    assert_isolated(&server, &[&a, &b, &c]);
}

#[test]
fn container_credentials_with_two_tokens_two_entries() {
    let server = require_server!();
    let uri = format!("{}/_test/container-credentials", server.control_endpoint());
    let a = env_for(&server)
        .with("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
        .with("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-token-a");
    let b = sharing(&server, &a)
        .with("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
        .with("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-token-b");
    assert_isolated(&server, &[&a, &b]);
}

/// A `credential_process` script; its argument is ignored, so only the command line differs.
fn process_script(env: &Env) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = env.dir().join("creds.sh");
    std::fs::write(
        &path,
        "#!/bin/sh\nprintf '%s\\n' '{\"Version\":1,\"AccessKeyId\":\"AKIDPROCESS\",\
         \"SecretAccessKey\":\"x\",\"SessionToken\":\"t\"}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn credential_process_commands_are_identities() {
    let server = require_server!();
    let a = env_for(&server).with("AWS_PROFILE", "a");
    let script = process_script(&a).display().to_string();
    a.write_config(&format!(
        "[profile a]\ncredential_process = {script} one\n\n\
         [profile b]\ncredential_process = {script} two\n"
    ));
    let b = sharing(&server, &a)
        .with("AWS_PROFILE", "b")
        .with("AWS_CONFIG_FILE", a.var("AWS_CONFIG_FILE").unwrap());
    assert_isolated(&server, &[&a, &b]);
    // The command changed in the config file between calls: a new identity, a new fetch.
    a.write_config(&format!(
        "[profile a]\ncredential_process = {script} three\n"
    ));
    assert_got(&get(&a), &a);
    assert_eq!(server.calls(), (1, 0));
}

/// Each change to the role in the config file between calls is a new identity: one STS and one
/// ECR call, never the previous role's entry.
#[test]
fn a_role_changed_in_the_config_file_between_calls_fetches() {
    let server = require_server!();
    let env = env_for(&server).with("AWS_PROFILE", "ci");
    env.write_credentials("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n");
    let variants = [
        format!("role_arn = {ROLE_ARN}\n"),
        format!("role_arn = {OTHER_ROLE}\n"),
        format!("role_arn = {OTHER_ROLE}\nrole_session_name = s2\n"),
        format!("role_arn = {OTHER_ROLE}\nrole_session_name = s2\nexternal_id = x2\n"),
        format!("role_arn = {OTHER_ROLE}\nrole_session_name = s2\nexternal_id = x2\nduration_seconds = 1800\n"),
    ];
    for (i, v) in variants.iter().enumerate() {
        env.write_config(&format!(
            "[profile ci]\n{v}source_profile = base\n\n[profile base]\n"
        ));
        server.reset();
        assert_got(&get(&env), &env);
        let sts = sts_calls(&server);
        assert_eq!(
            (sts.len(), server.calls()),
            (1, (1, 0)),
            "variant {i}: {sts:?}"
        );
        assert_eq!(cache_keys(&env).len(), i + 1);
    }
}

fn sso_token(env: &Env, expires_offset: i64) {
    use sha1::Digest as _;
    let name: String = sha1::Sha1::digest(b"my-sso")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = env.dir().join(".aws/sso/cache");
    std::fs::create_dir_all(&dir).unwrap();
    let token = serde_json::json!({
        "accessToken": "sso-access-token",
        "expiresAt": common::rfc3339_from_now(expires_offset),
        "region": "us-east-1",
        "startUrl": "https://example.awsapps.com/start",
    });
    std::fs::write(dir.join(name + ".json"), token.to_string()).unwrap();
}

#[test]
fn an_expired_sso_session_gets_no_cached_answer() {
    let server = require_server!();
    let env = env_for(&server)
        .with("AWS_PROFILE", "sso")
        .with("AWS_ENDPOINT_URL_SSO", server.endpoint());
    env.write_config(
        "[profile sso]\nsso_session = my-sso\nsso_account_id = 123456789012\n\
         sso_role_name = ECRReadOnly\n\n\
         [sso-session my-sso]\nsso_start_url = https://example.awsapps.com/start\n\
         sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n",
    );
    sso_token(&env, 3600);
    assert_got(&get(&env), &env);
    assert_eq!(server.calls(), (1, 0));
    server.reset();
    assert_got(&get(&env), &env);
    assert_eq!(server.calls(), (0, 0));
    // The session ends (the SDK's token cache says so): the fresh entry is not answered, and
    // the SDK cannot refresh the session without a refresh token.
    sso_token(&env, -60);
    let out = get(&env);
    assert_eq!(
        (out.code, out.stdout_str()),
        (1, "credentials not found in native keychain\n".into()),
        "{out}"
    );
    assert!(helper_log(&env).contains("The identity's session has ended"));
    assert_eq!(server.calls(), (0, 0));
}
