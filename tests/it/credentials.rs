//! End-to-end tests of the whole AWS credential chain and of endpoint, proxy,
//! FIPS and CA handling (SPEC §5, §10, §12, §13): each test starts the test
//! server (moto behind tests/support/ecr_server.py, with stubs for the SSO
//! portal, container credentials, IMDS and a recording CONNECT proxy), runs
//! the helper's `get` in a hermetic environment, and checks both its answer
//! and which identity signed the ECR call (or which host it went to).
//!
//! Every test skips loudly when no Python with moto is available (and fails
//! with ECR_TEST_REQUIRE_SERVER=1). Only 127.0.0.0/8 is ever contacted: the
//! "real" AWS hosts are reached through the CONNECT proxy, which tunnels
//! every target to the TLS instance of the test server.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{EcrServer, Env, Output, ServerOpts, TestCa};
use docker_credential_ecr_login::go::time::GoTime;
use serde_json::Value;

const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const NOT_FOUND: &str = "credentials not found in native keychain\n";
/// Moto's token for 123456789012 decodes to `AWS:123456789012-auth-token`.
const SECRET: &str = "123456789012-auth-token";
/// The ECR Public stub's token decodes to `AWS:public-auth-token`.
const PUBLIC_SECRET: &str = "public-auth-token";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/ecr-pull";

/// Bound on the helper's own work (`AWS_ECR_TIMEOUT`) in these tests.
const HELPER_TIMEOUT_SECS: u64 = 10;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A hermetic environment with no credentials at all (no keys, no files, IMDS
/// disabled), the cache off, debug logging, and private ECR pointed at
/// `server` with `AWS_ENDPOINT_URL_ECR`.
fn base_env(server: &EcrServer) -> Env {
    no_endpoint_env().with("AWS_ENDPOINT_URL_ECR", server.endpoint())
}

/// [`base_env`] without any endpoint override.
fn no_endpoint_env() -> Env {
    Env::new()
        .no_credentials()
        .with("AWS_ECR_DISABLE_CACHE", "1")
        .with("AWS_ECR_LOG_LEVEL", "debug")
        .with("AWS_ECR_TIMEOUT", HELPER_TIMEOUT_SECS.to_string())
        .timeout(Duration::from_secs(HELPER_TIMEOUT_SECS + 20))
}

/// `get` for `host`.
fn get(env: &Env, host: &str) -> Output {
    env.run(&["get"], host.as_bytes())
}

/// The helper's log file (`<cache dir>/log/ecr-login.log`), for diagnostics.
fn helper_log(env: &Env) -> String {
    std::fs::read_to_string(env.cache_dir().join("log/ecr-login.log"))
        .unwrap_or_else(|e| format!("(no helper log: {e})"))
}

/// Everything worth seeing when an assertion fails.
fn context(out: &Output, env: &Env, server: &EcrServer) -> String {
    let calls = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        serde_json::json!({
            "requests": server.requests(),
            "other": server.other_requests(),
        })
    }))
    .map(|v| v.to_string())
    .unwrap_or_else(|_| "(control call failed)".into());
    format!(
        "{out}\n--- helper log ---\n{}\n--- server calls ---\n{calls}\n--- server log ---\n{}",
        helper_log(env),
        server.log()
    )
}

/// The exact success line for `host` with `secret`.
fn expected(host: &str, secret: &str) -> String {
    format!("{{\"ServerURL\":\"{host}\",\"Username\":\"AWS\",\"Secret\":\"{secret}\"}}\n")
}

/// Asserts a successful `get` of `host` answered with `secret`.
fn assert_got(out: &Output, env: &Env, server: &EcrServer, host: &str, secret: &str) {
    assert!(
        out.code == 0 && out.stdout_str() == expected(host, secret),
        "expected success for {host}\n{}",
        context(out, env, server)
    );
    assert!(
        out.stderr.is_empty(),
        "stderr must stay empty\n{}",
        context(out, env, server)
    );
    assert!(!out.timed_out);
}

/// Asserts the not-found answer: exactly the text, exit 1, nothing on stderr.
fn assert_not_found(out: &Output, env: &Env, server: &EcrServer) {
    assert!(
        out.code == 1 && out.stdout_str() == NOT_FOUND && out.stderr.is_empty(),
        "expected not-found\n{}",
        context(out, env, server)
    );
    assert!(!out.timed_out, "{out}");
}

/// The one API call made (ECR or ECR Public); panics unless exactly one was
/// recorded.
fn only_ecr_call(server: &EcrServer) -> Value {
    let reqs = server.requests();
    let reqs = reqs.as_array().expect("requests array");
    assert_eq!(reqs.len(), 1, "expected exactly one API call: {reqs:?}");
    reqs[0].clone()
}

/// Asserts the single ECR call was signed by `akid` with `session_token`.
fn assert_signed_by(server: &EcrServer, akid: &str, session_token: Option<&str>) -> Value {
    let call = only_ecr_call(server);
    assert_eq!(call["service"], "ecr", "{call}");
    assert_eq!(call["action"], "GetAuthorizationToken", "{call}");
    assert_eq!(call["signingService"], "ecr", "{call}");
    assert_eq!(
        call["registryIds"],
        serde_json::json!(["123456789012"]),
        "{call}"
    );
    assert_eq!(call["akid"], akid, "{call}");
    assert_eq!(
        call["sessionToken"].as_str(),
        session_token,
        "session token: {call}"
    );
    call
}

/// The recorded non-ECR calls of one `service` ("sts", "sso", "imds", "container").
fn other_calls(server: &EcrServer, service: &str) -> Vec<Value> {
    server
        .other_requests()
        .as_array()
        .expect("other array")
        .iter()
        .filter(|r| r["service"] == service)
        .cloned()
        .collect()
}

/// The one STS call; asserts moto answered it and issued a key.
fn only_sts_call(server: &EcrServer, action: &str) -> Value {
    let sts = other_calls(server, "sts");
    assert_eq!(sts.len(), 1, "expected exactly one STS call: {sts:?}");
    let call = sts[0].clone();
    assert_eq!(call["action"], action, "{call}");
    assert_eq!(call["status"], 200, "{call}");
    assert!(
        call["issuedAkid"].as_str().is_some_and(|k| !k.is_empty()),
        "{call}"
    );
    call
}

/// Writes `contents` to `dir/name` with mode `mode`.
fn write_file(dir: &Path, name: &str, contents: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, contents).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// A loopback URL on which nothing listens (connections are refused).
fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// RFC 3339 UTC (`YYYY-MM-DDTHH:MM:SSZ`) for `secs` after the epoch.
fn rfc3339(secs: u64) -> String {
    GoTime::from_unix_secs(secs as i64).to_rfc3339()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// SHA-1 (for the SSO token cache file name), hex, lower case.
fn sha1_hex(data: &[u8]) -> String {
    use sha1::Digest as _;
    sha1::Sha1::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn test_helpers_sha1_and_rfc3339() {
    assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_420_070_400), "2015-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400 + 3661), "2000-02-29T01:01:01Z");
}

// ---------------------------------------------------------------------------
// 1. Environment keys
// ---------------------------------------------------------------------------

#[test]
fn env_keys_with_session_token() {
    let server = require_server!();
    let env = base_env(&server)
        .with("AWS_ACCESS_KEY_ID", "AKIDENV")
        .with("AWS_SECRET_ACCESS_KEY", "secretEnv")
        .with("AWS_SESSION_TOKEN", "session-token-env");
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    let call = assert_signed_by(&server, "AKIDENV", Some("session-token-env"));
    assert_eq!(call["region"], "us-east-1");
}

#[test]
fn env_keys_go_aliases() {
    let server = require_server!();
    // Go's AWS_ACCESS_KEY / AWS_SECRET_KEY alone.
    let env = base_env(&server)
        .with("AWS_ACCESS_KEY", "AKIDALIAS")
        .with("AWS_SECRET_KEY", "secretAlias");
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, "AKIDALIAS", None);

    // The standard names win over the aliases.
    server.reset();
    let env = env
        .with("AWS_ACCESS_KEY_ID", "AKIDSTANDARD")
        .with("AWS_SECRET_ACCESS_KEY", "secretStandard");
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, "AKIDSTANDARD", None);
}

#[test]
fn env_keys_beat_the_profile() {
    let server = require_server!();
    let env = base_env(&server)
        .with("AWS_ACCESS_KEY_ID", "AKIDENV")
        .with("AWS_SECRET_ACCESS_KEY", "secretEnv");
    env.write_credentials("[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n");
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, "AKIDENV", None);
}

// ---------------------------------------------------------------------------
// 2. Profiles
// ---------------------------------------------------------------------------

const TWO_PROFILES: &str =
    "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n\
                            [dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = s2\n\
                            aws_session_token = dev-session\n";

#[test]
fn shared_credentials_default_profile() {
    let server = require_server!();
    let env = base_env(&server);
    env.write_credentials(TWO_PROFILES);
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, "AKIDDEFAULT", None);
}

#[test]
fn aws_profile_selects_a_credentials_section() {
    let server = require_server!();
    let env = base_env(&server).with("AWS_PROFILE", "dev");
    env.write_credentials(TWO_PROFILES);
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, "AKIDDEV", Some("dev-session"));
}

#[test]
fn aws_default_profile_is_honoured() {
    let server = require_server!();
    let env = base_env(&server).with("AWS_DEFAULT_PROFILE", "dev");
    env.write_credentials(TWO_PROFILES);
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, "AKIDDEV", Some("dev-session"));

    // AWS_PROFILE wins over AWS_DEFAULT_PROFILE.
    server.reset();
    let env = env.with("AWS_PROFILE", "default");
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, "AKIDDEFAULT", None);
}

#[test]
fn config_file_profile_static_keys() {
    let server = require_server!();
    let env = base_env(&server).with("AWS_PROFILE", "dev");
    env.write_config(
        "[default]\naws_access_key_id = AKIDCFGDEFAULT\naws_secret_access_key = s\n\n\
         [profile dev]\naws_access_key_id = AKIDCFGDEV\naws_secret_access_key = s\n",
    );
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, "AKIDCFGDEV", None);
}

#[test]
fn credential_process() {
    let server = require_server!();
    let env = base_env(&server).with("AWS_PROFILE", "proc");
    let script = write_file(
        env.dir(),
        "bin/creds.sh",
        "#!/bin/sh\nprintf '%s\\n' '{\"Version\":1,\"AccessKeyId\":\"AKIDPROCESS\",\
         \"SecretAccessKey\":\"x\",\"SessionToken\":\"t\"}'\n",
        0o755,
    );
    env.write_config(&format!(
        "[profile proc]\ncredential_process = {}\n",
        script.display()
    ));
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, "AKIDPROCESS", Some("t"));
}

/// A role whose source profile runs a `credential_process` (run by the helper's own provider,
/// which kills the command's process group at the deadline).
#[test]
fn assume_role_from_credential_process_source() {
    let server = require_server!();
    let env = base_env(&server)
        .with("AWS_PROFILE", "dev")
        .with("AWS_ENDPOINT_URL_STS", server.endpoint());
    let script = write_file(
        env.dir(),
        "bin/creds.sh",
        "#!/bin/sh\nprintf '%s\\n' '{\"Version\":1,\"AccessKeyId\":\"AKIDPROCSRC\",\
         \"SecretAccessKey\":\"x\"}'\n",
        0o755,
    );
    env.write_config(&format!(
        "[profile dev]\nrole_arn = {ROLE_ARN}\nsource_profile = proc\n\
         [profile proc]\ncredential_process = {}\n",
        script.display()
    ));
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    let sts = only_sts_call(&server, "AssumeRole");
    assert_eq!(sts["akid"], "AKIDPROCSRC", "{sts}");
    assert_eq!(only_ecr_call(&server)["akid"], sts["issuedAkid"]);
}

/// Issue 11: `/dev/null` as the shared files (the usual way to ignore the user's files) reads as
/// empty; the environment's keys answer.
#[test]
fn dev_null_shared_files_with_env_keys() {
    let server = require_server!();
    let env = base_env(&server)
        .with("AWS_ACCESS_KEY_ID", "AKIDENVNULL")
        .with("AWS_SECRET_ACCESS_KEY", "secretEnvNull")
        .with("AWS_CONFIG_FILE", "/dev/null")
        .with("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, "AKIDENVNULL", None);
}

/// A FIFO as the config file is still refused, quickly and without an API call, even with keys
/// in the environment.
#[test]
fn fifo_config_file_is_a_fast_not_found() {
    let server = require_server!();
    let env = base_env(&server)
        .with("AWS_ACCESS_KEY_ID", "AKIDENVFIFO")
        .with("AWS_SECRET_ACCESS_KEY", "secretEnvFifo");
    let fifo = env.dir().join("config-fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let env = env.with("AWS_CONFIG_FILE", &fifo);
    let out = get(&env, HOST);
    assert_not_found(&out, &env, &server);
    assert!(out.elapsed < Duration::from_secs(2), "{:?}", out.elapsed);
    let calls = server.requests();
    assert_eq!(calls.as_array().map(Vec::len), Some(0), "{calls}");
}

#[test]
fn assume_role_with_source_profile() {
    let server = require_server!();
    let env = base_env(&server)
        .with("AWS_PROFILE", "dev")
        .with("AWS_ENDPOINT_URL_STS", server.endpoint());
    env.write_credentials("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n");
    env.write_config(&format!(
        "[profile dev]\nrole_arn = {ROLE_ARN}\nsource_profile = base\n\
         external_id = ext-123\nrole_session_name = ecr-test\n"
    ));
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);

    let sts = only_sts_call(&server, "AssumeRole");
    assert_eq!(
        sts["akid"], "AKIDBASE",
        "STS signed by the source profile: {sts}"
    );
    assert_eq!(sts["RoleArn"], ROLE_ARN);
    assert_eq!(sts["ExternalId"], "ext-123");
    assert_eq!(sts["RoleSessionName"], "ecr-test");
    let call = only_ecr_call(&server);
    assert_eq!(
        call["akid"], sts["issuedAkid"],
        "ECR signed by the role: {call}"
    );
    assert!(call["sessionToken"].as_str().is_some_and(|t| !t.is_empty()));
}

/// Role chaining: base keys -> role A -> role B.
#[test]
fn assume_role_chain() {
    let server = require_server!();
    let env = base_env(&server)
        .with("AWS_PROFILE", "b")
        .with("AWS_ENDPOINT_URL_STS", server.endpoint());
    env.write_credentials("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n");
    env.write_config(
        "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = base\n\n\
         [profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = a\n",
    );
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    let sts = other_calls(&server, "sts");
    assert_eq!(sts.len(), 2, "{sts:?}");
    assert_eq!(sts[0]["RoleArn"], "arn:aws:iam::123456789012:role/a");
    assert_eq!(sts[0]["akid"], "AKIDBASE");
    assert_eq!(sts[1]["RoleArn"], "arn:aws:iam::123456789012:role/b");
    assert_eq!(sts[1]["akid"], sts[0]["issuedAkid"]);
    assert_eq!(only_ecr_call(&server)["akid"], sts[1]["issuedAkid"]);
}

/// SPEC §5 lists `duration_seconds`; Go's SDK sends it as DurationSeconds.
#[test]
fn assume_role_duration_seconds() {
    let server = require_server!();
    let env = base_env(&server)
        .with("AWS_PROFILE", "dev")
        .with("AWS_ENDPOINT_URL_STS", server.endpoint());
    env.write_credentials("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n");
    env.write_config(&format!(
        "[profile dev]\nrole_arn = {ROLE_ARN}\nsource_profile = base\nduration_seconds = 1800\n"
    ));
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    let sts = only_sts_call(&server, "AssumeRole");
    assert_eq!(sts["DurationSeconds"], "1800", "{sts}");
}

#[test]
fn assume_role_with_credential_source_ecs_container() {
    let server = require_server!();
    let uri = format!(
        "{}/_test/container-credentials?token=ecs-token",
        server.control_endpoint()
    );
    let env = base_env(&server)
        .with("AWS_PROFILE", "dev")
        .with("AWS_ENDPOINT_URL_STS", server.endpoint())
        .with("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
        .with("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-token");
    env.write_config(&format!(
        "[profile dev]\nrole_arn = {ROLE_ARN}\ncredential_source = EcsContainer\n"
    ));
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    let sts = only_sts_call(&server, "AssumeRole");
    assert_eq!(sts["akid"], "AKIDECS", "STS signed by the container: {sts}");
    assert_eq!(sts["sessionToken"], "t");
    assert_eq!(only_ecr_call(&server)["akid"], sts["issuedAkid"]);
}

#[test]
fn web_identity_from_profile() {
    let server = require_server!();
    let env = base_env(&server)
        .with("AWS_PROFILE", "wi")
        .with("AWS_ENDPOINT_URL_STS", server.endpoint());
    let token = write_file(
        env.dir(),
        "token/web-identity",
        "profile-web-identity-token",
        0o600,
    );
    env.write_config(&format!(
        "[profile wi]\nrole_arn = {ROLE_ARN}\nweb_identity_token_file = {}\n\
         role_session_name = wi-session\n",
        token.display()
    ));
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    let sts = only_sts_call(&server, "AssumeRoleWithWebIdentity");
    assert_eq!(
        sts["akid"],
        Value::Null,
        "AssumeRoleWithWebIdentity is unsigned: {sts}"
    );
    assert_eq!(sts["WebIdentityToken"], "profile-web-identity-token");
    assert_eq!(sts["RoleArn"], ROLE_ARN);
    assert_eq!(sts["RoleSessionName"], "wi-session");
    let call = only_ecr_call(&server);
    assert_eq!(call["akid"], sts["issuedAkid"], "{call}");
    assert!(call["sessionToken"].as_str().is_some_and(|t| !t.is_empty()));
}

#[test]
fn web_identity_from_environment() {
    let server = require_server!();
    let env = base_env(&server).with("AWS_ENDPOINT_URL_STS", server.endpoint());
    let token = write_file(env.dir(), "token/irsa", "env-web-identity-token", 0o600);
    let env = env
        .with("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
        .with("AWS_ROLE_ARN", ROLE_ARN)
        .with("AWS_ROLE_SESSION_NAME", "irsa-session");
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    let sts = only_sts_call(&server, "AssumeRoleWithWebIdentity");
    assert_eq!(sts["akid"], Value::Null, "{sts}");
    assert_eq!(sts["WebIdentityToken"], "env-web-identity-token");
    assert_eq!(sts["RoleArn"], ROLE_ARN);
    assert_eq!(sts["RoleSessionName"], "irsa-session");
    assert_eq!(only_ecr_call(&server)["akid"], sts["issuedAkid"]);
}

// ---------------------------------------------------------------------------
// 3. SSO
// ---------------------------------------------------------------------------

/// Writes the SSO token cache file for `identifier` (session name or start URL).
fn write_sso_token(env: &Env, identifier: &str, start_url: &str) -> PathBuf {
    let name = format!(".aws/sso/cache/{}.json", sha1_hex(identifier.as_bytes()));
    let token = serde_json::json!({
        "accessToken": "sso-access-token",
        "expiresAt": rfc3339(now_secs() + 3600),
        "region": "us-east-1",
        "startUrl": start_url,
    });
    write_file(env.dir(), &name, &token.to_string(), 0o600)
}

fn assert_sso_flow(env: &Env, server: &EcrServer) {
    let out = get(env, HOST);
    assert_got(&out, env, server, HOST, SECRET);
    let sso = other_calls(server, "sso");
    assert_eq!(sso.len(), 1, "{sso:?}");
    assert_eq!(sso[0]["bearerToken"], "sso-access-token");
    assert_eq!(sso[0]["roleName"], "ECRReadOnly");
    assert_eq!(sso[0]["accountId"], "123456789012");
    assert_signed_by(server, "AKIDSSO", Some("t"));
}

#[test]
fn sso_session_profile() {
    let server = require_server!();
    let env = base_env(&server)
        .with("AWS_PROFILE", "sso")
        .with("AWS_ENDPOINT_URL_SSO", server.endpoint());
    let start_url = "https://d-1234567890.awsapps.com/start";
    env.write_config(&format!(
        "[profile sso]\nsso_session = my-sso\nsso_account_id = 123456789012\n\
         sso_role_name = ECRReadOnly\n\n\
         [sso-session my-sso]\nsso_start_url = {start_url}\nsso_region = us-east-1\n\
         sso_registration_scopes = sso:account:access\n"
    ));
    write_sso_token(&env, "my-sso", start_url);
    assert_sso_flow(&env, &server);
}

#[test]
fn sso_legacy_start_url_profile() {
    let server = require_server!();
    let env = base_env(&server)
        .with("AWS_PROFILE", "sso")
        .with("AWS_ENDPOINT_URL_SSO", server.endpoint());
    let start_url = "https://d-legacy.awsapps.com/start";
    env.write_config(&format!(
        "[profile sso]\nsso_start_url = {start_url}\nsso_region = us-east-1\n\
         sso_account_id = 123456789012\nsso_role_name = ECRReadOnly\n"
    ));
    write_sso_token(&env, start_url, start_url);
    assert_sso_flow(&env, &server);
}

// ---------------------------------------------------------------------------
// 4. ECS/EKS container credentials
// ---------------------------------------------------------------------------

#[test]
fn container_credentials_full_uri_with_token() {
    let server = require_server!();
    let uri = format!(
        "{}/_test/container-credentials?token=container-secret",
        server.control_endpoint()
    );
    let env = base_env(&server)
        .with("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
        .with("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-secret");
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, "AKIDECS", Some("t"));
    let calls = other_calls(&server, "container");
    assert!(!calls.is_empty());
    assert!(
        calls
            .iter()
            .all(|c| c["authorization"] == "container-secret"),
        "{calls:?}"
    );

    // A wrong token: the stub refuses, so there are no credentials.
    server.reset();
    let env = env.with("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong");
    let out = get(&env, HOST);
    assert_not_found(&out, &env, &server);
    assert_eq!(server.calls(), (0, 0));
}

#[test]
fn container_credentials_token_file() {
    let server = require_server!();
    let uri = format!(
        "{}/_test/container-credentials/eks?token=file-secret",
        server.control_endpoint()
    );
    let env = base_env(&server);
    // No trailing newline: the SDK (and Go) send the file's bytes as the header value.
    let token = write_file(env.dir(), "eks/token", "file-secret", 0o600);
    let env = env
        .with("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
        .with("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token)
        // The file wins over the variable.
        .with("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored");
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, "AKIDECS", Some("t"));
    let calls = other_calls(&server, "container");
    assert!(
        calls.iter().all(|c| c["authorization"] == "file-secret"),
        "{calls:?}"
    );
    assert!(calls
        .iter()
        .all(|c| c["path"] == "/_test/container-credentials/eks"));
}

// ---------------------------------------------------------------------------
// 5. IMDS
// ---------------------------------------------------------------------------

fn imds_env(server: &EcrServer) -> Env {
    base_env(server).without("AWS_EC2_METADATA_DISABLED").with(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        format!("{}/", server.control_endpoint()),
    )
}

#[test]
fn imds_v2() {
    let server = require_server!();
    let env = imds_env(&server);
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, "AKIDIMDS", Some("t"));
    let imds = other_calls(&server, "imds");
    assert_eq!(imds[0]["method"], "PUT", "{imds:?}");
    assert_eq!(imds[0]["path"], "/latest/api/token");
    assert!(imds[1..]
        .iter()
        .all(|r| r["method"] == "GET" && r["imdsToken"] == "imds-test-token"));
    assert!(imds
        .iter()
        .any(|r| r["path"] == "/latest/meta-data/iam/security-credentials/test-role"));
}

#[test]
fn imds_disabled_is_not_contacted() {
    let server = require_server!();
    let env = imds_env(&server).with("AWS_EC2_METADATA_DISABLED", "true");
    let out = get(&env, HOST);
    assert_not_found(&out, &env, &server);
    assert!(other_calls(&server, "imds").is_empty());
    assert_eq!(server.calls(), (0, 0));
}

fn imds_v1_fallback(token_status: u16) {
    let server = require_server!();
    server.set_imds(token_status, false);
    let env = imds_env(&server);
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, "AKIDIMDS", Some("t"));
    let imds = other_calls(&server, "imds");
    assert!(imds
        .iter()
        .any(|r| r["method"] == "GET" && r["imdsToken"].is_null()));
}

#[test]

fn imds_v1_fallback_token_forbidden() {
    imds_v1_fallback(403);
}

#[test]

fn imds_v1_fallback_token_not_found() {
    imds_v1_fallback(404);
}

// ---------------------------------------------------------------------------
// 6. No credentials
// ---------------------------------------------------------------------------

#[test]
fn no_credentials_is_a_fast_not_found() {
    let server = require_server!();
    let env = base_env(&server);
    let out = get(&env, HOST);
    assert_not_found(&out, &env, &server);
    assert!(
        out.elapsed < Duration::from_secs(2),
        "took {:?}\n{}",
        out.elapsed,
        context(&out, &env, &server)
    );
    assert_eq!(server.calls(), (0, 0));
    assert_eq!(server.other_requests(), serde_json::json!([]));
}

// ---------------------------------------------------------------------------
// 7. Endpoint configuration (plain HTTP)
// ---------------------------------------------------------------------------

/// Default env keys, cache off, no endpoint override.
fn keyed_env() -> Env {
    no_endpoint_env()
        .with("AWS_ACCESS_KEY_ID", common::TEST_AKID)
        .with("AWS_SECRET_ACCESS_KEY", common::TEST_SECRET)
}

#[test]
fn global_endpoint_url() {
    let server = require_server!();
    let env = keyed_env().with("AWS_ENDPOINT_URL", server.endpoint());
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, common::TEST_AKID, None);
}

#[test]
fn service_endpoint_beats_global() {
    let server = require_server!();
    let env = keyed_env()
        .with("AWS_ENDPOINT_URL", dead_endpoint())
        .with("AWS_ENDPOINT_URL_ECR", server.endpoint());
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, common::TEST_AKID, None);
}

#[test]
fn profile_endpoint_url() {
    let server = require_server!();
    let env = keyed_env().with("AWS_PROFILE", "local");
    env.write_config(&format!(
        "[profile local]\nendpoint_url = {}\n",
        server.endpoint()
    ));
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, common::TEST_AKID, None);
}

#[test]
fn profile_services_section() {
    let server = require_server!();
    let env = keyed_env();
    // The services section's ECR entry beats the profile's global endpoint_url.
    env.write_config(&format!(
        "[default]\nendpoint_url = {}\nservices = local-ecr\n\n\
         [services local-ecr]\necr =\n  endpoint_url = {}\n",
        dead_endpoint(),
        server.endpoint()
    ));
    let out = get(&env, HOST);
    assert_got(&out, &env, &server, HOST, SECRET);
    assert_signed_by(&server, common::TEST_AKID, None);
}

#[test]
fn ecr_public_endpoint_url_and_profile_credentials() {
    let server = require_server!();
    let env = no_endpoint_env().with("AWS_ENDPOINT_URL_ECR_PUBLIC", server.endpoint());
    env.write_credentials("[default]\naws_access_key_id = AKIDPUB\naws_secret_access_key = s\n");
    let out = get(&env, "public.ecr.aws");
    assert_got(&out, &env, &server, "public.ecr.aws", PUBLIC_SECRET);
    let call = only_ecr_call(&server);
    assert_eq!(call["service"], "ecr-public");
    assert_eq!(call["signingService"], "ecr-public");
    assert_eq!(call["region"], "us-east-1");
    assert_eq!(call["akid"], "AKIDPUB");
    assert_eq!(server.calls(), (0, 1));
}

// ---------------------------------------------------------------------------
// 8. Real AWS host names through a CONNECT proxy, FIPS, dual-stack, TLS roots
// ---------------------------------------------------------------------------

/// Host names the SDK may target; the test server's certificate lists them all.
const AWS_NAMES: &[&str] = &[
    "api.ecr.us-east-1.amazonaws.com",
    "api.ecr-fips.us-east-1.amazonaws.com",
    "api.ecr.us-west-2.amazonaws.com",
    "api.ecr-fips.us-west-2.amazonaws.com",
    "ecr.us-east-1.api.aws",
    "ecr-fips.us-east-1.api.aws",
    "ecr-fips.us-west-2.api.aws",
    "api.ecr-public.us-east-1.amazonaws.com",
    "api.ecr.cn-north-1.amazonaws.com.cn",
    "api.ecr.eusc-de-east-1.amazonaws.eu",
    "api.ecr.eusc-de-east-1.amazonaws.com",
    "ecr-override.example.test",
    "localhost",
];

/// A TLS test server with a CONNECT proxy in front, and its CA.
struct TlsSetup {
    dir: tempfile::TempDir,
    ca: TestCa,
    server: EcrServer,
}

/// Start a [`TlsSetup`], or skip the calling test.
macro_rules! tls_setup {
    () => {{
        let _ = require_python!();
        let dir = tempfile::tempdir().expect("tempdir for the test CA");
        let host = common::pick_loopback_host();
        let mut names: Vec<&str> = AWS_NAMES.to_vec();
        names.push(&host);
        let ca = TestCa::generate(dir.path(), &names);
        let server = require_server!(ServerOpts {
            connect_proxy: true,
            ..ServerOpts::tls(&host, &ca)
        });
        TlsSetup { dir, ca, server }
    }};
}

impl TlsSetup {
    /// Env keys, cache off, `HTTPS_PROXY` = the recording proxy,
    /// `SSL_CERT_FILE` = the test CA, no endpoint override.
    fn env(&self) -> Env {
        keyed_env()
            .with("HTTPS_PROXY", self.server.proxy_url())
            .with("SSL_CERT_FILE", &self.ca.ca_pem)
    }

    /// Run `get` for `host` and assert success through the proxy to `target`
    /// (`host:443` asked of the proxy); returns the ECR/ECR Public call.
    fn get_via(&self, env: &Env, host: &str, secret: &str, target: &str) -> Value {
        let out = get(env, host);
        assert_got(&out, env, &self.server, host, secret);
        self.assert_connects(&[target]);
        let reqs = self.server.requests();
        let reqs = reqs.as_array().expect("requests");
        assert_eq!(reqs.len(), 1, "{reqs:?}");
        let target_host = target.rsplit_once(':').map_or(target, |(h, _)| h);
        assert_eq!(reqs[0]["host"], target_host, "Host header: {}", reqs[0]);
        reqs[0].clone()
    }

    /// The proxy saw exactly these CONNECT targets (repeats collapsed: a
    /// retried call may connect again).
    fn assert_connects(&self, expected: &[&str]) {
        let mut seen = self.server.connects();
        seen.dedup();
        assert_eq!(seen, expected, "CONNECT targets");
    }
}

#[test]
fn proxy_default_endpoint() {
    let t = tls_setup!();
    let env = t.env();
    let call = t.get_via(&env, HOST, SECRET, "api.ecr.us-east-1.amazonaws.com:443");
    assert_eq!(call["region"], "us-east-1");
    assert_eq!(call["akid"], common::TEST_AKID);
}

#[test]
fn proxy_lower_case_https_proxy() {
    let t = tls_setup!();
    let env = t
        .env()
        .without("HTTPS_PROXY")
        .with("https_proxy", t.server.proxy_url());
    t.get_via(&env, HOST, SECRET, "api.ecr.us-east-1.amazonaws.com:443");
}

#[test]
fn proxy_fips_host_uses_fips_endpoint() {
    let t = tls_setup!();
    let host = "123456789012.dkr.ecr-fips.us-west-2.amazonaws.com";
    let call = t.get_via(
        &t.env(),
        host,
        SECRET,
        "api.ecr-fips.us-west-2.amazonaws.com:443",
    );
    assert_eq!(call["region"], "us-west-2");
    assert_eq!(call["signingService"], "ecr");
}

#[test]
fn proxy_use_fips_endpoint_env() {
    let t = tls_setup!();
    let env = t.env().with("AWS_USE_FIPS_ENDPOINT", "true");
    t.get_via(
        &env,
        HOST,
        SECRET,
        "api.ecr-fips.us-east-1.amazonaws.com:443",
    );
}

#[test]
fn proxy_use_fips_endpoint_profile() {
    let t = tls_setup!();
    let env = t.env();
    env.write_config("[default]\nuse_fips_endpoint = true\n");
    t.get_via(
        &env,
        HOST,
        SECRET,
        "api.ecr-fips.us-east-1.amazonaws.com:443",
    );
}

#[test]
fn fips_host_with_endpoint_override_uses_the_override() {
    let t = tls_setup!();
    let host = "123456789012.dkr.ecr-fips.us-west-2.amazonaws.com";
    let env = t
        .env()
        .with("AWS_ENDPOINT_URL_ECR", "https://ecr-override.example.test");
    let call = t.get_via(&env, host, SECRET, "ecr-override.example.test:443");
    assert_eq!(call["region"], "us-west-2");

    // The same with a plain-HTTP override (no proxy involved).
    t.server.reset();
    let plain = require_server!();
    let env = keyed_env().with("AWS_ENDPOINT_URL_ECR", plain.endpoint());
    let out = get(&env, host);
    assert_got(&out, &env, &plain, host, SECRET);
    assert_eq!(
        assert_signed_by(&plain, common::TEST_AKID, None)["region"],
        "us-west-2"
    );
}

#[test]
fn proxy_dualstack() {
    let t = tls_setup!();
    let env = t.env().with("AWS_USE_DUALSTACK_ENDPOINT", "true");
    t.get_via(&env, HOST, SECRET, "ecr.us-east-1.api.aws:443");

    // A dual-stack registry name alone does not change the endpoint.
    t.server.reset();
    let host = "123456789012.dkr-ecr.us-east-1.on.aws";
    t.get_via(
        &t.env(),
        host,
        SECRET,
        "api.ecr.us-east-1.amazonaws.com:443",
    );

    // FIPS and dual-stack together.
    t.server.reset();
    let host = "123456789012.dkr.ecr-fips.us-west-2.amazonaws.com";
    t.get_via(&env, host, SECRET, "ecr-fips.us-west-2.api.aws:443");
}

#[test]
fn proxy_ecr_public() {
    let t = tls_setup!();
    let call = t.get_via(
        &t.env(),
        "public.ecr.aws",
        PUBLIC_SECRET,
        "api.ecr-public.us-east-1.amazonaws.com:443",
    );
    assert_eq!(call["service"], "ecr-public");
    assert_eq!(call["signingService"], "ecr-public");
    assert_eq!(call["region"], "us-east-1");
}

#[test]
fn proxy_china_partition() {
    let t = tls_setup!();
    let host = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn";
    let call = t.get_via(
        &t.env(),
        host,
        SECRET,
        "api.ecr.cn-north-1.amazonaws.com.cn:443",
    );
    assert_eq!(call["region"], "cn-north-1");
}

/// SPEC §5 left this unverified: aws-sdk-ecr 1.138's partition data puts
/// `eusc-*` regions in the `aws-eusc` partition, `amazonaws.eu`.
#[test]
fn proxy_eusc_partition() {
    let t = tls_setup!();
    let host = "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu";
    let env = t.env();
    let out = get(&env, host);
    let seen = t.server.connects();
    eprintln!("eusc-de-east-1: CONNECT targets {seen:?}");
    assert_eq!(
        seen.first().map(String::as_str),
        Some("api.ecr.eusc-de-east-1.amazonaws.eu:443"),
        "{}",
        context(&out, &env, &t.server)
    );
    assert_got(&out, &env, &t.server, host, SECRET);
    assert_eq!(only_ecr_call(&t.server)["region"], "eusc-de-east-1");
}

#[test]
fn no_proxy_bypasses_the_proxy() {
    let t = tls_setup!();
    let endpoint = t.server.endpoint(); // https://127.0.0.x:PORT, in the certificate

    // NO_PROXY naming the endpoint's host: straight to the server.
    for (key, value) in [
        ("NO_PROXY", t.server.host().to_string()),
        ("no_proxy", format!("example.com,{}", t.server.host())),
        ("NO_PROXY", "127.0.0.0/8".to_string()),
        // Not "*": hyper-util applies it to host names only, not to IP
        // addresses (Go: everything).
    ] {
        t.server.reset();
        let env = t
            .env()
            .with("AWS_ENDPOINT_URL_ECR", &endpoint)
            .with(key, &value);
        let out = get(&env, HOST);
        assert_got(&out, &env, &t.server, HOST, SECRET);
        assert_eq!(t.server.connects(), Vec::<String>::new(), "{key}={value}");
        assert_eq!(t.server.calls(), (1, 0));
    }

    // NO_PROXY naming other hosts leaves the AWS host proxied.
    t.server.reset();
    let env = t.env().with(
        "NO_PROXY",
        "api.ecr.us-west-2.amazonaws.com,.example.com,10.0.0.0/8",
    );
    t.get_via(&env, HOST, SECRET, "api.ecr.us-east-1.amazonaws.com:443");
}

/// Go's proxy rules (net/http ProxyFromEnvironment) never proxy `localhost`
/// or loopback addresses, whatever NO_PROXY says: an `AWS_ENDPOINT_URL_ECR`
/// of `https://127.0.0.1:4566` (LocalStack) keeps working behind a corporate
/// `HTTPS_PROXY`.
#[test]
fn https_proxy_skips_loopback_endpoints() {
    let t = tls_setup!();
    let env = t.env().with("AWS_ENDPOINT_URL_ECR", t.server.endpoint());
    let out = get(&env, HOST);
    assert_got(&out, &env, &t.server, HOST, SECRET);
    assert_eq!(t.server.connects(), Vec::<String>::new());
}

/// As above for plain HTTP: container credentials on a loopback address
/// (ECS Anywhere, Greengrass: `http://127.0.0.1:PORT/...`) are fetched
/// directly even with `HTTP_PROXY` set.
#[test]
fn http_proxy_skips_loopback_container_credentials() {
    let t = tls_setup!();
    let plain = require_server!();
    let uri = format!(
        "{}/_test/container-credentials?token=tok",
        plain.control_endpoint()
    );
    let env = base_env(&plain)
        .with("HTTP_PROXY", t.server.proxy_url())
        .with("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
        .with("AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok");
    let out = get(&env, HOST);
    assert_eq!(t.server.connects(), Vec::<String>::new(), "{out}");
    assert_got(&out, &env, &plain, HOST, SECRET);
    assert_signed_by(&plain, "AKIDECS", Some("t"));
}

#[test]
fn ignore_configured_endpoint_urls() {
    let t = tls_setup!();
    let dead = dead_endpoint();
    let env = t
        .env()
        .with("AWS_ENDPOINT_URL", &dead)
        .with("AWS_ENDPOINT_URL_ECR", &dead)
        .with("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
    env.write_config(&format!("[default]\nendpoint_url = {dead}\n"));
    t.get_via(&env, HOST, SECRET, "api.ecr.us-east-1.amazonaws.com:443");

    // The profile setting does the same.
    t.server.reset();
    let env = env.without("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    env.write_config(&format!(
        "[default]\nendpoint_url = {dead}\nignore_configured_endpoint_urls = true\n"
    ));
    t.get_via(&env, HOST, SECRET, "api.ecr.us-east-1.amazonaws.com:443");

    // A FIPS host then uses the FIPS endpoint again.
    t.server.reset();
    let host = "123456789012.dkr.ecr-fips.us-west-2.amazonaws.com";
    t.get_via(
        &env,
        host,
        SECRET,
        "api.ecr-fips.us-west-2.amazonaws.com:443",
    );
}

// -- CA roots (D12) ---------------------------------------------------------

#[test]
fn ca_aws_ca_bundle_without_ssl_cert_file() {
    let t = tls_setup!();
    let env = t
        .env()
        .without("SSL_CERT_FILE")
        .with("AWS_CA_BUNDLE", &t.ca.ca_pem);
    t.get_via(&env, HOST, SECRET, "api.ecr.us-east-1.amazonaws.com:443");

    // AWS_CA_BUNDLE replaces SSL_CERT_FILE: a wrong one there does not matter...
    t.server.reset();
    let unrelated = unrelated_ca();
    let env = env.with("SSL_CERT_FILE", &unrelated);
    t.get_via(&env, HOST, SECRET, "api.ecr.us-east-1.amazonaws.com:443");

    // ...and a wrong AWS_CA_BUNDLE is not rescued by a right SSL_CERT_FILE.
    t.server.reset();
    let env = env
        .with("AWS_CA_BUNDLE", &unrelated)
        .with("SSL_CERT_FILE", &t.ca.ca_pem);
    assert_tls_fails(&t, env);
}

#[test]
fn ca_ssl_cert_dir() {
    let t = tls_setup!();
    let dir = t.dir.path().join("certs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&t.ca.ca_pem, dir.join("test-ca.pem")).unwrap();
    let env = t.env().without("SSL_CERT_FILE").with(
        "SSL_CERT_DIR",
        format!("/nonexistent-dir:{}", dir.display()),
    );
    t.get_via(&env, HOST, SECRET, "api.ecr.us-east-1.amazonaws.com:443");
}

#[test]
fn ca_profile_ca_bundle() {
    let t = tls_setup!();
    let env = t.env().without("SSL_CERT_FILE");
    env.write_config(&format!(
        "[default]\nca_bundle = {}\n",
        t.ca.ca_pem.display()
    ));
    t.get_via(&env, HOST, SECRET, "api.ecr.us-east-1.amazonaws.com:443");

    // With AWS_PROFILE naming another profile, that profile's ca_bundle counts.
    t.server.reset();
    let env = env.with("AWS_PROFILE", "other");
    env.write_config(&format!(
        "[default]\nca_bundle = /nonexistent.pem\n[profile other]\nca_bundle = {}\n",
        t.ca.ca_pem.display()
    ));
    t.get_via(&env, HOST, SECRET, "api.ecr.us-east-1.amazonaws.com:443");
}

/// A CA certificate that did not sign the server's certificate.
fn unrelated_ca() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/test-ca.pem")
}

/// `get` fails with not-found, in bounded time, without a panic; returns the
/// environment (with `AWS_ECR_TIMEOUT=5`) for further checks.
fn assert_tls_fails(t: &TlsSetup, env: Env) -> Env {
    let env = env.with("AWS_ECR_TIMEOUT", "5");
    let out = get(&env, HOST);
    assert_not_found(&out, &env, &t.server);
    assert!(
        out.elapsed < Duration::from_secs(9),
        "took {:?}\n{}",
        out.elapsed,
        context(&out, &env, &t.server)
    );
    assert_eq!(
        t.server.calls(),
        (0, 0),
        "no API call completes without trusting the server"
    );
    env
}

#[test]
fn ca_unrelated_ssl_cert_file_fails_cleanly() {
    let t = tls_setup!();
    let env = t.env().with("SSL_CERT_FILE", unrelated_ca());
    assert_tls_fails(&t, env);
    // The connection did go through the proxy.
    assert!(t
        .server
        .connects()
        .iter()
        .all(|c| c == "api.ecr.us-east-1.amazonaws.com:443"));
}

#[test]
fn ca_empty_ssl_cert_file_fails_cleanly() {
    let t = tls_setup!();
    let empty = write_file(t.dir.path(), "empty.pem", "", 0o644);
    let env = assert_tls_fails(&t, t.env().with("SSL_CERT_FILE", &empty));
    let log = helper_log(&env);
    assert!(
        log.contains("No CA certificates found"),
        "the log says why:\n{log}"
    );
}

// -- Proxy rules as Go's (issue 11) ------------------------------------------

/// A name `/etc/hosts` maps to 127.0.0.1 only (not `localhost`, which Go never proxies), so a
/// test can use a host name that is not loopback to Go's proxy rules and yet reaches a loopback
/// server directly, with no DNS query. Read only; `None` when the system has none.
fn loopback_alias() -> Option<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
    let mut v4: Vec<&str> = Vec::new();
    let mut other: Vec<&str> = Vec::new();
    for line in hosts.lines() {
        let mut fields = line.split('#').next().unwrap_or("").split_whitespace();
        let Some(addr) = fields.next() else { continue };
        let names = if addr == "127.0.0.1" {
            &mut v4
        } else {
            &mut other
        };
        names.extend(fields);
    }
    v4.into_iter()
        .find(|n| {
            !n.eq_ignore_ascii_case("localhost")
                && !other.iter().any(|o| o.eq_ignore_ascii_case(n))
                && n.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
        })
        .map(str::to_ascii_lowercase)
}

/// A TLS server on 127.0.0.1 with the recording CONNECT proxy, its certificate also valid for
/// `alias`.
struct AliasSetup {
    _dir: tempfile::TempDir,
    ca: TestCa,
    server: EcrServer,
    alias: String,
}

/// Start an [`AliasSetup`], or skip the calling test.
macro_rules! alias_setup {
    () => {{
        let _ = require_python!();
        let Some(alias) = loopback_alias() else {
            common::skip("no /etc/hosts name maps to 127.0.0.1 alone (besides localhost)");
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir for the test CA");
        let ca = TestCa::generate(dir.path(), &[alias.as_str(), "127.0.0.1"]);
        let server = require_server!(ServerOpts {
            connect_proxy: true,
            ..ServerOpts::tls("127.0.0.1", &ca)
        });
        AliasSetup {
            _dir: dir,
            ca,
            server,
            alias,
        }
    }};
}

impl AliasSetup {
    /// `https://<alias>:<port>`: the test server, by a name Go's rules proxy.
    fn endpoint(&self) -> String {
        format!("https://{}:{}", self.alias, self.server.port())
    }

    /// Keys, the test CA, the endpoint by its alias and `HTTPS_PROXY` = the recording proxy.
    fn env(&self) -> Env {
        keyed_env()
            .with("SSL_CERT_FILE", &self.ca.ca_pem)
            .with("AWS_ENDPOINT_URL_ECR", self.endpoint())
            .with("HTTPS_PROXY", self.server.proxy_url())
    }
}

/// `NO_PROXY` entries with a port, with a leading `.` or `*.`, in upper case, and `*`, matched
/// as Go matches them (x/net/http/httpproxy): `host:port` bypasses the proxy only on that
/// port, `.host` and `*.host` only for subdomains.
#[test]
fn no_proxy_entries_match_like_go() {
    let t = alias_setup!();
    let (alias, port) = (t.alias.as_str(), t.server.port());
    let via_proxy = vec![format!("{alias}:{port}")];
    let direct: Vec<String> = Vec::new();
    let mut cases = vec![
        (String::new(), &via_proxy),
        (format!("{alias}:{port}"), &direct),
        (
            format!(" example.com , {}:{port} ", alias.to_uppercase()),
            &direct,
        ),
        (format!("{alias}:443"), &via_proxy),
        (alias.to_string(), &direct),
        (format!(".{alias}"), &via_proxy),
        (format!("*.{alias}"), &via_proxy),
        ("*".to_string(), &direct),
        (format!("{alias}.example,10.0.0.0/8,127.0.0.2"), &via_proxy),
    ];
    if let Some((_, parent)) = alias.split_once('.') {
        cases.push((format!("*.{parent}"), &direct));
        cases.push((format!(".{parent}:{port}"), &direct));
    }
    for (no_proxy, connects) in cases {
        t.server.reset();
        let env = t.env().with("NO_PROXY", &no_proxy);
        let out = get(&env, HOST);
        assert_got(&out, &env, &t.server, HOST, SECRET);
        assert_eq!(&t.server.connects(), connects, "NO_PROXY={no_proxy:?}");
    }
}

/// A proxy the client cannot speak (`socks5://`, `socks5h://`, another scheme) or cannot
/// parse is refused: not-found, a log line saying why, and no connection at all: neither
/// to the proxy nor directly to the endpoint (which would have answered). `NO_PROXY` and
/// loopback endpoints still go direct, as in Go.
#[test]
fn unusable_proxies_are_refused_never_bypassed() {
    let t = tls_setup!();
    let proxy_hostport = t.server.proxy_url().replace("http://", "");
    let values = [
        (format!("socks5://{proxy_hostport}"), "is not supported"),
        (format!("socks5h://{proxy_hostport}"), "is not supported"),
        (
            format!("SOCKS5://user:pw@{proxy_hostport}"),
            "is not supported",
        ),
        (format!("ftp://{proxy_hostport}"), "is not supported"),
        ("http://pro xy:3128".to_string(), "invalid proxy URL"),
    ];
    for (value, why) in &values {
        for key in ["HTTPS_PROXY", "https_proxy"] {
            t.server.reset();
            let env = t.env().without("HTTPS_PROXY").with(key, value);
            let out = get(&env, HOST);
            assert_not_found(&out, &env, &t.server);
            let log = helper_log(&env);
            assert!(
                log.contains("the proxy setting cannot be used") && log.contains(why),
                "{key}={value}: the log says why\n{log}"
            );
            assert!(!log.contains(":pw@"), "the password is redacted\n{log}");
            assert_eq!(t.server.connects(), Vec::<String>::new(), "{key}={value}");
            assert_eq!(t.server.calls(), (0, 0), "{key}={value}");
        }
    }
    // A loopback endpoint is never proxied, so an unusable proxy does not matter to it.
    t.server.reset();
    let env = t
        .env()
        .with("HTTPS_PROXY", &values[0].0)
        .with("AWS_ENDPOINT_URL_ECR", t.server.endpoint());
    assert_got(&get(&env, HOST), &env, &t.server, HOST, SECRET);
    assert_eq!(t.server.connects(), Vec::<String>::new());
}

/// The same refusal where going direct would have worked: the endpoint by a host name that
/// Go's rules proxy but that resolves to the loopback server. Before issue 11 the helper
/// silently connected directly and answered.
#[test]
fn unusable_proxy_does_not_fall_back_to_direct() {
    let t = alias_setup!();
    let proxy_hostport = t.server.proxy_url().replace("http://", "");
    for value in [
        format!("socks5://{proxy_hostport}"),
        format!("socks5h://{proxy_hostport}"),
        "http://pro xy:3128".to_string(),
    ] {
        t.server.reset();
        let env = t.env().with("HTTPS_PROXY", &value);
        let out = get(&env, HOST);
        assert_not_found(&out, &env, &t.server);
        assert_eq!(t.server.calls(), (0, 0), "HTTPS_PROXY={value}: went direct");
        assert_eq!(t.server.connects(), Vec::<String>::new(), "{value}");
        // NO_PROXY naming the host: direct, as Go does before it looks at the proxy.
        t.server.reset();
        let env = env.with("NO_PROXY", &t.alias);
        assert_got(&get(&env, HOST), &env, &t.server, HOST, SECRET);
        assert_eq!(t.server.connects(), Vec::<String>::new(), "{value}");
    }
}
