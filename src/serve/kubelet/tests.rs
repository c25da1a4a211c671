//! The kubelet front end: selection, the request's fields, the response, per-pod roles.

use super::*;

#[test]
fn selection() {
    let a = |s: &str| OsString::from(s);
    assert!(selected(
        Some(&a("/usr/local/bin/ecr-credential-provider")),
        &[]
    ));
    assert!(selected(Some(&a("ecr-credential-provider")), &[a("get")]));
    assert!(selected(
        Some(&a("docker-credential-ecr-login")),
        &[a(FLAG)]
    ));
    assert!(!selected(
        Some(&a("docker-credential-ecr-login")),
        &[a("get")]
    ));
    assert!(!selected(None, &[]));
}

#[test]
fn half_the_remaining_validity() {
    use std::time::Duration;
    let now = GoTime::from_unix_secs(1_000);
    assert_eq!(
        cache_duration(now + Duration::from_secs(12 * 3600), now),
        "21600s"
    );
    assert_eq!(cache_duration(now - Duration::from_secs(1), now), "0s");
    assert_eq!(cache_duration(GoTime::ZERO, now), "0s");
}

#[test]
fn bad_requests_fail_with_exit_1() {
    let helper = crate::serve::tests::NeverHelper;
    for body in [
        &b""[..],
        b"{",
        b"[]",
        br#"{"apiVersion":"v2","kind":"CredentialProviderRequest","image":"x"}"#,
        br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"Other","image":"x"}"#,
    ] {
        let out = run(body, &helper);
        assert_eq!(out.code, 1);
        assert!(out.stdout.is_empty());
    }
}

/// Answers every call with `AWS`/`pw`, expiry unknown, and records what was asked.
#[derive(Default)]
struct Recorder {
    calls: std::cell::RefCell<Vec<String>>,
}

impl CredentialHelper for Recorder {
    fn get(&self, server_url: &str) -> Option<crate::serve::Answer> {
        self.calls.borrow_mut().push(format!("get {server_url}"));
        Some(answer())
    }
    fn get_as(&self, server_url: &str, pod: &Federated) -> Option<crate::serve::Answer> {
        self.calls.borrow_mut().push(format!(
            "get_as {server_url} {} {} {}",
            pod.role_arn,
            pod.session_name,
            pod.token.expose()
        ));
        Some(answer())
    }
    fn list(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    fn store(&self, _: &str) -> Result<(), crate::serve::NotImplemented> {
        Ok(())
    }
    fn erase(&self, _: &str) -> Result<(), crate::serve::NotImplemented> {
        Ok(())
    }
}

fn answer() -> crate::serve::Answer {
    crate::serve::Answer {
        creds: crate::token::Credentials {
            username: "AWS".into(),
            password: crate::secret::Secret::new("pw".into()),
        },
        expires_at: GoTime::ZERO,
    }
}

const HOST: &str = "111111111111.dkr.ecr.us-west-2.amazonaws.com";
const ROLE: &str = "arn:aws:iam::111111111111:role/pull";
const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2ln";

/// Runs `body` through the front end: the calls made and the outcome.
fn serve(body: &str) -> (Vec<String>, Outcome) {
    let helper = Recorder::default();
    let out = run(body.as_bytes(), &helper);
    (helper.calls.take(), out)
}

fn v1(extra: &str) -> String {
    format!(
        r#"{{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"{HOST}/team/app:1"{extra}}}"#
    )
}

#[test]
fn the_response_bytes() {
    let (calls, out) = serve(&v1(""));
    assert_eq!(calls, [format!("get {HOST}")]);
    assert_eq!(out.code, 0);
    assert!(out.stderr.is_empty());
    let want = format!(
        "{{\"apiVersion\":\"credentialprovider.kubelet.k8s.io/v1\",\"kind\":\"CredentialProviderResponse\",\"cacheKeyType\":\"Registry\",\"cacheDuration\":\"0s\",\"auth\":{{\"{HOST}\":{{\"username\":\"AWS\",\"password\":\"pw\"}}}}}}\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
}

#[test]
fn a_token_with_the_annotation_asks_as_the_pod() {
    let body = v1(&format!(
        r#","serviceAccountToken":"{JWT}","serviceAccountAnnotations":{{"eks.amazonaws.com/ecr-role-arn":"{ROLE}","other":"x"}}"#
    ));
    let (calls, out) = serve(&body);
    assert_eq!(
        calls,
        [format!(
            "get_as {HOST} {ROLE} ecr-credential-provider {JWT}"
        )]
    );
    assert_eq!(out.code, 0);
    // The same response as for the node: the kubelet adds the service account to its key.
    assert_eq!(out.stdout, serve(&v1("")).1.stdout);
}

#[test]
fn no_token_or_no_role_is_the_node() {
    let node = vec![format!("get {HOST}")];
    for extra in [
        String::new(),
        r#","serviceAccountToken":null,"serviceAccountAnnotations":null"#.into(),
        r#","serviceAccountToken":"","serviceAccountAnnotations":{"eks.amazonaws.com/ecr-role-arn":"arn:aws:iam::111111111111:role/pull"}"#.into(),
        format!(r#","serviceAccountToken":"{JWT}""#),
        format!(
            r#","serviceAccountToken":"{JWT}","serviceAccountAnnotations":{{"eks.amazonaws.com/ecr-role-arn":""}}"#
        ),
    ] {
        let (calls, out) = serve(&v1(&extra));
        assert_eq!((calls, out.code), (node.clone(), 0), "{extra}");
    }
}

#[test]
fn older_versions_ignore_the_token() {
    let body = format!(
        r#"{{"apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","kind":"CredentialProviderRequest","image":"{HOST}","serviceAccountToken":"{JWT}","serviceAccountAnnotations":{{"eks.amazonaws.com/ecr-role-arn":"{ROLE}"}}}}"#
    );
    let (calls, out) = serve(&body);
    assert_eq!((calls, out.code), (vec![format!("get {HOST}")], 0));
}

#[test]
fn bad_pod_values_fail_with_exit_1_and_no_call() {
    let annotated = |role: &str, token: &str| {
        v1(&format!(
            r#","serviceAccountToken":"{token}","serviceAccountAnnotations":{{"eks.amazonaws.com/ecr-role-arn":"{role}"}}"#
        ))
    };
    let role_err = "ecr-credential-provider: the role ARN from the service account's annotation is not an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)\n";
    let token_err =
        "ecr-credential-provider: serviceAccountToken is not a JWT (three base64url parts)\n";
    for (body, err) in [
        (annotated("pull", JWT), role_err),
        (annotated("arn:aws:iam::1111:role/pull", JWT), role_err),
        (
            annotated("arn:aws:iam::111111111111:user/pull", JWT),
            role_err,
        ),
        (
            annotated("arn:aws:sts::111111111111:role/pull", JWT),
            role_err,
        ),
        (annotated("arn:aws:iam::111111111111:role/", JWT), role_err),
        (
            annotated("arn:aws:iam::111111111111:role/a b", JWT),
            role_err,
        ),
        (annotated(ROLE, "not-a-jwt"), token_err),
        (annotated(ROLE, "a.b"), token_err),
        (annotated(ROLE, "a..c"), token_err),
        (annotated(ROLE, "a.b c.d"), token_err),
    ] {
        let (calls, out) = serve(&body);
        assert_eq!(calls, Vec::<String>::new(), "{body}");
        assert_eq!(out.code, 1, "{body}");
        assert!(out.stdout.is_empty());
        assert_eq!(String::from_utf8_lossy(&out.stderr), err, "{body}");
    }
    // Wrong JSON types, as the kubelet's decoder would refuse them.
    for extra in [
        r#","serviceAccountToken":5"#,
        r#","serviceAccountAnnotations":["x"]"#,
        r#","serviceAccountAnnotations":{"eks.amazonaws.com/ecr-role-arn":1}"#,
    ] {
        let (calls, out) = serve(&v1(extra));
        assert_eq!((calls.len(), out.code), (0, 1), "{extra}");
    }
}

#[test]
fn the_default_role_applies_without_the_annotation_key() {
    let token = || Some(JWT.to_owned());
    let none = BTreeMap::new();
    let pod = pod::select(token(), &none, Some(ROLE.into()))
        .unwrap()
        .unwrap();
    assert_eq!(pod.role_arn, ROLE);
    assert_eq!(pod.session_name, "ecr-credential-provider");
    let empty: BTreeMap<String, String> = [(pod::ROLE_ANNOTATION.to_owned(), String::new())].into();
    assert!(pod::select(token(), &empty, Some(ROLE.into()))
        .unwrap()
        .is_none());
    assert_eq!(
        pod::select(token(), &none, Some("nope".into())).unwrap_err(),
        pod::PodError::RoleArn("AWS_ECR_ROLE_ARN")
    );
    assert!(pod::select(token(), &none, Some(String::new()))
        .unwrap()
        .is_none());
    let gov = "arn:aws-us-gov:iam::111111111111:role/path/to/pull";
    assert!(pod::select(token(), &none, Some(gov.into()))
        .unwrap()
        .is_some());
}
