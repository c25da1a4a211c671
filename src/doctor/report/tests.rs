//! Exact bytes of both report forms.

use super::*;

fn sample() -> Report {
    Report::new(vec![
        Check::ok(
            "PATH",
            "/usr/local/bin/docker-credential-ecr-login".to_owned(),
        ),
        Check::skip("log", "off".to_owned()),
        Check::fail("routing", "no entry".to_owned(), "configure it").about("h"),
        Check::ok("hostname", "ECR".to_owned()).about("h"),
    ])
}

#[test]
fn human_lines() {
    let r = sample();
    assert_eq!(r.code(), 1);
    assert_eq!(
        r.human(),
        "✔ PATH: /usr/local/bin/docker-credential-ecr-login\n- log: off\n== h\n✘ routing: no entry\n    fix: configure it\n✔ hostname: ECR\nsome checks failed\n"
    );
    let ok = Report::new(vec![Check::ok("log", "x".to_owned())]);
    assert_eq!(
        (ok.code(), ok.human()),
        (0, "✔ log: x\nall checks passed\n".to_owned())
    );
}

#[test]
fn json_shape() {
    assert_eq!(
        sample().json(),
        "{\"ok\":false,\"checks\":[{\"check\":\"PATH\",\"status\":\"ok\",\"detail\":\"/usr/local/bin/docker-credential-ecr-login\"},{\"check\":\"log\",\"status\":\"skip\",\"detail\":\"off\"},{\"check\":\"routing\",\"registry\":\"h\",\"status\":\"fail\",\"detail\":\"no entry\",\"fix\":\"configure it\"},{\"check\":\"hostname\",\"registry\":\"h\",\"status\":\"ok\",\"detail\":\"ECR\"}]}\n"
    );
}
