//! Role chains, credential sources and the roles the factory assumes.

use super::*;

#[test]
fn role_chains_recurse_and_source_static_keys_win() {
    let config = "[profile a]\nrole_arn=arn:aws:iam::1:role/A\nsource_profile=b\nexternal_id=x\n\
        [profile b]\nrole_arn=arn:aws:iam::1:role/B\nsource_profile=c\n\
        [profile c]\naws_access_key_id=AKIDC\naws_secret_access_key=s\n\
        [profile d]\nrole_arn=arn:aws:iam::1:role/D\nsource_profile=e\n\
        [profile e]\nrole_arn=arn:aws:iam::1:role/E\nsource_profile=c\n";
    let home = Home::new(
        config,
        "[e]\naws_access_key_id=AKIDE\naws_secret_access_key=s\n",
    );
    let Identity::AssumeRole {
        role_arn,
        external_id,
        source,
        ..
    } = home.resolve("a")
    else {
        panic!("not a role");
    };
    assert_eq!(
        (role_arn.as_str(), external_id.as_deref()),
        ("arn:aws:iam::1:role/A", Some("x"))
    );
    let Identity::AssumeRole {
        role_arn, source, ..
    } = *source
    else {
        panic!("not a role chain");
    };
    assert_eq!(role_arn, "arn:aws:iam::1:role/B");
    assert_eq!(
        *source,
        Identity::StaticKey {
            akid: "AKIDC".into()
        }
    );
    // e has static keys: as a source they win over its role_arn.
    let Identity::AssumeRole { source, .. } = home.resolve("d") else {
        panic!("not a role");
    };
    assert_eq!(
        *source,
        Identity::StaticKey {
            akid: "AKIDE".into()
        }
    );
    // e selected: its role is assumed.
    assert!(matches!(home.resolve("e"), Identity::AssumeRole { .. }));
}

#[test]
fn keys_differ_by_role_profile_and_source() {
    let base = "[profile s]\naws_access_key_id=AKID\naws_secret_access_key=s\n";
    let role = |arn: &str| format!("{base}[profile r]\nrole_arn={arn}\nsource_profile=s\n");
    let one = Home::new(&role("arn:aws:iam::1:role/One"), "");
    let two = Home::new(&role("arn:aws:iam::1:role/Two"), "");
    let k1 = key(&one.resolve("r"));
    assert_eq!(k1, key(&one.resolve("r")), "same inputs, same key");
    assert_ne!(k1, key(&two.resolve("r")), "role_arn changed");
    assert!(k1.starts_with("id1.") && k1.len() == 68);
    assert!(k1[4..]
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    let copy = format!(
        "{}[profile q]\nrole_arn=arn:aws:iam::1:role/One\nsource_profile=s\n",
        role("arn:aws:iam::1:role/One")
    );
    let home = Home::new(&copy, "");
    assert_ne!(
        key(&home.resolve("r")),
        key(&home.resolve("q")),
        "two profiles"
    );
    let other_source = Home::new(
        &role("arn:aws:iam::1:role/One").replace("=AKID\n", "=AKID2\n"),
        "",
    );
    assert_ne!(k1, key(&other_source.resolve("r")), "another source");
    let session = Home::new(
        &format!("{}role_session_name=x\n", role("arn:aws:iam::1:role/One")),
        "",
    );
    assert_ne!(k1, key(&session.resolve("r")), "a session name");
}

#[test]
fn credential_sources_and_processes() {
    let config = "[profile ecs]\nrole_arn=arn:aws:iam::1:role/X\ncredential_source=EcsContainer\n\
        [profile ec2]\nrole_arn=arn:aws:iam::1:role/X\ncredential_source=Ec2InstanceMetadata\n\
        [profile env]\nrole_arn=arn:aws:iam::1:role/X\ncredential_source=Environment\n\
        [profile p]\ncredential_process=/bin/creds --user a\naws_access_key_id=A\naws_secret_access_key=s\n\
        [profile q]\ncredential_process=/bin/creds --user b\n";
    let home = Home::new(config, "");
    assert!(
        matches!(home.resolve("ecs"), Identity::Unknown(_)),
        "no container configured"
    );
    let ec2 = home.resolve("ec2");
    let Identity::AssumeRole { source, .. } = &ec2 else {
        panic!("not a role");
    };
    assert!(matches!(**source, Identity::Instance { .. }));
    assert!(
        key(&ec2).starts_with("id1."),
        "a role from instance metadata has a key"
    );
    assert!(matches!(home.resolve("env"), Identity::Unknown(_)));
    let p = home.resolve("p");
    assert!(
        matches!(p, Identity::Process { .. }),
        "the process comes before static keys"
    );
    assert_ne!(key(&p), key(&home.resolve("q")));
}

#[test]
fn roles_the_factory_assumes_take_their_source_from_a_new_chain() {
    let config = "[profile r]\nrole_arn=arn:aws:iam::1:role/R\nsource_profile=t\n\
        [profile d]\nrole_arn=arn:aws:iam::1:role/R\nsource_profile=t\nduration_seconds=7200\n\
        [profile t]\nrole_arn=arn:aws:iam::1:role/T\nsource_profile=c\n\
        aws_access_key_id=T\naws_secret_access_key=k\n\
        [profile c]\naws_access_key_id=C\naws_secret_access_key=k\n\
        [profile p]\nrole_arn=arn:aws:iam::1:role/P\nsource_profile=s\n\
        [profile s]\ncredential_process=/bin/creds\naws_access_key_id=A\naws_secret_access_key=k\n";
    let home = Home::new(config, "");
    let source = |profile: &str| match home.resolve(profile) {
        Identity::AssumeRole {
            source,
            duration_seconds,
            ..
        } => (*source, duration_seconds),
        other => panic!("not a role: {other:?}"),
    };
    // The SDK's chain: a source profile's static keys come first.
    let static_t = Identity::StaticKey { akid: "T".into() };
    assert_eq!(source("r"), (static_t, None));
    // The factory's role: the source is a new chain rooted at t, which assumes T.
    let (d, seconds) = source("d");
    assert_eq!(seconds, Some(7200));
    assert!(matches!(d, Identity::AssumeRole { ref role_arn, .. } if role_arn.ends_with("/T")));
    // The factory runs a source profile's credential_process itself, static keys or not.
    assert!(matches!(source("p").0, Identity::Process { .. }));
}
#[test]
fn loops_and_missing_sources_are_undetermined() {
    let config = "[profile a]\nrole_arn=arn:aws:iam::1:role/A\nsource_profile=b\n\
        [profile b]\nrole_arn=arn:aws:iam::1:role/B\nsource_profile=a\n\
        [profile m]\nrole_arn=arn:aws:iam::1:role/M\nsource_profile=nope\n\
        [profile n]\nrole_arn=arn:aws:iam::1:role/N\n\
        [profile h]\naws_access_key_id=A\n\
        [profile l]\nlogin_session=arn:aws:iam::1:user/x\n";
    let home = Home::new(config, "");
    for p in ["a", "m", "n", "h", "l"] {
        assert!(matches!(home.resolve(p), Identity::Unknown(_)), "{p}");
    }
}

#[test]
fn a_role_over_web_identity_is_bounded_by_the_token() {
    let home = Home::new("", "");
    let token = home.write("t", &jwt(r#"{"exp":1000}"#));
    let config = format!(
        "[profile r]\nrole_arn=arn:aws:iam::1:role/R\nsource_profile=w\n\
         [profile w]\nrole_arn=arn:aws:iam::1:role/W\nweb_identity_token_file={}\n",
        token.display()
    );
    home.write(".aws/config", &config);
    let id = home.resolve("r");
    assert!(matches!(id, Identity::AssumeRole { .. }));
    assert_eq!(id.valid_until(), Some(GoTime::from_unix_secs(1000)));
}
