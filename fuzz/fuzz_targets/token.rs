//! `token::decode` (SPEC §5 "Token") on arbitrary input: never panics; whatever decodes has a
//! valid username and re-encodes to the same credentials; and `base64("<u>:<p>")` of any valid
//! username and password decodes to exactly those.
#![no_main]


use base64::Engine as _;
use docker_credential_ecr_login::token;
use libfuzzer_sys::fuzz_target;

fn encode(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

fuzz_target!(|data: &[u8]| {
    // 1. The raw input as a cached or fetched token.
    let text = String::from_utf8_lossy(data);
    match token::decode(&text) {
        Ok(c) => {
            assert!(!c.username.is_empty() && c.username != "<token>");
            assert!(!c.username.contains(':'));
            let again = token::decode(&encode(&c.username, c.password.expose())).unwrap();
            assert_eq!(again, c);
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with("invalid token: ") && !msg.contains('\n'),
                "{msg}"
            );
        }
    }

    // 2. The input as "<user>\0<password>": the round trip.
    let (user, password) = match text.split_once('\0') {
        Some((u, p)) => (u, p),
        None => (text.as_ref(), ""),
    };
    let encoded = encode(user, password);
    let decoded = token::decode(&encoded);
    if user.is_empty() || user == "<token>" || user.contains(':') {
        if !user.contains(':') {
            assert!(decoded.is_err(), "{user:?}");
        }
        return;
    }
    let c = decoded.unwrap_or_else(|e| panic!("{user:?}:{password:?}: {e}"));
    assert_eq!(
        (c.username.as_str(), c.password.expose().as_str()),
        (user, password)
    );
    // Go's decoder skips CR and LF anywhere: a wrapped token decodes the same.
    let wrapped: String = encoded
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n");
    assert_eq!(token::decode(&wrapped).unwrap(), c);
});
