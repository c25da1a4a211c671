//! The error folding and the endpoint's authority.

use super::*;

#[test]
fn errors_on_one_line_without_the_debug_dump() {
    assert_eq!(
        one_line("a: b\n  c: d (CredentialsNotLoaded(X { y: Some(\"z (q)\") }))"),
        "a: b c: d"
    );
    assert_eq!(
        one_line("HTTP 403 (Forbidden here"),
        "HTTP 403 (Forbidden here"
    );
    assert_eq!(one_line("x (HTTP 403) y"), "x (HTTP 403) y");
    assert_eq!(
        one_line("client error (Connect): bad cert (DispatchFailure(X(\"a\")))"),
        "client error (Connect): bad cert"
    );
}

#[test]
fn authorities() {
    assert_eq!(
        authority("https://api.ecr.us-east-1.amazonaws.com/").as_deref(),
        Some("api.ecr.us-east-1.amazonaws.com:443")
    );
    assert_eq!(
        authority("http://127.0.0.2:5000").as_deref(),
        Some("127.0.0.2:5000")
    );
    assert_eq!(authority("http://[::1]/x").as_deref(), Some("[::1]:80"));
    assert_eq!(authority("ftp://x"), None);
}
