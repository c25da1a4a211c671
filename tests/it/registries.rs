//! The registries configuration (issue 16, SPEC §14 D18-D20) end to end against moto: two
//! accounts served by two roles, the environment shortcuts, a profile per registry, aliases,
//! GitLab Runner's `credsStore` sequence (`list`, then `get` for each registry listed), `store`
//! and `erase` for ECR hosts and aliases, and every bad configuration (not-found, and a log
//! line naming the file and line).

use crate::common;

use common::{EcrServer, Env, Output};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

const HOST_A: &str = "111122223333.dkr.ecr.us-east-1.amazonaws.com";
const HOST_B: &str = "444455556666.dkr.ecr.eu-west-1.amazonaws.com";
const ROLE_A: &str = "arn:aws:iam::111122223333:role/pull-a";
const ROLE_B: &str = "arn:aws:iam::444455556666:role/pull-b";
const NOT_FOUND: &str = "credentials not found in native keychain\n";

/// Static default keys (`AKIDEXAMPLE`), STS and ECR at `server`, debug log.
fn env_for(server: &EcrServer) -> Env {
    Env::with_server(server)
        .with("AWS_ENDPOINT_URL_STS", server.endpoint())
        .with("AWS_ECR_LOG_LEVEL", "debug")
        .with("AWS_ECR_TIMEOUT", "10")
        .timeout(Duration::from_secs(30))
}

/// Writes the registries configuration at `AWS_ECR_CONFIG_FILE`.
fn write_routes(env: Env, text: &str) -> Env {
    let path = env.dir().join("ecr-registries.ini");
    std::fs::write(&path, text).unwrap();
    env.with("AWS_ECR_CONFIG_FILE", path)
}

fn routes_path(env: &Env) -> PathBuf {
    env.dir().join("ecr-registries.ini")
}

fn helper_log(env: &Env) -> String {
    std::fs::read_to_string(env.cache_dir().join("log/ecr-login.log")).unwrap_or_default()
}

fn get(env: &Env, url: &str) -> Output {
    env.run(&["get"], url.as_bytes())
}

/// The answer for `server_url` with moto's token of `account`.
fn assert_got(out: &Output, env: &Env, server_url: &str, account: &str) {
    let want = format!(
        "{{\"ServerURL\":\"{server_url}\",\"Username\":\"AWS\",\"Secret\":\"{account}-auth-token\"}}\n"
    );
    assert!(
        out.code == 0 && out.stdout_str() == want,
        "{out}\n--- helper log ---\n{}",
        helper_log(env)
    );
}

fn assert_not_found(out: &Output, env: &Env) {
    assert!(
        out.code == 1 && out.stdout_str() == NOT_FOUND,
        "{out}\n--- helper log ---\n{}",
        helper_log(env)
    );
}

/// The STS calls since the last reset.
fn sts_calls(server: &EcrServer) -> Vec<Value> {
    let other = server.other_requests();
    let calls = other.as_array().expect("other array").iter();
    calls.filter(|r| r["service"] == "sts").cloned().collect()
}

/// The access key ids the ECR calls since the last reset were signed with.
fn ecr_akids(server: &EcrServer) -> Vec<String> {
    let requests = server.requests();
    let calls = requests.as_array().expect("requests array").iter();
    calls
        .map(|r| r["akid"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// One `get` that assumes `role` with `source_akid` and calls ECR with the assumed keys.
fn assert_assumed(env: &Env, server: &EcrServer, host: &str, role: &str, source_akid: &str) {
    server.reset();
    let account = &host[..12];
    assert_got(&get(env, host), env, host, account);
    let sts = sts_calls(server);
    assert_eq!(sts.len(), 1, "{sts:?}");
    assert_eq!(sts[0]["action"], "AssumeRole");
    assert_eq!(sts[0]["RoleArn"], role);
    assert_eq!(sts[0]["akid"], source_akid);
    assert_eq!(ecr_akids(server), [sts[0]["issuedAkid"].as_str().unwrap()]);
}

#[test]
fn two_accounts_two_roles_from_the_file() {
    let server = require_server!();
    let env = write_routes(
        env_for(&server),
        &format!(
            "# two accounts\n[account 111122223333]\nrole_arn = {ROLE_A}\n\n\
             [registry {HOST_B}]\nrole_arn = {ROLE_B}\nexternal_id = ext-b\nduration_seconds = 1800\n"
        ),
    );
    assert_assumed(&env, &server, HOST_A, ROLE_A, common::TEST_AKID);
    assert_assumed(&env, &server, HOST_B, ROLE_B, common::TEST_AKID);
    let sts = sts_calls(&server);
    assert_eq!(
        (&sts[0]["ExternalId"], &sts[0]["DurationSeconds"]),
        (&Value::from("ext-b"), &Value::from("1800"))
    );
    // Both answered from the cache, under two identity keys, with no call at all.
    server.reset();
    assert_got(&get(&env, HOST_A), &env, HOST_A, "111122223333");
    assert_got(&get(&env, HOST_B), &env, HOST_B, "444455556666");
    assert_eq!((server.calls(), sts_calls(&server).len()), ((0, 0), 0));
    let cache: Value =
        serde_json::from_str(&std::fs::read_to_string(env.cache_file()).unwrap()).unwrap();
    let keys: Vec<&String> = cache["Registries"].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.iter().all(|k| k.contains("-id1.")), "{keys:?}");
    // Another account is served by the default chain, as without configuration.
    server.reset();
    let other = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    assert_got(&get(&env, other), &env, other, "123456789012");
    assert!(sts_calls(&server).is_empty());
    assert_eq!(ecr_akids(&server), [common::TEST_AKID]);
}

#[test]
fn environment_shortcuts_select_a_profile_and_a_role_on_top() {
    let server = require_server!();
    let env = env_for(&server)
        .no_credentials()
        .with("AWS_PROFILE_111122223333", "prod")
        .with("AWS_ROLE_ARN_111122223333", ROLE_A)
        .with("AWS_PROFILE_444455556666", "europe");
    env.write_credentials(
        "[prod]\naws_access_key_id = AKIDPROD\naws_secret_access_key = s\n\
         [europe]\naws_access_key_id = AKIDEUROPE\naws_secret_access_key = s\n",
    );
    assert_assumed(&env, &server, HOST_A, ROLE_A, "AKIDPROD");
    server.reset();
    assert_got(&get(&env, HOST_B), &env, HOST_B, "444455556666");
    assert!(sts_calls(&server).is_empty());
    assert_eq!(ecr_akids(&server), ["AKIDEUROPE"]);
    // A profile's static keys keep Go's cache key.
    let cache = std::fs::read_to_string(env.cache_file()).unwrap();
    let go_key = docker_credential_ecr_login::cache::Keys::private(
        "eu-west-1",
        "AKIDEUROPE",
        "444455556666",
    )
    .current;
    assert!(cache.contains(&go_key), "{cache}");
}

#[test]
fn an_alias_answers_its_registry_under_its_own_name() {
    let server = require_server!();
    let env = write_routes(
        env_for(&server),
        &format!(
            "[alias registry.example.com]\nregistry = {HOST_A}\n\n\
             [alias mirror.example.com]\naccount = 444455556666\nregion = eu-west-1\nrole_arn = {ROLE_B}\n"
        ),
    );
    for url in [
        "registry.example.com",
        "https://Registry.Example.com/v2/",
        "registry.example.com:443",
    ] {
        assert_got(&get(&env, url), &env, url, "111122223333");
    }
    assert_eq!(server.calls(), (1, 0), "one fetch, then the cache");
    let requests = server.requests();
    assert_eq!(requests[0]["region"], "us-east-1");
    assert_eq!(
        requests[0]["registryIds"],
        serde_json::json!(["111122223333"])
    );
    server.reset();
    assert_got(
        &get(&env, "mirror.example.com"),
        &env,
        "mirror.example.com",
        "444455556666",
    );
    let sts = sts_calls(&server);
    assert_eq!((sts.len(), &sts[0]["RoleArn"]), (1, &Value::from(ROLE_B)));
    assert_eq!(server.requests()[0]["region"], "eu-west-1");
    assert_not_found(&get(&env, "other.example.com"), &env);
}

/// GitLab Runner with `credsStore` (helpers/docker/auth/auth.go, `readConfigsFromCredentialsStore`
/// through docker/cli's `nativeStore.GetAll`): `list`, then `get` with each listed key as stdin
/// (no newline), each answer's `ServerURL` kept; any error other than not-found drops them all.
#[test]
fn gitlab_runner_creds_store_sequence() {
    let server = require_server!();
    let env = write_routes(
        env_for(&server),
        &format!(
            "[registry {HOST_A}]\nrole_arn = {ROLE_A}\n\n[alias registry.example.com]\nregistry = {HOST_B}\n"
        ),
    );
    // A fresh runner: nothing cached yet.
    let list = env.run(&["list"], b"");
    assert_eq!(list.code, 0, "{list}");
    let listed = list.json();
    let listed = listed.as_object().unwrap();
    for want in [
        format!("https://{HOST_A}"),
        "https://registry.example.com".to_owned(),
    ] {
        assert_eq!(listed.get(&want), Some(&Value::from("AWS")), "{list}");
    }
    for registry in listed.keys() {
        let out = get(&env, registry);
        assert_eq!(out.code, 0, "{registry}: {out}\n{}", helper_log(&env));
        assert_eq!(out.json()["ServerURL"], registry.as_str());
        assert_eq!(out.json()["Username"], "AWS");
    }
}

#[test]
fn store_and_erase_succeed_for_ecr_hosts_and_aliases() {
    let env = write_routes(
        Env::new(),
        &format!("[alias registry.example.com]\nregistry = {HOST_A}\n"),
    );
    let store =
        |url: &str| format!("{{\"ServerURL\":\"{url}\",\"Username\":\"AWS\",\"Secret\":\"pw\"}}");
    for url in [HOST_A, "https://public.ecr.aws", "registry.example.com"] {
        let out = env.run(&["store"], store(url).as_bytes());
        assert_eq!((out.stdout_str().as_str(), out.code), ("", 0), "{url}");
        let out = env.run(&["erase"], url.as_bytes());
        assert_eq!((out.stdout_str().as_str(), out.code), ("", 0), "{url}");
    }
    let out = env.run(&["store"], store("https://index.docker.io/v1/").as_bytes());
    assert_eq!(
        (out.stdout_str().as_str(), out.code),
        ("not implemented\n", 1)
    );
    let out = env.run(&["erase"], b"other.example.com");
    assert_eq!(
        (out.stdout_str().as_str(), out.code),
        ("not implemented\n", 1)
    );
    // No configuration at all: ECR hosts succeed too (D18).
    let out = Env::new().run(&["store"], store(HOST_A).as_bytes());
    assert_eq!((out.stdout_str().as_str(), out.code), ("", 0));
}

/// Every bad configuration: `get` is not-found for the registries concerned (never served by
/// another identity), and the log names the file and the line.
#[test]
fn bad_configurations_refuse_and_name_the_line() {
    let ambiguous = format!("{HOST_A} is matched by this rule and by ");
    let cases: &[(&str, &str, &str, &str)] = &[
        ("[account 111122223333]\nrole_arn = x\n", HOST_A, ":1", "this section has errors"),
        ("[account 111122223333]\nrole_arm = arn:aws:iam::1:role/r\n", HOST_A, ":2", "unknown key `role_arm` in a [account] section"),
        ("[registry *.example.com]\nprofile = p\n", HOST_A, ":1", "the pattern matches no ECR registry"),
        (
            "[registry *.us-east-1.amazonaws.com]\nprofile = a\n[registry 111122223333.*]\nprofile = b\n",
            HOST_A,
            ":1",
            &ambiguous,
        ),
        ("[alias r.example.com]\nregistry = example.com\n", "r.example.com", ":1", "this alias has errors"),
        ("just text\n[account 111122223333]\nprofile = p\n", "index.docker.io", ":1", "not `key = value`"),
    ];
    for (text, url, line, message) in cases {
        let env = write_routes(Env::new(), text);
        let out = get(&env, url);
        assert_not_found(&out, &env);
        let at = format!("at={}{line} ", routes_path(&env).display());
        let log = helper_log(&env);
        let named = log.lines().any(|l| l.contains(&at) && l.contains(message));
        assert!(
            named,
            "{text:?}: want {at:?} and {message:?} in one line of\n{log}"
        );
    }
    // A file that is no text, or missing when named: every registry is refused.
    let env = write_routes(Env::new(), "");
    std::fs::write(routes_path(&env), b"\xff\xfe[").unwrap();
    assert_not_found(&get(&env, HOST_A), &env);
    assert!(
        helper_log(&env).contains("not UTF-8 text"),
        "{}",
        helper_log(&env)
    );
    let env = Env::new().with("AWS_ECR_CONFIG_FILE", "/nonexistent/ecr.ini");
    assert_not_found(&get(&env, HOST_A), &env);
    assert!(
        helper_log(&env).contains("at=/nonexistent/ecr.ini problem=\"cannot be read"),
        "{}",
        helper_log(&env)
    );
}

/// The GitLab Runner example's registries configuration has no problem, and gives each of
/// its two accounts its role.
#[test]
fn the_gitlab_runner_example_configuration_is_clean() {
    use docker_credential_ecr_login::helper::routes::{self, Routes};
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/gitlab-runner/ecr-login/config");
    let mut cfg = docker_credential_ecr_login::config::Config::from_env();
    cfg.ecr_config_file = Some(path);
    cfg.ecr_config_from_env = true;
    cfg.account_vars.clear();
    assert_eq!(routes::problems(&cfg), []);
    let routes = Routes::load(&cfg);
    for (host, role) in [
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "arn:aws:iam::123456789012:role/gitlab-runner-ecr-pull",
        ),
        (
            "987654321098.dkr.ecr.eu-west-1.amazonaws.com",
            "arn:aws:iam::987654321098:role/gitlab-runner-ecr-pull",
        ),
    ] {
        let target = routes.resolve(host).unwrap().unwrap();
        let (identity, _) = target.identity.unwrap();
        assert_eq!(identity.role.unwrap().role_arn, role);
    }
}

/// `list` names the configured registries and aliases without a network call, also with the
/// cache off (D13 prints `{}` only when nothing is configured), and adds each configured
/// account's registry in the configured region.
#[test]
fn list_names_the_configuration_with_the_cache_off() {
    let env = write_routes(
        Env::new().with("AWS_ECR_DISABLE_CACHE", "1"),
        &format!(
            "[registry {HOST_A}]\nprofile = a\n[account 444455556666]\nprofile = b\n\
             [alias registry.example.com]\nregistry = public.ecr.aws\n"
        ),
    );
    let out = env.run(&["list"], b"");
    let want =
        format!("{{\"https://{HOST_A}\":\"AWS\",\"https://registry.example.com\":\"AWS\"}}\n");
    assert_eq!((out.stdout_str(), out.code), (want, 0));
    let out = env.with("AWS_REGION", "eu-west-1").run(&["list"], b"");
    let want = format!(
        "{{\"https://{HOST_A}\":\"AWS\",\"https://{HOST_B}\":\"AWS\",\"https://registry.example.com\":\"AWS\"}}\n"
    );
    assert_eq!((out.stdout_str(), out.code), (want, 0));
    let out = Env::new()
        .with("AWS_ECR_DISABLE_CACHE", "1")
        .run(&["list"], b"");
    assert_eq!((out.stdout_str().as_str(), out.code), ("{}\n", 0));
}
