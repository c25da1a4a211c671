//! Exact-byte and property tests of the `store` decoder.

mod exact {
    use super::super::*;

    #[test]
    fn store_json_errors_like_go() {
        let e = |s: &str| parse_store(s.as_bytes()).err().unwrap_or_default();
        assert_eq!(e(""), "EOF");
        assert_eq!(e("  \n\t"), "EOF");
        assert_eq!(e("{\"ServerURL\":\"x"), "unexpected EOF");
        assert_eq!(e("{"), "unexpected EOF");
        assert_eq!(
            e("x"),
            "invalid character 'x' looking for beginning of value"
        );
        assert_eq!(
            e("'"),
            "invalid character '\\'' looking for beginning of value"
        );
        assert_eq!(
            e("[1]"),
            "json: cannot unmarshal array into Go value of type credentials.Credentials"
        );
        assert_eq!(
            e("{\"ServerURL\":5}"),
            "json: cannot unmarshal number into Go struct field Credentials.ServerURL of type string"
        );
    }

    #[test]
    fn store_json_fields() {
        let m =
            parse_store(br#"{"serverurl":"a","USERNAME":"u","Secret":"s","x":[1,{}]} trailing"#)
                .unwrap();
        assert_eq!(
            (
                m.server_url.as_str(),
                m.username.as_str(),
                m.secret.expose().as_str()
            ),
            ("a", "u", "s")
        );
        let m = parse_store(br#"{"ServerURL":"a","ServerURL":null,"serverURL":"b"}"#).unwrap();
        assert_eq!(m.server_url, "b");
        let m = parse_store(b"null").unwrap();
        assert!(m.server_url.is_empty());
        assert!(!format!("{m:?}").contains('s') || format!("{:?}", m.secret) == "[redacted]");
    }

    /// Go's `encoding/json` turns invalid UTF-8 and lone surrogate escapes inside strings into
    /// U+FFFD (one per invalid byte) instead of failing (issue 11).
    #[test]
    fn store_strings_decode_lossily_like_go() {
        let url = |b: &[u8]| parse_store(b).map(|m| m.server_url);
        let ok = |s: &str| Ok(s.to_owned());
        assert_eq!(url(b"{\"ServerURL\":\"a\xffb\"}"), ok("a\u{fffd}b"));
        // A truncated 4-byte sequence is three invalid bytes to Go, not one.
        assert_eq!(
            url(b"{\"ServerURL\":\"\xf0\x9f\x98\"}"),
            ok("\u{fffd}\u{fffd}\u{fffd}")
        );
        // UTF-8-encoded surrogates and overlong forms are invalid bytes too.
        assert_eq!(
            url(b"{\"ServerURL\":\"\xed\xa0\x80\xc0\xaf\"}"),
            ok(&"\u{fffd}".repeat(5))
        );
        assert_eq!(
            url(b"{\"ServerURL\":\"\xf0\x9f\x98\x80\xc3\xa9\"}"),
            ok("\u{1f600}\u{e9}")
        );
        assert_eq!(url(br#"{"ServerURL":"\ud800"}"#), ok("\u{fffd}"));
        assert_eq!(url(br#"{"ServerURL":"\udc00x"}"#), ok("\u{fffd}x"));
        assert_eq!(url(br#"{"ServerURL":"\ud800\u0041"}"#), ok("\u{fffd}A"));
        assert_eq!(
            url(br#"{"ServerURL":"\ud800\ud83d\ude00"}"#),
            ok("\u{fffd}\u{1f600}")
        );
        assert_eq!(
            url(br#"{"ServerURL":"\uD83D\uDE00\\ud800"}"#),
            ok("\u{1f600}\\ud800")
        );
        // Keys too: a mangled key matches no field and is skipped.
        let m =
            parse_store(b"{\"User\xffname\":\"x\",\"Username\":\"\\udfff\",\"ServerURL\":\"h\"}")
                .unwrap();
        assert_eq!(m.username, "\u{fffd}");
        // Outside strings an invalid byte is still Go's syntax error, naming that byte.
        assert_eq!(
            parse_store(b"\xff").err().unwrap_or_default(),
            "invalid character '\u{ff}' looking for beginning of value"
        );
        assert_eq!(
            parse_store(b"{\"ServerURL\":\"\xff")
                .err()
                .unwrap_or_default(),
            "unexpected EOF"
        );
        assert_eq!(
            parse_store(b"\"\xff\\ud800\"").err().unwrap_or_default(),
            "json: cannot unmarshal string into Go value of type credentials.Credentials"
        );
    }
}

/// Property tests: any `store` body decodes to its fields whatever the keys' case, and every
/// error is one line.
mod proptests {
    use super::super::*;
    use crate::go::json::proptests::text;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn store_fields_round_trip(
            server_url in text(),
            username in text(),
            secret in text(),
            cases in proptest::collection::vec(any::<bool>(), 24),
            extra in proptest::option::of(text()),
            ws in "[ \t\r\n]{0,3}",
        ) {
            let vary = |name: &str, off: usize| -> String {
                name.chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if cases[(i + off) % cases.len()] {
                            c.to_ascii_uppercase()
                        } else {
                            c.to_ascii_lowercase()
                        }
                    })
                    .collect()
            };
            let mut obj = serde_json::Map::new();
            if let Some(x) = &extra {
                obj.insert(format!("x{x}"), serde_json::json!([x, {"k": null}]));
            }
            obj.insert(vary("ServerURL", 0), server_url.clone().into());
            obj.insert(vary("Username", 9), username.clone().into());
            obj.insert(vary("Secret", 17), secret.clone().into());
            let input = format!("{ws}{}{ws}", serde_json::Value::Object(obj));
            let msg = parse_store(input.as_bytes()).unwrap();
            prop_assert_eq!(msg.server_url, server_url);
            prop_assert_eq!(msg.username, username);
            prop_assert_eq!(msg.secret.expose(), &secret);
        }

        #[test]
        fn store_errors_are_one_line(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Err(e) = parse_store(&bytes) {
                prop_assert!(!e.is_empty() && !e.contains('\n'), "{:?}", e);
            }
            if bytes.iter().all(|b| b" \t\r\n".contains(b)) {
                let err = parse_store(&bytes).err();
                prop_assert_eq!(err.as_deref(), Some("EOF"));
            }
        }
    }
}
