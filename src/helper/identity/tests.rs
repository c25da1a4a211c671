use super::sources::{sso_cache_path, sso_session_section};
use super::*;
use std::path::Path;

mod roles;

/// A home with `.aws/config` and `.aws/credentials`.
struct Home(tempfile::TempDir);

impl Home {
    fn new(config: &str, credentials: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".aws/sso/cache")).unwrap();
        std::fs::write(dir.path().join(".aws/config"), config).unwrap();
        std::fs::write(dir.path().join(".aws/credentials"), credentials).unwrap();
        Home(dir)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn inputs(&self, profile: &str) -> Inputs {
        Inputs {
            profile: profile.into(),
            home: Some(self.0.path().into()),
            ..Inputs::default()
        }
    }

    fn resolve_with(&self, inputs: &Inputs) -> Identity {
        let files = SharedFiles::read(&self.path(".aws/config"), &self.path(".aws/credentials"));
        resolve(inputs, &files)
    }

    fn resolve(&self, profile: &str) -> Identity {
        self.resolve_with(&self.inputs(profile))
    }
}

fn key(id: &Identity) -> String {
    id.key_part().unwrap()
}

/// A JWT (unsigned) with these claims.
fn jwt(claims: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(claims))
}

use base64::Engine;

#[test]
fn env_keys_keep_gos_key() {
    let home = Home::new("", "");
    let mut inputs = home.inputs("default");
    inputs.env_akid = Some("accessKey".into());
    let id = home.resolve_with(&inputs);
    assert_eq!(
        id,
        Identity::StaticKey {
            akid: "accessKey".into()
        }
    );
    assert_eq!(key(&id), "xOV45/s/9aT8cbO8tDicjEV1KKkfpLdKrQs0ipPGgGc=");
    assert_eq!(id.valid_until(), None);
    inputs.env_akid = None;
    inputs.env.any_env_key = true;
    assert!(matches!(
        home.resolve_with(&inputs),
        Identity::Unknown(Undetermined::PartialEnvKeys)
    ));
}

#[test]
fn no_profile_falls_through_to_instance_metadata() {
    let home = Home::new("[profile other]\nregion=eu-west-1\n", "");
    let place = |id: Identity| match id {
        Identity::Instance { place } => place,
        other => panic!("{other:?}"),
    };
    let here = place(home.resolve("default"));
    assert_eq!(here.len(), 64);
    assert_eq!(place(home.resolve("missing")), here);
    assert_eq!(place(home.resolve("other")), here);
    assert_eq!(
        home.resolve("default").key_part(),
        None,
        "keyed by the memo"
    );
    // Other IMDS settings are another place.
    let mut inputs = home.inputs("default");
    inputs.env.imds_settings[0] = Some("http://127.0.0.9/".into());
    assert_ne!(place(home.resolve_with(&inputs)), here);
    let home = Home::new("[default]\nec2_metadata_service_endpoint_mode = IPv6\n", "");
    assert_ne!(place(home.resolve("default")), here);
    let mut inputs = home.inputs("default");
    inputs.env.imds_disabled = true;
    assert!(matches!(home.resolve_with(&inputs), Identity::Unknown(_)));
}

#[test]
fn web_identity_profile_hashes_the_token_and_bounds_by_exp() {
    let home = Home::new("", "");
    let past = jwt(r#"{"sub":"job","exp":1000}"#);
    let token = home.write("token", &format!("{past}\n"));
    let config = format!(
        "[profile w]\nrole_arn=arn:aws:iam::1:role/W\nweb_identity_token_file={}\n",
        token.display()
    );
    home.write(".aws/config", &config);
    let id = home.resolve("w");
    let Identity::WebIdentity {
        token_sha256,
        expires,
        ..
    } = &id
    else {
        panic!("not web identity: {id:?}");
    };
    assert_eq!(token_sha256, &hex_sha256(past.as_bytes()));
    assert_eq!(*expires, Some(GoTime::from_unix_secs(1000)));
    assert!(!id.usable_at(GoTime::now()));
    assert!(!key(&id).contains(&past) && !format!("{id:?}").contains(&past));
    let k1 = key(&id);
    home.write("token", &jwt(r#"{"sub":"job2","exp":99999999999}"#));
    let id2 = home.resolve("w");
    assert_ne!(k1, key(&id2), "a new job's token gives a new key");
    assert!(id2.usable_at(GoTime::now()));
    std::fs::remove_file(&token).unwrap();
    assert!(matches!(
        home.resolve("w"),
        Identity::Unknown(Undetermined::TokenFile(_))
    ));
}

#[test]
fn env_web_identity_from_a_file_or_a_variable() {
    let home = Home::new("", "");
    let token = jwt(r#"{"exp":99999999999}"#);
    let file = home.write("t", &format!("{token}\n"));
    let mut inputs = home.inputs("default");
    inputs.env.role_arn = Some("arn:aws:iam::1:role/Ci".into());
    inputs.env.web_identity_token_file = Some(file);
    let from_file = home.resolve_with(&inputs);
    assert!(matches!(
        from_file,
        Identity::WebIdentity {
            expires: Some(_),
            ..
        }
    ));
    assert!(inputs.env.web_identity_token().is_none());
    inputs.env.web_identity_token_file = None;
    inputs.env.token_var = Some("GITLAB_OIDC_TOKEN".into());
    assert!(matches!(
        home.resolve_with(&inputs),
        Identity::Unknown(Undetermined::TokenVarEmpty)
    ));
    inputs.env.token = Some(Secret::new(token.clone()));
    assert_eq!(inputs.env.web_identity_token().unwrap().expose(), &token);
    assert_eq!(
        key(&home.resolve_with(&inputs)),
        key(&from_file),
        "hashed alike"
    );
    inputs.env.token = Some(Secret::new(jwt(r#"{"exp":99999999999,"j":2}"#)));
    assert_ne!(key(&home.resolve_with(&inputs)), key(&from_file));
    // A profile with credentials comes first (the SDK's order).
    home.write(
        ".aws/config",
        "[default]\naws_access_key_id=AKID\naws_secret_access_key=s\n",
    );
    assert!(matches!(
        home.resolve_with(&inputs),
        Identity::StaticKey { .. }
    ));
}

#[test]
fn a_pods_role_is_the_environments_web_identity() {
    let home = Home::new("", "");
    let token = jwt(r#"{"exp":99999999999}"#);
    let mut inputs = home.inputs("default");
    inputs.env.role_arn = Some("arn:aws:iam::111111111111:role/pull".into());
    inputs.env.role_session_name = Some("ecr-credential-provider".into());
    inputs.env.token_var = Some("T".into());
    inputs.env.token = Some(Secret::new(token.clone()));
    let pod = federated(
        "arn:aws:iam::111111111111:role/pull",
        "ecr-credential-provider",
        &Secret::new(token),
    );
    assert_eq!(pod, home.resolve_with(&inputs));
    assert_eq!(
        pod.valid_until(),
        Some(GoTime::from_unix_secs(99_999_999_999))
    );
}

#[test]
fn sso_sessions_and_legacy_profiles() {
    let config = "[profile s]\nsso_session=corp\nsso_account_id=111\nsso_role_name=Dev\n\
        [sso-session corp]\nsso_start_url=https://corp.awsapps.com/start\nsso_region=eu-west-1\n\
        [profile l]\nsso_start_url=https://old.awsapps.com/start\nsso_region=us-east-1\n\
        sso_account_id=111\nsso_role_name=Dev\n\
        [profile bad]\nsso_session=nope\nsso_account_id=1\nsso_role_name=R\n";
    let home = Home::new(config, "");
    let cache = |id: &str, expires: &str| {
        let p = sso_cache_path(home.0.path(), id);
        std::fs::write(
            p,
            format!(r#"{{"accessToken":"x","expiresAt":"{expires}"}}"#),
        )
        .unwrap();
    };
    let s = home.resolve("s");
    assert!(
        matches!(&s, Identity::Sso { session: Some(n), start_url, .. }
        if n == "corp" && start_url == "https://corp.awsapps.com/start")
    );
    assert_eq!(s.valid_until(), Some(GoTime::ZERO), "no cached SSO token");
    cache("corp", "2999-01-01T00:00:00Z");
    let s = home.resolve("s");
    assert!(s.usable_at(GoTime::now()));
    cache("corp", "2001-01-01T00:00:00Z");
    assert!(!home.resolve("s").usable_at(GoTime::now()));
    cache("https://old.awsapps.com/start", "2999-01-01T00:00:00Z");
    let l = home.resolve("l");
    assert!(l.usable_at(GoTime::now()));
    assert_ne!(key(&s), key(&l));
    assert!(matches!(home.resolve("bad"), Identity::Unknown(_)));
}

#[test]
fn sso_cache_file_names_match_aws_config() {
    let p = sso_cache_path(Path::new("/home/someuser"), "dev-scopes");
    assert_eq!(
        p,
        Path::new("/home/someuser/.aws/sso/cache/75e4d41276d8bd17f85986fc6cccef29fd725ce3.json")
    );
    let p = sso_cache_path(
        Path::new("/home/me"),
        "https://d-92671207e4.awsapps.com/start",
    );
    assert!(p.ends_with("13f9d35043871d073ab260e020f0ffde092cb14b.json"));
}

#[test]
fn sso_session_sections() {
    let text = "[sso-session a]\nsso_start_url = https://a # c\n[sso-sessionb]\nsso_region=x\n\
        [profile a]\nsso_region=y\n[ sso-session  a ]\nsso_region=z\n";
    let a = sso_session_section(text, "a");
    assert_eq!(a["sso_start_url"], "https://a");
    assert_eq!(a["sso_region"], "z");
    assert!(sso_session_section(text, "b").is_empty());
}

#[test]
fn container_endpoint_and_token() {
    let home = Home::new("", "");
    let mut inputs = home.inputs("default");
    inputs.env.container_relative_uri = Some("/v2/credentials/abc".into());
    let ecs = home.resolve_with(&inputs);
    assert_eq!(
        ecs,
        Identity::Container {
            endpoint: "http://169.254.170.2/v2/credentials/abc".into(),
            auth_sha256: None
        }
    );
    inputs.env.container_relative_uri = None;
    inputs.env.container_full_uri = Some("http://169.254.170.23/v1/credentials".into());
    inputs.env.container_token = Some(Secret::new("one".into()));
    let one = key(&home.resolve_with(&inputs));
    inputs.env.container_token_file = Some(home.write("pod-token", "two\n"));
    let two = key(&home.resolve_with(&inputs));
    assert_ne!(
        one, two,
        "the file wins and another token gives another key"
    );
    inputs.env.container_token_file = Some(home.path("missing"));
    assert!(matches!(home.resolve_with(&inputs), Identity::Unknown(_)));
}

#[test]
fn jwt_expiry_reads_exp_only() {
    assert_eq!(
        jwt_expiry(jwt(r#"{"exp":5}"#).as_bytes()),
        Some(GoTime::from_unix_secs(5))
    );
    assert_eq!(
        jwt_expiry(jwt(r#"{"exp":5.9}"#).as_bytes()),
        Some(GoTime::from_unix_secs(5))
    );
    assert_eq!(jwt_expiry(jwt(r#"{"sub":"x"}"#).as_bytes()), None);
    assert_eq!(jwt_expiry(b"opaque-token"), None);
    assert_eq!(jwt_expiry(b"a.!!!.c"), None);
}

#[test]
fn refused_files_are_undetermined() {
    let home = Home::new("", "");
    let files = SharedFiles::read(home.0.path(), &home.path(".aws/credentials"));
    assert!(matches!(
        resolve(&home.inputs("default"), &files),
        Identity::Unknown(Undetermined::FilesRefused)
    ));
}
