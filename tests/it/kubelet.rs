//! Kubelet credential provider mode (SPEC §11): `ecr-credential-provider` as argv[0], or the
//! first argument `kubelet-credential-provider`, answering `CredentialProviderRequest`s against
//! the moto-backed ECR API.

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
