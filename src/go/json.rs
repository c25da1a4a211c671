//! JSON output exactly as Go's `encoding/json` writes it (SPEC §3 "JSON escaping").
//!
//! Parsing uses serde_json; writing is done here so the bytes match the Go helper's:
//! HTML-safe escapes for `<`, `>`, `&`, U+2028/U+2029, short escapes for `\n` `\r` `\t` `\b` `\f`,
//! `\u00xx` (lower-case hex) for other control characters, nothing else escaped.

/// The escape for `c`, or `None` when it stands for itself.
fn escape(c: char) -> Option<&'static str> {
    const CONTROL: [&str; 32] = [
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
        "\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r", "\\u000e", "\\u000f", "\\u0010", "\\u0011",
        "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019",
        "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
    ];
    match c {
        '"' => Some("\\\""),
        '\\' => Some("\\\\"),
        '<' => Some("\\u003c"),
        '>' => Some("\\u003e"),
        '&' => Some("\\u0026"),
        '\u{2028}' => Some("\\u2028"),
        '\u{2029}' => Some("\\u2029"),
        c if (c as u32) < 0x20 => Some(CONTROL[c as usize]),
        _ => None,
    }
}

/// Appends `s` as a JSON string literal (with quotes), escaped as Go does. Runs of characters
/// that need no escape are copied whole.
pub fn push_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if let Some(esc) = escape(c) {
            out.push_str(&s[start..i]);
            out.push_str(esc);
            start = i + c.len_utf8();
        }
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A JSON string literal for `s`, escaped as Go does.
#[cfg(test)]
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_str(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        assert_eq!(quote("plain/text é"), "\"plain/text é\"");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote("\n\r\t\u{8}\u{c}"), "\"\\n\\r\\t\\b\\f\"");
        assert_eq!(quote("\u{0}\u{1f}\u{7f}"), "\"\\u0000\\u001f\u{7f}\"");
        assert_eq!(quote("<a>&"), "\"\\u003ca\\u003e\\u0026\"");
        assert_eq!(quote("\u{2028}\u{2029}"), "\"\\u2028\\u2029\"");
        assert_eq!(quote(""), "\"\"");
    }
}

/// Property tests: Go's JSON escaping (SPEC §3) of what `get`/`list` print: valid JSON that
/// decodes back to the input, HTML-safe, nothing else escaped.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// Any text, weighted toward what JSON escaping must get right.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,32}",
            "[\\x00-\\x7f]{0,32}",
            "[<>&\"\\\\/\\x00-\\x1f\\x7f\u{80}\u{2028}\u{2029}\u{fffd}é😀a-z]{0,24}",
        ]
    }

    fn go_quote(s: &str) -> String {
        let mut out = String::new();
        push_str(&mut out, s);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn json_escaping_decodes_back(s in text()) {
            let q = go_quote(&s);
            let back: String = serde_json::from_str(&q).unwrap();
            prop_assert_eq!(&back, &s);
            prop_assert!(!q.contains(['<', '>', '&', '\u{2028}', '\u{2029}']), "{:?}", q);
            prop_assert!(!q.chars().any(|c| c < ' '), "{:?}", q);
        }

        /// Go's escaping is serde_json's (short escapes, lower-case `\u00xx`) plus the HTML-safe
        /// five; nothing else (`/`, DEL, non-ASCII) is escaped.
        #[test]
        fn json_escaping_is_exactly_gos(s in text()) {
            let want = serde_json::to_string(&s)
                .unwrap()
                .replace('<', "\\u003c")
                .replace('>', "\\u003e")
                .replace('&', "\\u0026")
                .replace('\u{2028}', "\\u2028")
                .replace('\u{2029}', "\\u2029");
            prop_assert_eq!(go_quote(&s), want);
        }

    }
}
