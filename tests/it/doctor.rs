//! `doctor`: every check broken on purpose, one link at a time (moto for the API, the TLS test
//! server, a local instance-metadata endpoint, a missing CA bundle, an unwritable cache dir, a
//! docker config without the entry or with a `host:443` key, a server whose `Date` is off), and
//! the exact output of a healthy run. No run may print a secret.

use crate::common::{self, Env, Output, ServerOpts, TestCa};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// `env` with the helper on PATH under its name and a docker config that sends HOST here.
fn routed(mut env: Env) -> Env {
    let bin = env.dir().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(
        common::helper_bin(),
        bin.join("docker-credential-ecr-login"),
    )
    .unwrap();
    let docker = env.dir().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let config = format!("{{\n\t\"credHelpers\": {{\n\t\t\"{HOST}\": \"ecr-login\"\n\t}}\n}}");
    std::fs::write(docker.join("config.json"), config).unwrap();
    env.set("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .set("DOCKER_CONFIG", &docker);
    env
}

fn doctor(env: &Env, args: &[&str]) -> Output {
    let mut argv = vec!["doctor"];
    argv.extend_from_slice(args);
    let out = env.run(&argv, b"");
    let text = out.stdout_str();
    assert!(
        !text.contains("auth-token") && !text.contains(common::TEST_SECRET),
        "{out}"
    );
    out
}

/// The line of check `name` (the first one), with its fix line if any.
fn line(out: &Output, name: &str) -> String {
    let text = out.stdout_str();
    let lines: Vec<&str> = text.lines().collect();
    let i = lines
        .iter()
        .position(|l| {
            l.get(4..)
                .is_some_and(|l| l.starts_with(&format!("{name}:")))
                || l.get(2..)
                    .is_some_and(|l| l.starts_with(&format!("{name}:")))
        })
        .unwrap_or_else(|| panic!("no {name} line:\n{out}"));
    match lines.get(i + 1) {
        Some(fix) if fix.starts_with("    fix: ") => format!("{}\n{fix}", lines[i]),
        _ => lines[i].to_owned(),
    }
}

fn assert_line(out: &Output, name: &str, mark: &str, part: &str) {
    let l = line(out, name);
    assert!(
        l.starts_with(mark) && l.contains(part),
        "{name}: want {mark} …{part}…, got {l:?}\n{out}"
    );
}

#[test]
fn healthy_setup_exact_output() {
    let server = require_server!();
    let env = routed(Env::with_server(&server));
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 0, "{out}");
    let dir = env.dir().display().to_string();
    let text = out
        .stdout_str()
        .replace(&dir, "<dir>")
        .replace(&server.endpoint(), "<endpoint>");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for l in &mut lines {
        for cut in ["valid until ", " s from the server's Date "] {
            if let Some(i) = l.find(cut) {
                l.truncate(i + cut.len());
                l.push('…');
            }
        }
        if l.starts_with("✔ clock: ") {
            *l = "✔ clock: … s from the server's Date …".to_owned();
        }
        if l.starts_with("✔ CA bundle: ") || l.starts_with("- CA bundle: ") {
            l.truncate(l.find("; ").map_or(l.len(), |i| i + 2));
        }
    }
    let want = [
        "✔ docker config: <dir>/docker/config.json",
        "✔ PATH: <dir>/bin/docker-credential-ecr-login",
        "✔ registries configuration: none (every registry uses the default chain)",
        "- instance metadata: disabled (AWS_EC2_METADATA_DISABLED or the v1 fallback is off)",
        "✔ cache: <dir>/ecr (created 0700 on first use)",
        "✔ log: <dir>/ecr/log/ecr-login.log (level info, AWS_ECR_LOG_LEVEL)",
        "== 123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "✔ routing: <dir>/docker/config.json sends 123456789012.dkr.ecr.us-east-1.amazonaws.com to ecr-login (credHelpers)",
        "✔ hostname: ECR, account 123456789012, region us-east-1",
        "✔ credentials: static keys …MPLE (profile default), resolved to key …MPLE",
        "✔ endpoint: <endpoint>",
        "✔ TCP: connected to <endpoint-authority>",
        "- CA bundle: not needed for http://; ",
        "- TLS: not used (http:// endpoint)",
        "✔ GetAuthorizationToken: a token for https://123456789012.dkr.ecr.us-east-1.amazonaws.com, valid until …",
        "✔ clock: … s from the server's Date …",
        "all checks passed",
    ]
    .join("\n")
    .replace("<endpoint-authority>", &format!("{}:{}", server.host(), server.port()));
    assert_eq!(lines.join("\n"), want, "{out}");
}

#[test]
fn json_report_has_a_stable_shape() {
    let server = require_server!();
    let env = routed(Env::with_server(&server));
    let out = doctor(&env, &["--json", HOST]);
    assert_eq!(out.code, 0, "{out}");
    let v = out.json();
    assert_eq!(v["ok"], true);
    let checks = v["checks"].as_array().unwrap();
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "docker config",
            "PATH",
            "registries configuration",
            "instance metadata",
            "cache",
            "log",
            "routing",
            "hostname",
            "credentials",
            "endpoint",
            "TCP",
            "CA bundle",
            "TLS",
            "GetAuthorizationToken",
            "clock"
        ]
    );
    for c in checks {
        assert!(
            ["ok", "skip"].contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
        assert!(c.get("fix").is_none(), "{c}");
        let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
        assert!(
            keys.iter()
                .all(|k| ["check", "registry", "status", "detail"].contains(&k.as_str())),
            "{c}"
        );
    }
    assert_eq!(checks[6]["registry"], HOST);
    assert!(checks[0].get("registry").is_none());
}

#[test]
fn no_registry_checks_every_configured_one() {
    let server = require_server!();
    let env = routed(Env::with_server(&server));
    let out = doctor(&env, &[]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout_str().contains(&format!("== {HOST}\n")), "{out}");
    let env = Env::with_server(&server);
    let out = doctor(&env, &[]);
    assert_eq!(out.code, 1, "{out}");
    assert_line(
        &out,
        "registries",
        "✘",
        "none given and no credHelpers entry names ecr-login",
    );
}

#[test]
fn docker_config_without_the_entry() {
    let server = require_server!();
    let env = routed(Env::with_server(&server));
    std::fs::write(env.dir().join("docker/config.json"), r#"{"auths":{}}"#).unwrap();
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    assert_line(
        &out,
        "routing",
        "✘",
        &format!("fix: docker-credential-ecr-login configure {HOST}"),
    );
    assert_line(&out, "GetAuthorizationToken", "✔", "a token for");
    // Another helper named for the host, and a broken file.
    std::fs::write(
        env.dir().join("docker/config.json"),
        format!(r#"{{"credHelpers":{{"{HOST}":"other"}},"credsStore":"ecr-login"}}"#),
    )
    .unwrap();
    assert_line(
        &doctor(&env, &[HOST]),
        "routing",
        "✘",
        "to docker-credential-other\n    fix: docker-credential-ecr-login configure --force",
    );
    std::fs::write(env.dir().join("docker/config.json"), "{").unwrap();
    assert_line(
        &doctor(&env, &[HOST]),
        "docker config",
        "✘",
        "EOF while parsing",
    );
    // credsStore alone routes everything.
    std::fs::write(
        env.dir().join("docker/config.json"),
        r#"{"credsStore":"ecr-login"}"#,
    )
    .unwrap();
    assert_line(&doctor(&env, &[HOST]), "routing", "✔", "(credsStore)");
}

#[test]
fn a_host_443_key_is_flagged() {
    let server = require_server!();
    let env = routed(Env::with_server(&server));
    let config = format!(r#"{{"credHelpers":{{"{HOST}:443":"ecr-login"}}}}"#);
    std::fs::write(env.dir().join("docker/config.json"), config).unwrap();
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    let text = out.stdout_str();
    assert!(
        text.contains(&format!(
            "✘ routing: no credHelpers entry or credsStore sends {HOST} to ecr-login"
        )),
        "{out}"
    );
    assert!(text.contains(&format!("credHelpers key \"{HOST}:443\" is never looked up for {HOST}\n    fix: use the key \"{HOST}\"")), "{out}");
    // Next to the plain key, `host:443` is a registry of its own (images may name it); a URL
    // form never matches anything.
    let config = format!(r#"{{"credHelpers":{{"{HOST}":"ecr-login","{HOST}:443":"ecr-login"}}}}"#);
    std::fs::write(env.dir().join("docker/config.json"), config).unwrap();
    assert_eq!(doctor(&env, &[HOST]).code, 0);
    let config =
        format!(r#"{{"credHelpers":{{"{HOST}":"ecr-login","https://{HOST}":"ecr-login"}}}}"#);
    std::fs::write(env.dir().join("docker/config.json"), config).unwrap();
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    assert_line(&out, "routing", "✔", "(credHelpers)");
    assert!(
        out.stdout_str().contains(&format!(
            "✘ routing: {}: credHelpers key \"https://{HOST}\" is never looked up",
            env.dir().join("docker/config.json").display()
        )),
        "{out}"
    );
}

#[test]
fn containers_auth_file_routes_too() {
    let server = require_server!();
    let mut env = routed(Env::with_server(&server));
    std::fs::write(env.dir().join("docker/config.json"), "{}").unwrap();
    let auth = env.dir().join("auth.json");
    std::fs::write(
        &auth,
        format!(r#"{{"credHelpers":{{"{HOST}":"ecr-login"}}}}"#),
    )
    .unwrap();
    env.set("REGISTRY_AUTH_FILE", &auth);
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 0, "{out}");
    assert_line(&out, "routing", "✔", &format!("{} sends", auth.display()));
}

#[test]
fn not_on_path() {
    let server = require_server!();
    let mut env = routed(Env::with_server(&server));
    let empty = env.dir().join("empty");
    std::fs::create_dir(&empty).unwrap();
    env.set("PATH", &empty);
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    let want = format!(
        "no executable docker-credential-ecr-login in PATH={}\n    fix: install",
        empty.display()
    );
    assert_line(&out, "PATH", "✘", &want);
}

#[test]
fn not_an_ecr_hostname() {
    let env = routed(Env::new());
    let out = doctor(&env, &["registry.example.com"]);
    assert_eq!(out.code, 1, "{out}");
    assert_line(
        &out,
        "hostname",
        "✘",
        "registry.example.com is not an ECR registry",
    );
    assert!(!out.stdout_str().contains("GetAuthorizationToken"), "{out}");
    let out = doctor(&env, &["123456789012.dkr-ecr-fips.us-west-2.on.aws"]);
    assert_line(
        &out,
        "hostname",
        "✔",
        "ECR, account 123456789012, region us-west-2, FIPS, dual-stack",
    );
}

#[test]
fn no_credentials_still_checks_the_network() {
    let server = require_server!();
    let env = routed(Env::with_server(&server).no_credentials());
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    let creds = line(&out, "credentials");
    assert!(creds.ends_with("no credentials found in chain. Attempted: Environment: the credential provider was not enabled: environment variable not set Profile: the credential provider was not enabled WebIdentityToken: the credential provider was not enabled: $AWS_WEB_IDENTITY_TOKEN_FILE was not set EcsContainer: the credential provider was not enabled: ECS provider not configured Ec2InstanceMetadata: the credential provider was not enabled: IMDS disabled by AWS_EC2_METADATA_DISABLED env var set to `true`\n    fix: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or attach a role"), "{creds}");
    assert_line(
        &out,
        "credentials",
        "✘",
        "fix: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or attach a role",
    );
    assert_line(&out, "TCP", "✔", "connected");
    assert_line(
        &out,
        "GetAuthorizationToken",
        "-",
        "not tried without credentials",
    );
    assert_line(&out, "clock", "✔", "from the server's Date");
}

#[test]
fn api_refusal() {
    let server = require_server!();
    let env = routed(Env::with_server(&server));
    server.set_mode("400", None, None);
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    assert_line(
        &out,
        "GetAuthorizationToken",
        "✘",
        "fix: the identity needs ecr:GetAuthorizationToken",
    );
    assert_line(&out, "TCP", "✔", "connected");
}

#[test]
fn endpoint_refuses_connections() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = routed(Env::new()).with("AWS_ENDPOINT_URL_ECR", format!("http://127.0.0.1:{port}"));
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    assert_line(&out, "TCP", "✘", &format!("127.0.0.1:{port}: ecr: Failed"));
    assert_line(&out, "TCP", "✘", "Connection refused");
    assert_line(&out, "GetAuthorizationToken", "-", "not reached");
}

/// The TLS test server: trusted, its CA bundle missing, and a CA that did not sign it.
#[test]
fn tls_and_the_ca_bundle() {
    let _ = require_python!();
    let dir = tempfile::tempdir().unwrap();
    let host = common::pick_loopback_host();
    let ca = TestCa::generate(dir.path(), &[host.as_str()]);
    let server = require_server!(ServerOpts::tls(&host, &ca));
    let env = routed(Env::with_server(&server)).with("SSL_CERT_FILE", &ca.ca_pem);
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 0, "{out}");
    let source = format!("SSL_CERT_FILE={}", ca.ca_pem.display());
    assert_line(
        &out,
        "CA bundle",
        "✔",
        &format!("{source} (1 certificates)"),
    );
    assert_line(&out, "TLS", "✔", &format!("verified with {source}"));
    let missing = env.dir().join("rootfs/etc/ssl/certs/ca-certificates.crt");
    let env = routed(Env::with_server(&server)).with("SSL_CERT_FILE", &missing);
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    assert_line(
        &out,
        "CA bundle",
        "✘",
        "(0 certificates)\n    fix: install a CA bundle",
    );
    assert_line(&out, "TLS", "-", "impossible without CA certificates");
    let other = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/test-ca.pem");
    let env = routed(Env::with_server(&server)).with("SSL_CERT_FILE", other);
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    assert_line(&out, "TLS", "✘", "UnknownIssuer");
    assert_line(
        &out,
        "TLS",
        "✘",
        "fix: the CA bundle must hold the endpoint's issuer",
    );
}

/// The real endpoint name through an HTTPS proxy, as `get` goes; then a proxy that is down.
#[test]
fn through_a_proxy() {
    let _ = require_python!();
    let dir = tempfile::tempdir().unwrap();
    let host = common::pick_loopback_host();
    let api = "api.ecr.us-east-1.amazonaws.com";
    let ca = TestCa::generate(dir.path(), &[host.as_str(), api]);
    let server = require_server!(ServerOpts {
        connect_proxy: true,
        ..ServerOpts::tls(&host, &ca)
    });
    let env = routed(Env::new())
        .with("SSL_CERT_FILE", &ca.ca_pem)
        .with("HTTPS_PROXY", server.proxy_url());
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 0, "{out}");
    assert_line(&out, "endpoint", "✔", &format!("https://{api}"));
    assert_line(&out, "TCP", "✔", &format!("connected to {api}:443"));
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = env.with("HTTPS_PROXY", format!("http://127.0.0.1:{port}"));
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    assert_line(&out, "TCP", "✘", &format!("{api}:443: ecr: Failed"));
    assert_line(&out, "TCP", "✘", "Connection refused");
}

/// Answers every HTTP request with `response`, on a thread of its own.
fn serve_forever(response: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = conn.read(&mut chunk) {
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
                let Some(end) = text.find("\r\n\r\n") else {
                    continue;
                };
                let len = text
                    .split("content-length:")
                    .nth(1)
                    .and_then(|r| r.lines().next())
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break;
                }
            }
            let _ = conn.write_all(response.as_bytes());
        }
    });
    port
}

#[test]
fn clock_skew_against_the_servers_date() {
    let body = r#"{"authorizationData":[{"authorizationToken":"QVdTOnNrZXc=","expiresAt":4102444800,"proxyEndpoint":"https://123456789012.dkr.ecr.us-east-1.amazonaws.com"}]}"#;
    let response = format!("HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2001 00:00:00 GMT\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    let port = serve_forever(response);
    let env = routed(Env::new()).with("AWS_ENDPOINT_URL_ECR", format!("http://127.0.0.1:{port}"));
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    assert_line(
        &out,
        "GetAuthorizationToken",
        "✔",
        "valid until 2100-01-01T00:00:00Z",
    );
    assert_line(
        &out,
        "clock",
        "✘",
        "s from the server's Date (Mon, 01 Jan 2001 00:00:00 GMT)\n    fix: synchronise the clock",
    );
    assert!(!out.stdout_str().contains("QVdTOnNrZXc="), "{out}");
}

/// Instance credentials: IMDSv2, IMDSv1 only, and the hop-limit symptom (a connection that
/// is accepted but never answered).
#[test]
fn instance_metadata() {
    let server = require_server!();
    let imds = |env: Env, url: String| {
        routed(env.no_credentials())
            .without("AWS_EC2_METADATA_DISABLED")
            .with("AWS_EC2_METADATA_SERVICE_ENDPOINT", url)
    };
    let url = format!("{}/", server.control_endpoint());
    let out = doctor(&imds(Env::with_server(&server), url.clone()), &[HOST]);
    assert_eq!(out.code, 0, "{out}");
    assert_line(&out, "instance metadata", "✔", "answers IMDSv2");
    assert_line(
        &out,
        "credentials",
        "✔",
        "instance metadata (profile default), resolved to key …IMDS",
    );
    server.set_imds(403, false);
    let out = doctor(&imds(Env::with_server(&server), url), &[HOST]);
    assert_eq!(out.code, 0, "{out}");
    assert_line(
        &out,
        "instance metadata",
        "✔",
        "refuses IMDSv2 tokens (HTTP 403): the helper falls back to IMDSv1",
    );
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().flatten().collect();
        drop(held);
    });
    let env = imds(
        Env::with_server(&server),
        format!("http://127.0.0.1:{port}/"),
    )
    .with("AWS_ECR_TIMEOUT", "4");
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    assert_line(&out, "instance metadata", "✘", "never answers the token PUT: the hop limit is 1 and this runs in a container\n    fix: set the instance's HttpPutResponseHopLimit to 2");
    assert!(out.elapsed < Duration::from_secs(8), "{out}");
}

#[test]
fn cache_dir_unusable_or_too_open() {
    use std::os::unix::fs::PermissionsExt;
    let server = require_server!();
    let mut env = routed(Env::with_server(&server));
    std::fs::write(env.dir().join("file"), "").unwrap();
    let unusable = env.dir().join("file/ecr");
    env.set("AWS_ECR_CACHE_DIR", unusable);
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    assert_line(
        &out,
        "cache",
        "✘",
        "file/ecr: Not a directory (os error 20)\n    fix:",
    );
    let env = routed(Env::with_server(&server));
    let cache = env.cache_dir();
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(cache.join("cache.json"), "{}").unwrap();
    std::fs::set_permissions(
        cache.join("cache.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    assert_line(
        &out,
        "cache",
        "✘",
        "cache.json is readable by others (mode 644)\n    fix: chmod 600",
    );
    std::fs::set_permissions(
        cache.join("cache.json"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    assert_line(
        &doctor(&env, &[HOST]),
        "cache",
        "✔",
        "(directory mode 700, file mode 600)",
    );
    let names: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, ["cache.json"], "the probe file is removed");
}

#[test]
fn bounded_by_the_timeout() {
    let server = require_server!();
    let env = routed(Env::with_server(&server)).with("AWS_ECR_TIMEOUT", "1");
    server.set_mode("hang", None, None);
    let out = doctor(&env, &[HOST]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.elapsed < Duration::from_secs(4), "{out}");
    assert_line(&out, "GetAuthorizationToken", "✘", "timed out");
}

#[test]
fn usage_errors() {
    let env = Env::new();
    let out = env.run(&["doctor", "--bogus"], b"");
    assert_eq!((out.code, out.stdout_str()), (1, String::new()));
    assert_eq!(
        out.stderr_str(),
        "Usage: docker-credential-ecr-login doctor [--json] [REGISTRY...]\n"
    );
}

#[test]
fn endpoint_rules_refuse_the_region() {
    let host = "123456789012.dkr.ecr.us_east_1.amazonaws.com";
    let env = routed(Env::new()).with("AWS_ECR_TIMEOUT", "3");
    let out = doctor(&env, &[host]);
    assert_eq!(out.code, 1, "{out}");
    assert_line(&out, "hostname", "✔", "region us_east_1");
    assert_line(
        &out,
        "endpoint",
        "✘",
        "`region` - must be a valid host label\n    fix: check AWS_ENDPOINT_URL*",
    );
    assert!(!out.stdout_str().contains("TCP"), "{out}");
}

#[test]
fn log_off() {
    let env = routed(Env::new()).with("AWS_ECR_LOG_LEVEL", "off");
    assert_line(&doctor(&env, &["registry.example.com"]), "log", "-", "off");
}

#[test]
fn registries_configuration_aliases_and_problems() {
    let server = require_server!();
    let env = routed(Env::with_server(&server));
    let file = env.dir().join("ecr-config");
    let text = format!(
        "[alias registry.example.com]\nregistry = {HOST}\n\n[registry {HOST}]\nprofile = other\nbogus = 1\n"
    );
    std::fs::write(&file, text).unwrap();
    let env = env
        .with("AWS_ECR_CONFIG_FILE", file.to_str().unwrap())
        .with("AWS_ENDPOINT_URL_STS", server.endpoint());
    let out = doctor(&env, &["registry.example.com", HOST]);
    assert_eq!(out.code, 1, "{out}");
    let at = format!("{}:6", file.display());
    assert_line(&out, "registries configuration", "✘", &at);
    assert_line(&out, "registries configuration", "✘", "bogus");
    // the alias names its registry; the broken rule refuses the registry, as get would
    assert_line(
        &out,
        "hostname",
        "✘",
        "the registries configuration refuses registry.example.com",
    );

    // a clean file: the alias is recognised and shows its registry and the rule's identity
    std::fs::write(
        &file,
        format!(
            "[alias registry.example.com]\nregistry = {HOST}\nrole_arn = arn:aws:iam::123456789012:role/pull\n"
        ),
    )
    .unwrap();
    let out = doctor(&env, &["registry.example.com"]);
    assert_line(&out, "registries configuration", "✔", "no problem");
    assert_line(
        &out,
        "hostname",
        "✔",
        &format!("alias registry.example.com of {HOST}: ECR, account 123456789012"),
    );
    assert_line(
        &out,
        "hostname",
        "✔",
        "role arn:aws:iam::123456789012:role/pull",
    );
    // the real call is made as get would make it: with the rule's role assumed on top
    let creds = line(&out, "credentials");
    assert!(
        creds.starts_with('✔') && !creds.ends_with("resolved to key …MPLE"),
        "the assumed role's key, not the static one: {creds}\n{out}"
    );
    assert_line(&out, "GetAuthorizationToken", "✔", "a token for https://");
}
