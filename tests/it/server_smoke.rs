//! Smoke tests of the test ECR server itself (tests/support/ecr_server.py) and
//! its Rust harness (tests/it/common): no helper binary involved. Each test skips
//! loudly when no Python with moto is available (fails with
//! ECR_TEST_REQUIRE_SERVER=1).

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{http_request, EcrServer, HttpResponse, ServerOpts, TestCa};
use serde_json::Value;

const ECR_TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";
const PUBLIC_TARGET: &str = "SpencerFrontendService.GetAuthorizationToken";
/// base64("AWS:123456789012-auth-token"), moto's token for that account.
const TOKEN_123456789012: &str = "QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu";

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A GetAuthorizationToken call with a SigV4-shaped Authorization header.
/// Moto checks only the header's credential scope, not the signature, so a
/// dummy signature is enough here. `service` is "ecr" or "ecr-public".
fn api_call(server: &EcrServer, service: &str, region: &str, body: &str) -> HttpResponse {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDSMOKE/20260101/{region}/{service}/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=00"
    );
    let target = if service == "ecr" {
        ECR_TARGET
    } else {
        PUBLIC_TARGET
    };
    let headers = [
        ("X-Amz-Target", target),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Date", "20260101T000000Z"),
        ("Authorization", auth.as_str()),
    ];
    let addr = format!("{}:{}", server.host(), server.port());
    http_request(
        &addr,
        "POST",
        "/",
        &headers,
        body.as_bytes(),
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("API call to {addr}: {e}\n{}", server.log()))
}

fn json(resp: &HttpResponse) -> Value {
    serde_json::from_slice(&resp.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", resp.body_str()))
}

#[test]
fn control_endpoints_and_counts() {
    let server = require_server!();
    assert!(server.endpoint().starts_with("http://127.0.0."));
    assert_eq!(server.calls(), (0, 0));
    assert_eq!(server.requests(), serde_json::json!([]));

    // Private ECR through moto, expiresAt rewritten to now + 12 h.
    let before = now();
    let resp = api_call(
        &server,
        "ecr",
        "eu-west-1",
        r#"{"registryIds":["123456789012"]}"#,
    );
    assert_eq!(resp.status, 200, "{}", resp.body_str());
    assert_eq!(
        resp.header("content-length"),
        Some(resp.body.len().to_string().as_str())
    );
    let v = json(&resp);
    let data = &v["authorizationData"][0];
    assert_eq!(data["authorizationToken"], TOKEN_123456789012);
    assert_eq!(
        data["proxyEndpoint"],
        "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    );
    let expires = data["expiresAt"].as_f64().unwrap();
    assert!(
        (before + 43200.0 - 1.0..now() + 43200.0 + 1.0).contains(&expires),
        "{expires}"
    );

    // ECR Public stub.
    let v = json(&api_call(&server, "ecr-public", "us-east-1", "{}"));
    assert_eq!(
        v["authorizationData"]["authorizationToken"],
        "QVdTOnB1YmxpYy1hdXRoLXRva2Vu"
    );
    assert!(v["authorizationData"]["expiresAt"].as_f64().unwrap() > now() + 43000.0);

    assert_eq!(server.calls(), (1, 1));
    let reqs = server.requests();
    assert_eq!(reqs[0]["service"], "ecr");
    assert_eq!(reqs[0]["region"], "eu-west-1");
    assert_eq!(reqs[0]["akid"], "AKIDSMOKE");
    assert_eq!(reqs[0]["registryIds"], serde_json::json!(["123456789012"]));
    assert_eq!(
        reqs[0]["host"],
        format!("{}:{}", server.host(), server.port())
    );
    assert_eq!(reqs[1]["service"], "ecr-public");
    assert_eq!(reqs[1]["registryIds"], Value::Null);

    // Unsigned: counted, answered like AWS (moto would hand it to S3).
    let addr = format!("{}:{}", server.host(), server.port());
    let resp = http_request(
        &addr,
        "POST",
        "/",
        &[("X-Amz-Target", ECR_TARGET)],
        b"{}",
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(resp.status, 400);
    assert_eq!(json(&resp)["__type"], "MissingAuthenticationTokenException");
    assert_eq!(server.calls(), (2, 1));
    assert_eq!(server.requests()[2]["akid"], Value::Null);

    server.reset();
    assert_eq!(server.calls(), (0, 0));
    assert_eq!(server.requests(), serde_json::json!([]));
}

#[test]
fn modes() {
    let server = require_server!();
    let call = |service: &str| api_call(&server, service, "us-east-1", "{}");

    server.set_mode("500", None, None);
    assert_eq!(call("ecr").status, 500);
    server.set_mode("400", None, None);
    let resp = call("ecr-public");
    assert_eq!(resp.status, 400);
    assert_eq!(json(&resp)["__type"], "AccessDeniedException");
    server.set_mode("throttle", None, None);
    assert_eq!(json(&call("ecr"))["__type"], "ThrottlingException");
    server.set_mode("garbage", None, None);
    assert_eq!(call("ecr").body, b"not json{");

    server.set_mode("truncated", None, None);
    let resp = call("ecr");
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-length"),
        Some(resp.body.len().to_string().as_str())
    );
    assert!(serde_json::from_slice::<Value>(&resp.body).is_err());

    server.set_mode("badtoken", None, None);
    // base64("nocolonhere")
    assert_eq!(
        json(&call("ecr"))["authorizationData"][0]["authorizationToken"],
        "bm9jb2xvbmhlcmU="
    );
    server.set_mode("notbase64", None, None);
    assert_eq!(
        json(&call("ecr-public"))["authorizationData"]["authorizationToken"],
        "!!!"
    );
    server.set_mode("empty", None, None);
    assert_eq!(
        json(&call("ecr")),
        serde_json::json!({"authorizationData": []})
    );
    assert_eq!(json(&call("ecr-public")), serde_json::json!({}));
    server.set_mode("badproxy", None, None);
    assert_eq!(
        json(&call("ecr"))["authorizationData"][0]["proxyEndpoint"],
        "https://evil.example.com"
    );

    // ttl (negative: born expired) and delay.
    server.set_mode("ok", Some(-60.0), Some(0.5));
    let start = Instant::now();
    let v = json(&call("ecr"));
    assert!(start.elapsed() >= Duration::from_millis(450));
    let expires = v["authorizationData"][0]["expiresAt"].as_f64().unwrap();
    assert!(expires < now() - 50.0, "{expires}");

    // hang: no answer at all.
    server.set_mode("hang", None, None);
    let addr = format!("{}:{}", server.host(), server.port());
    let err = http_request(
        &addr,
        "POST",
        "/",
        &[("X-Amz-Target", ECR_TARGET)],
        b"{}",
        Duration::from_millis(500),
    )
    .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    // Control calls still work while a request hangs.
    assert_eq!(server.calls(), (9, 3));
}

#[test]
fn stock_moto_expiry() {
    let server = require_server!(ServerOpts {
        stock: true,
        ..Default::default()
    });
    let v = json(&api_call(
        &server,
        "ecr",
        "ap-southeast-2",
        r#"{"registryIds":["111122223333"]}"#,
    ));
    let data = &v["authorizationData"][0];
    assert_eq!(data["expiresAt"], 1420070400); // 2015-01-01
    assert_eq!(
        data["proxyEndpoint"],
        "https://111122223333.dkr.ecr.ap-southeast-2.amazonaws.com"
    );
}

#[test]
fn tls_server() {
    let python = require_python!();
    let certs = tempfile::tempdir().unwrap();
    let host = common::pick_loopback_host();
    let ca = TestCa::generate(certs.path(), &[&host, "localhost"]);
    let server = EcrServer::start(ServerOpts::tls(&host, &ca));
    assert!(server.endpoint().starts_with("https://127.0.0."));
    assert_ne!(server.port(), server.control_port());
    assert_eq!(server.calls(), (0, 0));

    // A verifying TLS client (Python's ssl, trusting only the test CA)
    // completes a signed-looking API call.
    let script = r#"
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
req = urllib.request.Request(sys.argv[1] + "/", data=b'{"registryIds":["123456789012"]}', headers={
    "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
    "Content-Type": "application/x-amz-json-1.1",
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDTLS/20260101/us-west-2/ecr/aws4_request, SignedHeaders=host, Signature=00",
})
print(json.load(urllib.request.urlopen(req, context=ctx))["authorizationData"][0]["proxyEndpoint"])
"#;
    let out = Command::new(python)
        .args(["-c", script, &server.endpoint()])
        .arg(&ca.ca_pem)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "https://123456789012.dkr.ecr.us-west-2.amazonaws.com"
    );
    assert_eq!(server.calls(), (1, 0));
    assert_eq!(server.requests()[0]["akid"], "AKIDTLS");
}

#[test]
fn server_stops_on_drop() {
    let server = require_server!();
    let addr = format!("{}:{}", server.host(), server.port());
    server.set_mode("hang", None, None);
    drop(server);
    assert!(std::net::TcpStream::connect(&addr).is_err());
}

/// The hermetic runner, exercised with system tools instead of the helper.
#[test]
fn env_runner_is_hermetic() {
    let env = common::Env::new().bin("/usr/bin/env").with("EXTRA", "x=y");
    let out = env.run(&[], b"");
    assert_eq!(out.code, 0, "{out}");
    let mut vars: Vec<String> = out.stdout_str().lines().map(str::to_string).collect();
    vars.retain(|v| !v.starts_with("LLVM_PROFILE_FILE="));
    vars.sort();
    let home = env.dir().display().to_string();
    let mut expected = vec![
        "AWS_ACCESS_KEY_ID=AKIDEXAMPLE".to_string(),
        format!("AWS_CONFIG_FILE={home}/.aws/config"),
        "AWS_EC2_METADATA_DISABLED=true".to_string(),
        format!("AWS_ECR_CACHE_DIR={home}/ecr"),
        "AWS_SECRET_ACCESS_KEY=secretExample".to_string(),
        format!("AWS_SHARED_CREDENTIALS_FILE={home}/.aws/credentials"),
        "EXTRA=x=y".to_string(),
        format!("HOME={home}"),
        "PATH=/usr/bin:/bin".to_string(),
    ];
    expected.sort();
    assert_eq!(vars, expected);
    assert_eq!(env.cache_file(), env.dir().join("ecr/cache.json"));

    // stdin is fed and closed; stdout and exit codes come back.
    let cat = common::Env::new().bin("/bin/cat");
    let out = cat.run(&[], b"hello\n");
    assert_eq!((out.code, out.stdout.as_slice()), (0, &b"hello\n"[..]));
    let out = cat.run(&["/nonexistent"], b"");
    assert_eq!(out.code, 1);
    assert!(!out.stderr.is_empty());

    // The kill bound.
    let out = common::Env::new()
        .bin("/bin/sleep")
        .timeout(Duration::from_millis(300))
        .run(&["30"], b"");
    assert!(out.timed_out);
    assert_eq!(out.code, -9);
    assert!(out.elapsed < Duration::from_secs(5), "{out}");

    // spawn: several at once.
    let sleeper = common::Env::new().bin("/bin/sleep");
    let start = Instant::now();
    let running: Vec<_> = (0..4).map(|_| sleeper.spawn(&["0.3"], b"")).collect();
    for r in running {
        assert_eq!(r.wait().code, 0);
    }
    assert!(start.elapsed() < Duration::from_millis(1200));
}
