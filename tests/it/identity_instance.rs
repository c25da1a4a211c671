//! Instance-role credentials on the warm path (issue 12, D17): the memo beside the cache
//! (`.imds-identity`) remembers which access key id instance metadata gave, so the second and
//! later `get`s make no request to instance metadata at all; a rotated key is seen once the
//! memo's bound or the credentials' expiry is reached; an unusable memo only costs requests.
//! Against the suite's local IMDS stub (on the test server's control port), which records
//! every request.

use crate::common;
use crate::identity_cache::{
    assert_got, cache_keys, env_for, get, helper_log, sts_calls, ROLE_ARN,
};

use common::{EcrServer, Env};
use docker_credential_ecr_login::cache::Keys;
use serde_json::Value;

/// [`env_for`] with instance metadata at the stub.
fn imds_env(server: &EcrServer) -> Env {
    env_for(server).without("AWS_EC2_METADATA_DISABLED").with(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        format!("{}/", server.control_endpoint()),
    )
}

/// The instance-metadata requests recorded since the last reset.
fn imds_requests(server: &EcrServer) -> usize {
    let other = server.other_requests();
    let all = other.as_array().expect("other array");
    all.iter().filter(|r| r["service"] == "imds").count()
}

fn key_for(akid: &str) -> String {
    Keys::private("us-east-1", akid, "123456789012").current
}

fn memo(env: &Env) -> Value {
    let text = std::fs::read_to_string(env.cache_dir().join(".imds-identity")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Rewrites every remembered resolution's `field` to `offset_secs` from now.
fn age_memo(env: &Env, field: &str, offset_secs: i64) {
    let mut doc = memo(env);
    for entry in doc["Places"].as_object_mut().unwrap().values_mut() {
        entry[field] = common::rfc3339_from_now(offset_secs).into();
    }
    std::fs::write(env.cache_dir().join(".imds-identity"), doc.to_string()).unwrap();
}

/// A first `get` resolves (instance metadata, one ECR call) and remembers the key id.
fn first_get(env: &Env, server: &EcrServer, akid: &str) {
    assert_got(&get(env), env);
    assert!(imds_requests(server) >= 3, "{}", server.other_requests());
    let ecr = server.requests();
    assert_eq!(server.calls(), (1, 0));
    assert_eq!(ecr[0]["akid"], akid, "{ecr}");
    assert!(
        cache_keys(env).contains(&key_for(akid)),
        "{:?}",
        cache_keys(env)
    );
    server.reset();
}

#[test]
fn warm_instance_role_gets_ask_instance_metadata_nothing() {
    let server = require_server!();
    let env = imds_env(&server);
    first_get(&env, &server, "AKIDIMDS");
    for _ in 0..5 {
        assert_got(&get(&env), &env);
    }
    assert_eq!(imds_requests(&server), 0, "{}", server.other_requests());
    assert_eq!(server.calls(), (0, 0));
    assert!(helper_log(&env).contains(r#"identity="instance metadata""#));

    let path = env.cache_dir().join(".imds-identity");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(r#""AccessKeyId":"AKIDIMDS""#), "{text}");
    assert!(
        !text.contains("Secret") && !text.contains("Token"),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_rotated_instance_key_is_seen_after_the_memo_bound_or_the_expiry() {
    let server = require_server!();
    let env = imds_env(&server);
    first_get(&env, &server, "AKIDIMDS");
    // Rotated, but the memo is within its bound: still the remembered key's token.
    server.set_imds_akid("AKIDIMDS2");
    assert_got(&get(&env), &env);
    assert_eq!((imds_requests(&server), server.calls()), (0, (0, 0)));

    // Past the bound (resolved 11 minutes ago): resolved again, a token for the new key.
    age_memo(&env, "ResolvedAt", -660);
    first_get(&env, &server, "AKIDIMDS2");
    assert_got(&get(&env), &env);
    assert_eq!((imds_requests(&server), server.calls()), (0, (0, 0)));

    // Credentials that expire within the margin (4 minutes): resolved again.
    server.set_imds_akid("AKIDIMDS3");
    age_memo(&env, "Expiration", 240);
    first_get(&env, &server, "AKIDIMDS3");
    let mut want = vec![
        key_for("AKIDIMDS"),
        key_for("AKIDIMDS2"),
        key_for("AKIDIMDS3"),
    ];
    want.sort();
    assert_eq!(cache_keys(&env), want);
}

#[test]
fn other_imds_settings_do_not_use_the_memo() {
    let server = require_server!();
    let env = imds_env(&server);
    first_get(&env, &server, "AKIDIMDS");
    // The same instance reached through other settings: resolved again (the same key id, so
    // the cached token is used and ECR is not called).
    let other = env.with("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv4");
    assert_got(&get(&other), &other);
    assert!(imds_requests(&server) >= 3);
    assert_eq!(server.calls(), (0, 0));
    server.reset();
    assert_got(&get(&other), &other);
    assert_eq!((imds_requests(&server), server.calls()), (0, (0, 0)));
    assert_eq!(memo(&other)["Places"].as_object().unwrap().len(), 2);
}

#[test]
fn a_corrupt_or_unwritable_memo_costs_only_requests() {
    let server = require_server!();
    let env = imds_env(&server);
    first_get(&env, &server, "AKIDIMDS");
    let path = env.cache_dir().join(".imds-identity");
    let valid = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, "{\"Places\":").unwrap();
    assert_got(&get(&env), &env);
    assert!(imds_requests(&server) >= 3);
    assert_eq!(server.calls(), (0, 0));
    assert_eq!(memo(&env)["Version"], "imds1", "rewritten");

    // A directory where the memo goes: it cannot be written; every get still answers.
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    for _ in 0..2 {
        server.reset();
        assert_got(&get(&env), &env);
        assert!(imds_requests(&server) >= 3);
        assert_eq!(server.calls(), (0, 0));
    }
    // A symlink to a valid memo elsewhere is not followed.
    std::fs::remove_dir(&path).unwrap();
    let elsewhere = env.dir().join("memo");
    std::fs::write(&elsewhere, valid).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    server.reset();
    assert_got(&get(&env), &env);
    assert!(imds_requests(&server) >= 3, "the symlinked memo was used");
}

/// A role assumed with the instance's credentials (`credential_source = Ec2InstanceMetadata`)
/// is named by the role and the instance's place: its second `get` asks neither instance
/// metadata nor STS nor ECR.
#[test]
fn a_role_from_instance_metadata_is_cached_without_any_request() {
    let server = require_server!();
    let env = imds_env(&server).with("AWS_PROFILE", "cross");
    env.write_config(&format!(
        "[profile cross]\nrole_arn = {ROLE_ARN}\ncredential_source = Ec2InstanceMetadata\n"
    ));
    assert_got(&get(&env), &env);
    let sts = sts_calls(&server);
    assert_eq!(sts.len(), 1, "{sts:?}");
    assert_eq!(
        (sts[0]["action"].as_str(), sts[0]["akid"].as_str()),
        (Some("AssumeRole"), Some("AKIDIMDS"))
    );
    assert!(imds_requests(&server) >= 3);
    assert_eq!(server.calls(), (1, 0));
    let keys = cache_keys(&env);
    assert!(keys.len() == 1 && keys[0].contains("-id1."), "{keys:?}");
    server.reset();
    for _ in 0..3 {
        assert_got(&get(&env), &env);
    }
    assert_eq!(imds_requests(&server), 0, "{}", server.other_requests());
    assert!(sts_calls(&server).is_empty());
    assert_eq!(server.calls(), (0, 0));
}
