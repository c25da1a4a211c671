//! ECR authorization tokens: `base64("<user>:<password>")` (SPEC §5 "Token").

use crate::secret::Secret;
use base64::Engine as _;

/// A decoded token. The password is the registry secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Secret<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("invalid token: {0}")]
    Base64(String),
    #[error("invalid token: expected two parts, got 1")]
    NoColon,
    #[error("invalid token: not UTF-8")]
    NotUtf8,
    #[error("invalid token: empty username")]
    EmptyUser,
    #[error("invalid token: username <token> is reserved for identity tokens")]
    IdentityTokenUser,
}

/// Decodes a token: standard padded base64 (CR and LF skipped, as Go's decoder does), split at
/// the first `:`. A username that is empty or `<token>` is refused (D16).
pub fn decode(token: &str) -> Result<Credentials, TokenError> {
    let cleaned: Vec<u8> = token
        .bytes()
        .filter(|&c| c != b'\r' && c != b'\n')
        .collect();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&cleaned)
        .map_err(|e| TokenError::Base64(go_base64_error(&e)))?;
    let text = String::from_utf8(raw).map_err(|_| TokenError::NotUtf8)?;
    let (user, password) = text.split_once(':').ok_or(TokenError::NoColon)?;
    if user.is_empty() {
        return Err(TokenError::EmptyUser);
    }
    if user == "<token>" {
        return Err(TokenError::IdentityTokenUser);
    }
    Ok(Credentials {
        username: user.to_owned(),
        password: Secret::new(password.to_owned()),
    })
}

/// Go's wording: `illegal base64 data at input byte N`.
fn go_base64_error(e: &base64::DecodeError) -> String {
    use base64::DecodeError::*;
    match e {
        InvalidByte(at, _) | InvalidLastSymbol { offset: at, .. } => {
            format!("illegal base64 data at input byte {at}")
        }
        InvalidLength(len) => format!("illegal base64 data at input byte {len}"),
        InvalidPadding => "illegal base64 data (bad padding)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_moto_token() {
        let c = decode("QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu").unwrap();
        assert_eq!(c.username, "AWS");
        assert_eq!(c.password.expose(), "123456789012-auth-token");
    }

    #[test]
    fn splits_at_first_colon_and_skips_newlines() {
        // base64("AWS:pa:ss") with a CRLF in the middle
        let c = decode("QVdTOnBh\r\nOnNz").unwrap();
        assert_eq!(c.username, "AWS");
        assert_eq!(c.password.expose(), "pa:ss");
        // empty password is allowed
        assert_eq!(decode("QVdTOg==").unwrap().password.expose(), "");
    }

    #[test]
    fn rejects_bad_tokens() {
        assert_eq!(decode("bm9jb2xvbg=="), Err(TokenError::NoColon));
        assert_eq!(
            decode("!!!").unwrap_err().to_string(),
            "invalid token: illegal base64 data at input byte 0"
        );
        assert_eq!(decode("OnB3"), Err(TokenError::EmptyUser)); // ":pw"
        assert_eq!(
            decode("PHRva2VuPjpwdw=="),
            Err(TokenError::IdentityTokenUser)
        ); // "<token>:pw"
        assert_eq!(decode("/w=="), Err(TokenError::NotUtf8));
        assert!(decode("QVdTOnB3").is_ok()); // "AWS:pw"
        assert!(decode("QVdTOnB3=").is_err());
        assert_eq!(
            TokenError::NoColon.to_string(),
            "invalid token: expected two parts, got 1"
        );
    }

    #[test]
    fn debug_hides_password() {
        let c = decode("QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu").unwrap();
        assert!(!format!("{c:?}").contains("auth-token"));
    }
}

/// Property tests: `decode(base64("<u>:<p>"))` gives exactly `u` and `p` for every valid
/// username and any password, CR/LF anywhere change nothing, and no input panics.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn encode(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn round_trip(user in "[^:]{1,40}", password in "\\PC{0,200}|.{0,64}") {
            prop_assume!(user != "<token>");
            let c = decode(&encode(format!("{user}:{password}").as_bytes())).unwrap();
            prop_assert_eq!(c.username, user);
            prop_assert_eq!(c.password.expose(), &password);
        }

        #[test]
        fn crlf_anywhere_is_skipped(
            user in "[A-Za-z0-9]{1,8}",
            password in "\\PC{0,40}",
            cuts in proptest::collection::vec(
                (
                    any::<proptest::sample::Index>(),
                    prop_oneof![Just("\r"), Just("\n"), Just("\r\n")],
                ),
                0..6,
            ),
        ) {
            let plain = encode(format!("{user}:{password}").as_bytes());
            let mut wrapped = plain.clone();
            for (at, sep) in cuts {
                wrapped.insert_str(at.index(wrapped.len() + 1), sep);
            }
            prop_assert_eq!(decode(&wrapped), decode(&plain));
        }

        #[test]
        fn invalid_users_are_refused(password in "\\PC{0,20}", reserved in any::<bool>()) {
            let user = if reserved { "<token>" } else { "" };
            let err = decode(&encode(format!("{user}:{password}").as_bytes())).unwrap_err();
            let want = if reserved {
                TokenError::IdentityTokenUser
            } else {
                TokenError::EmptyUser
            };
            prop_assert_eq!(err, want);
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,64}|[A-Za-z0-9+/=\r\n]{0,64}") {
            match decode(&s) {
                Ok(c) => {
                    prop_assert!(!c.username.is_empty() && !c.username.contains(':'));
                    prop_assert_ne!(c.username.as_str(), "<token>");
                }
                Err(e) => prop_assert!(e.to_string().starts_with("invalid token: ")),
            }
        }

        #[test]
        fn arbitrary_bytes_base64_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let got = decode(&encode(&bytes));
            match std::str::from_utf8(&bytes) {
                Err(_) => prop_assert_eq!(got, Err(TokenError::NotUtf8)),
                Ok(text) => match text.split_once(':') {
                    None => prop_assert_eq!(got, Err(TokenError::NoColon)),
                    Some(("", _)) => prop_assert_eq!(got, Err(TokenError::EmptyUser)),
                    Some(("<token>", _)) => {
                        prop_assert_eq!(got, Err(TokenError::IdentityTokenUser))
                    }
                    Some((u, p)) => {
                        let c = got.unwrap();
                        prop_assert_eq!(c.username.as_str(), u);
                        prop_assert_eq!(c.password.expose().as_str(), p);
                    }
                },
            }
        }
    }
}
