//! The cache keyed by a local identity (issue 12, SPEC §14 D17), end to end against moto: a
//! second `get` with temporary credentials (web identity, an assumed role, GitLab OIDC through
//! `AWS_ECR_WEB_IDENTITY_TOKEN_ENV`) makes no STS or ECR call; different identities share no
//! entry; an identity whose session has ended gets no cached answer.
//!
//! Every test skips loudly when no Python with moto is available (and fails with
//! ECR_TEST_REQUIRE_SERVER=1).

use crate::common;

use base64::Engine as _;
use common::{EcrServer, Env, Output};
use docker_credential_ecr_login::cache::Keys;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::Duration;

pub(crate) const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
pub(crate) const SECRET: &str = "123456789012-auth-token";
pub(crate) const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/ecr-pull";
pub(crate) const OTHER_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/ecr-other";

/// A hermetic environment without credentials, the cache on, STS and ECR at `server`.
pub(crate) fn env_for(server: &EcrServer) -> Env {
    Env::new()
        .no_credentials()
        .with("AWS_ENDPOINT_URL_ECR", server.endpoint())
        .with("AWS_ENDPOINT_URL_STS", server.endpoint())
        .with("AWS_ECR_LOG_LEVEL", "debug")
        .with("AWS_ECR_TIMEOUT", "10")
        .timeout(Duration::from_secs(30))
}

/// A JWT (unsigned) whose `exp` is `exp_offset` seconds from now; `sub` tells tokens apart.
pub(crate) fn jwt(sub: &str, exp_offset: i64) -> String {
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let claims = serde_json::json!({ "sub": sub, "exp": common::now_secs() + exp_offset });
    format!(
        "{}.{}.c2ln",
        b64(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64(&claims.to_string())
    )
}

pub(crate) fn write_token(env: &Env, name: &str, token: &str) -> PathBuf {
    let path = env.dir().join(name);
    std::fs::write(&path, token).unwrap();
    path
}

pub(crate) fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The D17 key of a web identity (without a session name) for `HOST`, as the helper makes it.
pub(crate) fn web_identity_key(role_arn: &str, token: &str) -> String {
    let fields = ["web", role_arn, "-", &hex_sha256(token.trim().as_bytes())];
    let canon: String = fields.iter().map(|f| format!("{}:{f}", f.len())).collect();
    format!(
        "us-east-1-id1.{}-123456789012",
        hex_sha256(canon.as_bytes())
    )
}

pub(crate) fn get(env: &Env) -> Output {
    env.run(&["get"], HOST.as_bytes())
}

pub(crate) fn helper_log(env: &Env) -> String {
    std::fs::read_to_string(env.cache_dir().join("log/ecr-login.log")).unwrap_or_default()
}

pub(crate) fn assert_got(out: &Output, env: &Env) {
    let want =
        format!("{{\"ServerURL\":\"{HOST}\",\"Username\":\"AWS\",\"Secret\":\"{SECRET}\"}}\n");
    assert!(
        out.code == 0 && out.stdout_str() == want,
        "{out}\n--- helper log ---\n{}",
        helper_log(env)
    );
}

/// The STS calls recorded since the last reset.
pub(crate) fn sts_calls(server: &EcrServer) -> Vec<Value> {
    let other = server.other_requests();
    other
        .as_array()
        .expect("other array")
        .iter()
        .filter(|r| r["service"] == "sts")
        .cloned()
        .collect()
}

/// The cache's keys.
pub(crate) fn cache_keys(env: &Env) -> Vec<String> {
    let text = std::fs::read_to_string(env.cache_file()).unwrap_or_else(|_| "{}".into());
    let v: Value = serde_json::from_str(&text).unwrap();
    v["Registries"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

pub(crate) fn identity_keys(env: &Env) -> Vec<String> {
    cache_keys(env)
        .into_iter()
        .filter(|k| k.contains("-id1."))
        .collect()
}

/// A first `get` fetches (one STS call, one ECR call); a second one is answered from the cache
/// with no call at all.
pub(crate) fn assert_second_get_cached(env: &Env, server: &EcrServer) {
    assert_got(&get(env), env);
    assert_eq!(sts_calls(server).len(), 1, "{:?}", sts_calls(server));
    assert_eq!(server.calls(), (1, 0));
    server.reset();
    assert_got(&get(env), env);
    assert_eq!(sts_calls(server), Vec::<Value>::new());
    assert_eq!(server.calls(), (0, 0));
}

#[test]
fn web_identity_second_get_is_cached_under_an_identity_key() {
    let server = require_server!();
    let env = env_for(&server);
    let token = jwt("ci-job", 3600);
    let file = write_token(&env, "token", &token);
    let env = env
        .with("AWS_ROLE_ARN", ROLE_ARN)
        .with("AWS_WEB_IDENTITY_TOKEN_FILE", &file);
    assert_second_get_cached(&env, &server);
    assert_eq!(cache_keys(&env), [web_identity_key(ROLE_ARN, &token)]);
}

#[test]
fn gitlab_oidc_token_from_the_named_variable() {
    let server = require_server!();
    let first = jwt("pipeline-1", 3600);
    let env = env_for(&server)
        .with("AWS_ROLE_ARN", ROLE_ARN)
        .with("AWS_ECR_WEB_IDENTITY_TOKEN_ENV", "GITLAB_OIDC_TOKEN")
        .with("GITLAB_OIDC_TOKEN", &first);
    assert_got(&get(&env), &env);
    let sts = sts_calls(&server);
    assert_eq!(sts.len(), 1, "{sts:?}");
    assert_eq!(sts[0]["action"], "AssumeRoleWithWebIdentity");
    assert_eq!(sts[0]["WebIdentityToken"], first.as_str());
    assert_eq!(sts[0]["RoleArn"], ROLE_ARN);
    let leftovers = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("ecr-login-web-identity-")
        })
        .count();
    assert_eq!(leftovers, 0, "the token file is removed after the call");
    server.reset();
    assert_got(&get(&env), &env);
    assert_eq!(server.calls(), (0, 0));
    assert!(sts_calls(&server).is_empty());

    // Another pipeline's token: another identity, another entry, no sharing.
    let second = jwt("pipeline-2", 3600);
    let env = env.with("GITLAB_OIDC_TOKEN", &second);
    assert_got(&get(&env), &env);
    assert_eq!(server.calls(), (1, 0));
    let sts = sts_calls(&server);
    assert_eq!(sts.len(), 1, "{sts:?}");
    assert_eq!(sts[0]["WebIdentityToken"], second.as_str());
    let mut want = vec![
        web_identity_key(ROLE_ARN, &first),
        web_identity_key(ROLE_ARN, &second),
    ];
    want.sort();
    assert_eq!(identity_keys(&env), want);
}

/// Copies the cache's only entry to `key`, so that a fresh token is cached there.
pub(crate) fn seed_entry_as(env: &Env, key: &str) {
    let path = env.cache_file();
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let regs = v["Registries"].as_object_mut().unwrap();
    let entry = regs.values().next().unwrap().clone();
    regs.clear();
    regs.insert(key.to_owned(), entry);
    std::fs::write(&path, v.to_string()).unwrap();
}

#[test]
fn an_expired_web_identity_token_gets_no_cached_answer() {
    let server = require_server!();
    let env = env_for(&server);
    let valid = jwt("job", 3600);
    let file = write_token(&env, "token", &valid);
    let env = env
        .with("AWS_ROLE_ARN", ROLE_ARN)
        .with("AWS_WEB_IDENTITY_TOKEN_FILE", &file);
    assert_got(&get(&env), &env);
    // A fresh token cached under the expired token's identity, as if fetched while it was
    // valid: it is neither answered nor used as a fallback.
    let expired = jwt("job", -60);
    write_token(&env, "token", &expired);
    seed_entry_as(&env, &web_identity_key(ROLE_ARN, &expired));
    server.reset();
    let out = get(&env);
    let sts = sts_calls(&server);
    assert_eq!(sts.len(), 1, "not answered from the cache: {out}\n{sts:?}");
    assert_eq!(sts[0]["WebIdentityToken"], expired.as_str());
    assert!(
        helper_log(&env).contains("The identity's session has ended"),
        "{}",
        helper_log(&env)
    );
    assert_eq!(identity_keys(&env), [web_identity_key(ROLE_ARN, &expired)]);
}

fn write_role_profile(env: &Env, role_arn: &str) {
    env.write_config(&format!(
        "[profile ci]\nrole_arn = {role_arn}\nsource_profile = base\n\n[profile base]\n"
    ));
    env.write_credentials("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n");
}

#[test]
fn assumed_role_second_get_is_cached_and_a_new_role_fetches() {
    let server = require_server!();
    let env = env_for(&server).with("AWS_PROFILE", "ci");
    write_role_profile(&env, ROLE_ARN);
    assert_second_get_cached(&env, &server);
    assert_eq!(identity_keys(&env).len(), 1, "{:?}", cache_keys(&env));

    write_role_profile(&env, OTHER_ROLE_ARN);
    server.reset();
    assert_got(&get(&env), &env);
    let sts = sts_calls(&server);
    assert_eq!(sts.len(), 1, "{sts:?}");
    assert_eq!(sts[0]["action"], "AssumeRole");
    assert_eq!(sts[0]["RoleArn"], OTHER_ROLE_ARN);
    assert_eq!(server.calls(), (1, 0));
    assert_eq!(identity_keys(&env).len(), 2, "{:?}", cache_keys(&env));
}

#[test]
fn static_keys_keep_the_go_key() {
    let server = require_server!();
    let env = env_for(&server)
        .with("AWS_ACCESS_KEY_ID", "AKIDSTATIC")
        .with("AWS_SECRET_ACCESS_KEY", "s");
    assert_got(&get(&env), &env);
    assert_eq!(
        cache_keys(&env),
        [Keys::private("us-east-1", "AKIDSTATIC", "123456789012").current]
    );
}
