//! Exact texts of the local checks that need no files.

use super::*;
use crate::helper::identity::Undetermined;
use crate::helper::routes::Routes;

#[test]
fn masks_keep_the_last_four_characters() {
    assert_eq!(mask("AKIAIOSFODNN7EXAMPLE"), "…MPLE");
    assert_eq!(mask("AB"), "…AB");
}

#[test]
fn identities_are_named_without_secrets() {
    let key = Identity::StaticKey {
        akid: "AKIAIOSFODNN7EXAMPLE".to_owned(),
    };
    assert_eq!(describe(&key), "static keys …MPLE");
    let role = Identity::AssumeRole {
        profile: "p".to_owned(),
        role_arn: "arn:aws:iam::1:role/r".to_owned(),
        external_id: None,
        session_name: None,
        duration_seconds: None,
        source: Box::new(key),
    };
    assert_eq!(
        describe(&role),
        "role arn:aws:iam::1:role/r assumed with static keys …MPLE"
    );
    let container = Identity::Container {
        endpoint: "http://u:pw@169.254.170.2/v2?t=x".to_owned(),
        auth_sha256: None,
    };
    assert!(!describe(&container).contains("pw"));
    assert_eq!(
        describe(&Identity::Unknown(Undetermined::ImdsDisabled)),
        "not known locally (the instance metadata service is disabled)"
    );
}

#[test]
fn hostnames() {
    let (c, r) = check_host(
        "https://123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/v2/",
        &Routes::default(),
    );
    assert_eq!(
        (c.status, c.detail.as_str()),
        (
            super::super::report::Status::Ok,
            "ECR, account 123456789012, region us-gov-west-1, FIPS"
        )
    );
    assert!(r.is_some());
    let (c, _) = check_host("ecr-public.aws.com", &Routes::default());
    assert_eq!(
        c.detail,
        "ECR Public (ecr-public.aws.com), region us-east-1"
    );
    let (c, r) = check_host("docker.io", &Routes::default());
    assert_eq!(
        (c.detail.as_str(), r),
        ("docker.io is not an ECR registry", None)
    );
}
