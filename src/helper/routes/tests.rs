use super::*;
use std::path::PathBuf;

const PATH: &str = "/etc/ecr.ini";
const A: &str = "111122223333.dkr.ecr.us-east-1.amazonaws.com";

fn parsed(text: &str) -> Routes {
    let mut routes = parse::parse(text, Path::new(PATH));
    routes.check_duplicates();
    routes
}

fn at(line: usize) -> Origin {
    format!("{PATH}:{line}")
}

fn messages(routes: &Routes) -> Vec<String> {
    routes.problems.iter().map(ToString::to_string).collect()
}

fn role(arn: &str) -> RoleSpec {
    RoleSpec {
        role_arn: arn.to_owned(),
        external_id: None,
        session_name: None,
        duration_seconds: None,
    }
}

const EXAMPLE: &str = "\
# two accounts
[registry 111122223333.dkr.ecr.us-east-1.amazonaws.com]
profile = prod   # inline comment
role_arn = arn:aws:iam::111122223333:role/pull
external_id = ext
role_session_name = ci@runner
duration_seconds = 3600

[registry *.dkr.ecr.eu-west-1.amazonaws.com]
profile = europe

[Account 444455556666]
role_arn = arn:aws:iam::444455556666:role/pull

[region ap-south-1]
profile = asia

[alias Registry.Example.com]
registry = 111122223333.dkr.ecr.us-east-1.amazonaws.com

[alias public.example.com]
registry = public.ecr.aws
profile = public

[alias mirror.example.com]
account = 444455556666
region = eu-central-1
";

#[test]
fn the_example_parses_with_lines() {
    let r = parsed(EXAMPLE);
    assert_eq!(messages(&r), Vec::<String>::new());
    assert_eq!(r.rules.len(), 4);
    assert_eq!(
        r.rules[0],
        Rule {
            scope: Scope::Host(A.to_owned()),
            identity: Identity {
                profile: Some("prod".to_owned()),
                role: Some(RoleSpec {
                    external_id: Some("ext".to_owned()),
                    session_name: Some("ci@runner".to_owned()),
                    duration_seconds: Some(3600),
                    ..role("arn:aws:iam::111122223333:role/pull")
                }),
            },
            origin: at(2),
            broken: false,
        }
    );
    assert_eq!(
        r.rules[1].scope,
        Scope::Pattern("*.dkr.ecr.eu-west-1.amazonaws.com".to_owned())
    );
    assert_eq!(r.rules[2].scope, Scope::Account("444455556666".to_owned()));
    assert_eq!(r.rules[3].origin, at(15));
    let names: Vec<&str> = r.aliases.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "registry.example.com",
            "public.example.com",
            "mirror.example.com"
        ]
    );
    assert_eq!(
        r.aliases[2].target,
        Some((
            Registry::Private {
                account: "444455556666".to_owned(),
                region: "eu-central-1".to_owned(),
                fips: false,
            },
            "444455556666.dkr.ecr.eu-central-1.amazonaws.com".to_owned()
        ))
    );
}

fn resolved(r: &Routes, url: &str) -> (Option<String>, Option<String>, Option<String>) {
    let t = r.resolve(url).unwrap().unwrap();
    let (profile, arn) = t.identity.map_or((None, None), |(id, _)| {
        (id.profile, id.role.map(|r| r.role_arn))
    });
    (t.alias, profile, arn)
}

#[test]
fn the_most_specific_rule_wins() {
    let r = parsed(EXAMPLE);
    let s = |v: &str| Some(v.to_owned());
    let prod = (None, s("prod"), s("arn:aws:iam::111122223333:role/pull"));
    assert_eq!(resolved(&r, A), prod);
    assert_eq!(resolved(&r, &format!("https://{A}/v2/x")), prod);
    let europe = "111122223333.dkr.ecr.eu-west-1.amazonaws.com";
    assert_eq!(resolved(&r, europe), (None, s("europe"), None));
    let account = "444455556666.dkr.ecr.us-west-2.amazonaws.com";
    let pull = s("arn:aws:iam::444455556666:role/pull");
    assert_eq!(resolved(&r, account), (None, None, pull.clone()));
    // A pattern is more specific than an account.
    let both = "444455556666.dkr.ecr.eu-west-1.amazonaws.com";
    assert_eq!(resolved(&r, both), (None, s("europe"), None));
    let asia = "999999999999.dkr.ecr.ap-south-1.amazonaws.com";
    assert_eq!(resolved(&r, asia), (None, s("asia"), None));
    let plain = "999999999999.dkr.ecr.us-east-2.amazonaws.com";
    assert_eq!(resolved(&r, plain), (None, None, None));
    assert_eq!(resolved(&r, "public.ecr.aws"), (None, None, None));
    assert_eq!(r.resolve("index.docker.io"), Ok(None));
}

#[test]
fn aliases_give_their_registry_and_identity() {
    let r = parsed(EXAMPLE);
    let s = |v: &str| Some(v.to_owned());
    let t = r
        .resolve("https://REGISTRY.example.com:443/v2/")
        .unwrap()
        .unwrap();
    assert_eq!(t.registry, registry::parse_host(A).unwrap());
    assert_eq!(t.alias, s("registry.example.com"));
    assert_eq!(t.identity.unwrap().1, at(2), "the target's rule");
    let t = r.resolve("public.example.com").unwrap().unwrap();
    assert_eq!(t.registry, registry::parse_host("public.ecr.aws").unwrap());
    assert_eq!(
        t.identity.unwrap(),
        (
            Identity {
                profile: s("public"),
                role: None
            },
            at(21)
        )
    );
    let (_, profile, arn) = resolved(&r, "mirror.example.com");
    assert_eq!(
        (profile, arn),
        (None, s("arn:aws:iam::444455556666:role/pull"))
    );
    assert!(r.answers("mirror.example.com") && r.answers(A) && r.answers("public.ecr.aws"));
    assert!(!r.answers("other.example.com") && !r.answers("index.docker.io"));
}

#[test]
fn list_names_hosts_aliases_and_accounts_in_the_region() {
    let r = parsed(EXAMPLE);
    let want = [
        format!("https://{A}"),
        "https://registry.example.com".to_owned(),
        "https://public.example.com".to_owned(),
        "https://mirror.example.com".to_owned(),
    ];
    assert_eq!(r.listed(None), want);
    let listed = r.listed(Some("eu-west-1"));
    assert_eq!(
        listed[1],
        "https://444455556666.dkr.ecr.eu-west-1.amazonaws.com"
    );
}

#[test]
fn every_problem_names_its_line() {
    let text = "\
key = outside
[registry example.com]
profile = p
[registry *.example.com]
profile = p
[account 12345]
role_arn = nope
duration_seconds = 60
[region eu-west-1]
rolearn = arn:aws:iam::1:role/r
[alias 111122223333.dkr.ecr.us-east-1.amazonaws.com]
registry = public.ecr.aws
[alias mirror.example.com]
region = us-east-1
[bucket x]
[registry]
junk line
[region eu-west-1]
external_id = x
profile = a
profile = b
[broken
";
    let r = parsed(text);
    let want = [
        "/etc/ecr.ini:1: a key outside any section (start with [registry HOST], [account ID], [region NAME] or [alias NAME])",
        "/etc/ecr.ini:2: not an ECR registry host (for another name use [alias NAME])",
        "/etc/ecr.ini:4: the pattern matches no ECR registry",
        "/etc/ecr.ini:6: role_arn is not an ARN (arn:...)",
        "/etc/ecr.ini:6: duration_seconds must be a number from 900 to 43200",
        "/etc/ecr.ini:6: not a 12-digit account id",
        "/etc/ecr.ini:10: unknown key `rolearn` in a [region] section",
        "/etc/ecr.ini:9: names neither `profile` nor `role_arn`",
        "/etc/ecr.ini:11: the alias is an ECR host already; an alias needs another name",
        "/etc/ecr.ini:13: an alias needs `registry = HOST`, or `account` and `region`",
        "/etc/ecr.ini:15: not `[kind name]` with a kind of registry, account, region or alias",
        "/etc/ecr.ini:16: not `[kind name]` with a kind of registry, account, region or alias",
        "/etc/ecr.ini:17: not `key = value`",
        "/etc/ecr.ini:21: this key is set twice in the section",
        "/etc/ecr.ini:18: external_id, role_session_name or duration_seconds without role_arn",
        "/etc/ecr.ini:22: a section header without `]`",
        "/etc/ecr.ini:18: configured again (first at /etc/ecr.ini:9)",
    ];
    assert_eq!(messages(&r), want);
    assert!(r.rules.iter().all(|rule| rule.broken));
    assert!(r.aliases.iter().all(|a| a.broken));
}

#[test]
fn broken_or_ambiguous_rules_refuse_the_registry() {
    let r = parsed("[account 111122223333]\nrole_arn = x\n");
    let err = r.resolve(A).unwrap_err();
    assert_eq!(err.to_string(), "/etc/ecr.ini:1: this section has errors");
    // Another account's registry is served by the default chain as usual.
    assert_eq!(
        resolved(&r, "222222222222.dkr.ecr.us-east-1.amazonaws.com").1,
        None
    );
    let r = parsed(
        "[registry *.us-east-1.amazonaws.com]\nprofile = a\n[registry 111122223333.*]\nprofile = b\n",
    );
    assert_eq!(
        r.resolve(A).unwrap_err().to_string(),
        format!("/etc/ecr.ini:1: {A} is matched by this rule and by /etc/ecr.ini:3")
    );
    let overlaps: Vec<String> = pattern::overlaps(&r.rules)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        overlaps,
        ["/etc/ecr.ini:1: this pattern and the one at /etc/ecr.ini:3 both match 111122223333.dkr.ecr.us-east-1.amazonaws.com"]
    );
    let r = parsed("[alias x.example.com]\nregistry = example.com\n");
    assert_eq!(
        r.resolve("x.example.com").unwrap_err().to_string(),
        "/etc/ecr.ini:1: this alias has errors"
    );
    assert!(!r.answers("x.example.com"));
    let r = parsed("[alias x.example.com]\nregistry = public.ecr.aws\n[alias X.example.com]\nregistry = public.ecr.aws\n");
    assert_eq!(
        r.resolve("x.example.com").unwrap_err().to_string(),
        "/etc/ecr.ini:1: this alias is defined twice"
    );
    // Two sections for one account: both match, so the account's registries are refused.
    let mut r = parse::parse(
        "[account 111122223333]\nprofile = a\n[account 111122223333]\nprofile = b\n",
        Path::new(PATH),
    );
    assert_eq!(
        r.resolve(A).unwrap_err().to_string(),
        format!("/etc/ecr.ini:1: {A} is matched by this rule and by /etc/ecr.ini:3")
    );
    r.check_duplicates();
    assert_eq!(
        messages(&r),
        ["/etc/ecr.ini:3: configured again (first at /etc/ecr.ini:1)"]
    );
}

#[test]
fn patterns() {
    assert!(pattern::matches("*.dkr.ecr.*.amazonaws.com", A));
    assert!(pattern::matches("*", "x"));
    assert!(pattern::matches("a*b*c", "abc"));
    assert!(!pattern::matches("a*b", "ba"));
    assert!(!pattern::matches("*.amazonaws.com", "amazonaws.com"));
    assert_eq!(pattern::witnesses("public.ecr.*"), ["public.ecr.aws"]);
    assert!(pattern::witnesses("*.dkr.ecr.*.amazonaws.com.cn").len() > 1);
    assert!(pattern::witnesses("*.example.com").is_empty());
}

fn cfg_with(file: Option<PathBuf>, from_env: bool, vars: &[(&str, &str)]) -> Config {
    let mut cfg = Config::from_env();
    cfg.ecr_config_file = file;
    cfg.ecr_config_from_env = from_env;
    cfg.config_file = PathBuf::from("/dev/null");
    cfg.credentials_file = PathBuf::from("/dev/null");
    cfg.account_vars = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    cfg
}

#[test]
fn environment_shortcuts_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("config");
    let cfg = cfg_with(Some(missing.clone()), false, &[]);
    assert!(Routes::load(&cfg).is_empty() && problems(&cfg).is_empty());
    let cfg = cfg_with(Some(missing.clone()), true, &[]);
    let routes = Routes::load(&cfg);
    assert!(routes.unusable.is_some());
    assert!(routes.resolve(A).is_err());
    let vars = [
        ("AWS_PROFILE_111122223333", "prod"),
        (
            "AWS_ROLE_ARN_111122223333",
            "arn:aws:iam::111122223333:role/pull",
        ),
        ("AWS_ROLE_ARN_444455556666", "pull"),
    ];
    let cfg = cfg_with(Some(missing.clone()), false, &vars);
    let r = Routes::load(&cfg);
    let s = |v: &str| Some(v.to_owned());
    let prod = (None, s("prod"), s("arn:aws:iam::111122223333:role/pull"));
    assert_eq!(resolved(&r, A), prod);
    assert_eq!(
        problems(&cfg).iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "environment variable AWS_ROLE_ARN_444455556666: AWS_ROLE_ARN_<account> is not an ARN (arn:...)",
            "environment variable AWS_PROFILE_111122223333, AWS_ROLE_ARN_111122223333: profile prod is in neither /dev/null nor /dev/null"
        ]
    );
    std::fs::write(&missing, "[account 111122223333]\nprofile = other\n").unwrap();
    let problems = problems(&cfg_with(Some(missing.clone()), false, &vars));
    assert!(
        problems.iter().any(|p| p.to_string() == format!("environment variable AWS_PROFILE_111122223333, AWS_ROLE_ARN_111122223333: configured again (first at {}:1)", missing.display())),
        "{problems:?}"
    );
    std::fs::write(&missing, b"\xff\xfe").unwrap();
    let r = Routes::load(&cfg_with(Some(missing), false, &[]));
    assert!(r
        .unusable
        .unwrap()
        .to_string()
        .ends_with("config: not UTF-8 text"));
}

#[test]
fn doctor_names_profiles_the_shared_files_lack() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ecr");
    std::fs::write(&file, "[account 111122223333]\nprofile = prod\n[alias r.example.com]\nregistry = public.ecr.aws\nprofile = nope\n").unwrap();
    let mut cfg = cfg_with(Some(file.clone()), true, &[]);
    cfg.config_file = dir.path().join("config");
    cfg.credentials_file = dir.path().join("credentials");
    std::fs::write(&cfg.credentials_file, "[prod]\naws_access_key_id = A\n").unwrap();
    let got: Vec<String> = problems(&cfg).iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [format!(
            "{}:3: profile nope is in neither {} nor {}",
            file.display(),
            cfg.config_file.display(),
            cfg.credentials_file.display()
        )]
    );
}
