//! Kubelet credential provider mode (SPEC §11): `ecr-credential-provider` as argv[0], or the
//! first argument `kubelet-credential-provider`, answering `CredentialProviderRequest`s against
//! the moto-backed ECR API; with a v1 request's `serviceAccountToken` (KEP-4412), as the pod's
//! role through moto's STS, each pod's token under its own identity key.

use crate::common;

use common::Env;

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:1";
const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

fn request(api_version: &str, image: &str) -> Vec<u8> {
    format!(
        r#"{{"apiVersion":"{api_version}","kind":"CredentialProviderRequest","image":"{image}"}}"#
    )
    .into_bytes()
}

fn cache_seconds(v: &serde_json::Value) -> i64 {
    let d = v["cacheDuration"].as_str().expect("cacheDuration");
    d.strip_suffix('s')
        .and_then(|n| n.parse().ok())
        .expect("Ns")
}

#[test]
fn answers_kubelet_requests_by_flag_and_by_name() {
    let server = require_server!();
    let env = Env::with_server(&server);
    let out = env.run(
        &["kubelet-credential-provider"],
        &request("credentialprovider.kubelet.k8s.io/v1", IMAGE),
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stderr.is_empty());
    let v = out.json();
    assert_eq!(v["apiVersion"], "credentialprovider.kubelet.k8s.io/v1");
    assert_eq!(v["kind"], "CredentialProviderResponse");
    assert_eq!(v["cacheKeyType"], "Registry");
    assert!((21_500..=21_600).contains(&cache_seconds(&v)), "{v}");
    assert_eq!(v["auth"][HOST]["username"], "AWS");
    assert_eq!(v["auth"][HOST]["password"], "123456789012-auth-token");
    assert_eq!(server.calls(), (1, 0));

    // Installed as `ecr-credential-provider` (arguments ignored), v1beta1, served from the cache.
    let link = env.dir().join("ecr-credential-provider");
    std::os::unix::fs::symlink(common::helper_bin(), &link).unwrap();
    let by_name = Env::with_server(&server)
        .bin(&link)
        .with("AWS_ECR_CACHE_DIR", env.cache_dir());
    let out = by_name.run(
        &["--any", "args"],
        &request("credentialprovider.kubelet.k8s.io/v1beta1", IMAGE),
    );
    assert_eq!(out.code, 0, "{out}");
    let v = out.json();
    assert_eq!(v["apiVersion"], "credentialprovider.kubelet.k8s.io/v1beta1");
    assert_eq!(v["auth"][HOST]["password"], "123456789012-auth-token");
    assert_eq!(server.calls(), (1, 0), "second request is a cache hit");
}

#[test]
fn refuses_what_it_cannot_answer() {
    let server = require_server!();
    let env = Env::with_server(&server);
    for body in [
        request(
            "credentialprovider.kubelet.k8s.io/v1",
            "docker.io/library/busybox:latest",
        ),
        request("credentialprovider.kubelet.k8s.io/v2", IMAGE),
        b"{not json".to_vec(),
        Vec::new(),
    ] {
        let out = env.run(&["kubelet-credential-provider"], &body);
        assert_eq!(out.code, 1, "{out}");
        assert!(out.stdout.is_empty(), "{out}");
    }
    assert_eq!(server.calls(), (0, 0));
}

// ---------------------------------------------------------------------------
// Per-pod roles (KEP-4412): two pods, two roles in two accounts, against moto's STS.
// ---------------------------------------------------------------------------

/// A pod: its image, the role its service account is annotated with, and its token.
struct Pod {
    image: &'static str,
    host: &'static str,
    region: &'static str,
    account: &'static str,
    role: &'static str,
    token: String,
}

fn pods() -> [Pod; 2] {
    [
        Pod {
            image: "111111111111.dkr.ecr.us-east-1.amazonaws.com/team-a/app:1",
            host: "111111111111.dkr.ecr.us-east-1.amazonaws.com",
            region: "us-east-1",
            account: "111111111111",
            role: "arn:aws:iam::111111111111:role/pod-a-pull",
            token: jwt("system:serviceaccount:team-a:puller", 3600),
        },
        Pod {
            image: "222222222222.dkr.ecr.us-west-2.amazonaws.com/team-b/app:2",
            host: "222222222222.dkr.ecr.us-west-2.amazonaws.com",
            region: "us-west-2",
            account: "222222222222",
            role: "arn:aws:iam::222222222222:role/pod-b-pull",
            token: jwt("system:serviceaccount:team-b:puller", 3600),
        },
    ]
}

/// A JWT (unsigned) whose `exp` is `exp_offset` seconds from now.
fn jwt(sub: &str, exp_offset: i64) -> String {
    use base64::Engine as _;
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let claims = serde_json::json!({ "sub": sub, "aud": ["sts.amazonaws.com"],
        "exp": common::now_secs() + exp_offset });
    format!(
        "{}.{}.c2ln",
        b64(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64(&claims.to_string())
    )
}

/// A v1 request for `image` with the pod's token and `annotations` (a JSON object).
fn pod_request(image: &str, token: &str, annotations: &str) -> Vec<u8> {
    format!(
        r#"{{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"{image}","serviceAccountToken":"{token}","serviceAccountAnnotations":{annotations}}}"#
    )
    .into_bytes()
}

fn annotated(role: &str) -> String {
    format!(r#"{{"eks.amazonaws.com/ecr-role-arn":"{role}"}}"#)
}

/// The node has static keys; STS and ECR are moto; token files go to the test's own directory.
fn node_env(server: &common::EcrServer) -> Env {
    let env = Env::with_server(server)
        .with("AWS_ENDPOINT_URL_STS", server.endpoint())
        .with("AWS_ECR_LOG_LEVEL", "debug");
    let tmp = env.dir().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    env.with("TMPDIR", &tmp)
}

fn kubelet(env: &Env, body: &[u8]) -> common::Output {
    env.run(&["kubelet-credential-provider"], body)
}

fn helper_log(env: &Env) -> String {
    std::fs::read_to_string(env.cache_dir().join("log/ecr-login.log")).unwrap_or_default()
}

fn sts_calls(server: &common::EcrServer) -> Vec<serde_json::Value> {
    let other = server.other_requests();
    let calls = other.as_array().cloned().unwrap_or_default();
    calls
        .into_iter()
        .filter(|r| r["service"] == "sts")
        .collect()
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The D17 key of the pod's web identity, as for `AWS_ROLE_ARN` + `AWS_ROLE_SESSION_NAME`
/// `ecr-credential-provider` + that token.
fn pod_key(pod: &Pod) -> String {
    let session = "+ecr-credential-provider";
    let fields = ["web", pod.role, session, &hex_sha256(pod.token.as_bytes())];
    let canon: String = fields.iter().map(|f| format!("{}:{f}", f.len())).collect();
    let part = hex_sha256(canon.as_bytes());
    format!("{}-id1.{part}-{}", pod.region, pod.account)
}

fn cache_keys(env: &Env) -> Vec<String> {
    let text = std::fs::read_to_string(env.cache_file()).unwrap_or_else(|_| "{}".into());
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let regs = v["Registries"].as_object().cloned().unwrap_or_default();
    regs.keys().cloned().collect()
}

/// The pod's first request assumes its role (one STS call with its token, one ECR call signed
/// with what STS issued) and answers the pod's account; the second is served from the cache.
fn assert_pod_served(env: &Env, server: &common::EcrServer, pod: &Pod) {
    server.reset();
    let body = pod_request(pod.image, &pod.token, &annotated(pod.role));
    let out = kubelet(env, &body);
    assert_eq!(out.code, 0, "{out}\n{}", helper_log(env));
    let v = out.json();
    assert_eq!(v["cacheKeyType"], "Registry");
    let password = format!("{}-auth-token", pod.account);
    assert_eq!(v["auth"][pod.host]["password"], password.as_str(), "{v}");
    let sts = sts_calls(server);
    assert_eq!(sts.len(), 1, "{sts:?}");
    assert_eq!(sts[0]["action"], "AssumeRoleWithWebIdentity");
    assert_eq!(sts[0]["RoleArn"], pod.role);
    assert_eq!(sts[0]["RoleSessionName"], "ecr-credential-provider");
    assert_eq!(sts[0]["WebIdentityToken"], pod.token.as_str());
    assert_eq!(sts[0]["region"], serde_json::Value::Null, "unsigned");
    let ecr = server.requests();
    assert_eq!(server.calls(), (1, 0));
    assert_eq!(
        ecr[0]["akid"], sts[0]["issuedAkid"],
        "signed as the pod's role"
    );
    assert_eq!(ecr[0]["region"], pod.region);

    server.reset();
    let again = kubelet(env, &body);
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(again.json()["auth"], v["auth"]);
    assert_eq!(server.calls(), (0, 0), "served from the cache");
    assert!(sts_calls(server).is_empty());
}

#[test]
fn per_pod_roles_in_two_accounts_each_get_their_own_cached_token() {
    let server = require_server!();
    let env = node_env(&server);
    let [a, b] = pods();
    assert_pod_served(&env, &server, &a);
    assert_pod_served(&env, &server, &b);
    let mut want = vec![pod_key(&a), pod_key(&b)];
    want.sort();
    assert_eq!(cache_keys(&env), want);

    // Another pod of the first service account (a new token): its own entry, its own STS call.
    let a2 = Pod {
        token: jwt("system:serviceaccount:team-a:puller#2", 3600),
        ..pods()[0]
    };
    assert_pod_served(&env, &server, &a2);
    assert_eq!(cache_keys(&env).len(), 3);

    // Without a token (or with a token and no role): the node's identity, its own entry.
    for body in [
        request("credentialprovider.kubelet.k8s.io/v1", a.image),
        pod_request(a.image, &a.token, "{}"),
    ] {
        server.reset();
        let out = kubelet(&env, &body);
        assert_eq!(out.code, 0, "{out}");
        assert!(sts_calls(&server).is_empty());
        let ecr = server.requests();
        let akids: Vec<_> = ecr.as_array().unwrap().iter().map(|r| &r["akid"]).collect();
        assert!(akids.iter().all(|k| *k == common::TEST_AKID), "{ecr}");
    }
    assert_eq!(cache_keys(&env).len(), 4, "{:?}", cache_keys(&env));
    let log = helper_log(&env);
    for pod in [&a, &b, &a2] {
        assert!(!log.contains(&pod.token), "a token is in the log");
    }
    let leftovers = std::fs::read_dir(env.dir().join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "the token files are removed");
}

#[test]
fn the_default_role_serves_pods_without_the_annotation() {
    let server = require_server!();
    let [a, _] = pods();
    let env = node_env(&server).with("AWS_ECR_ROLE_ARN", a.role);
    let body = pod_request(a.image, &a.token, r#"{"other":"x"}"#);
    let out = kubelet(&env, &body);
    assert_eq!(out.code, 0, "{out}\n{}", helper_log(&env));
    let sts = sts_calls(&server);
    assert_eq!(sts.len(), 1, "{sts:?}");
    assert_eq!(sts[0]["RoleArn"], a.role);
    assert_eq!(cache_keys(&env), [pod_key(&a)]);
}

#[test]
fn bad_pod_requests_exit_1_without_the_node_identity() {
    let server = require_server!();
    let env = node_env(&server);
    let [a, _] = pods();
    let expired = jwt("system:serviceaccount:team-a:puller", -60);
    let cases = [
        (
            pod_request(a.image, &a.token, &annotated("not-a-role")),
            "is not an IAM role ARN",
        ),
        (
            pod_request(a.image, "not-a-jwt", &annotated(a.role)),
            "is not a JWT",
        ),
        (
            pod_request(a.image, &expired, &annotated(a.role)),
            "no credentials for",
        ),
    ];
    for (body, err) in cases {
        let out = kubelet(&env, &body);
        assert_eq!(out.code, 1, "{out}");
        assert!(out.stdout.is_empty(), "{out}");
        assert!(out.stderr_str().contains(err), "{out}");
    }
    assert!(helper_log(&env).contains("The pod's service-account token has expired"));
    assert_eq!(server.calls(), (0, 0));
    assert!(sts_calls(&server).is_empty());

    // STS unreachable: a failure, never the node's own credentials.
    let env = env.with("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9");
    let out = kubelet(&env, &pod_request(a.image, &a.token, &annotated(a.role)));
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.is_empty());
    assert_eq!(server.calls(), (0, 0));
    assert!(
        helper_log(&env)
            .contains("AssumeRoleWithWebIdentity with the pod's service-account token failed"),
        "{}",
        helper_log(&env)
    );
}
