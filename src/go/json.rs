//! JSON output exactly as Go's `encoding/json` writes it (SPEC §3 "JSON escaping").
//!
//! Values are serialized by serde_json through [`GoFormatter`], which keeps serde_json's escapes
//! (`\"`, `\\`, short escapes for `\n` `\r` `\t` `\b` `\f`, `\u00xx` with lower-case hex for
//! other control characters: Go's too) and adds Go's HTML-safe ones for `<`, `>`, `&`,
//! U+2028 and U+2029. Nothing else is escaped. [`to_string`] gives Go's `Marshal` layout,
//! [`to_string_indent`] its `MarshalIndent(v, "", "  ")`; [`push_str`] appends one string
//! literal (the log line and the cache file use it).

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use std::io::{self, Write};

/// Go's escape for a character serde_json leaves alone, or `None`.
fn html_escape(c: char) -> Option<&'static str> {
    match c {
        '<' => Some("\\u003c"),
        '>' => Some("\\u003e"),
        '&' => Some("\\u0026"),
        '\u{2028}' => Some("\\u2028"),
        '\u{2029}' => Some("\\u2029"),
        _ => None,
    }
}

/// A serde_json [`Formatter`] that writes strings as Go does, over `F`'s layout.
pub struct GoFormatter<F>(F);

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name<W: ?Sized + Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            self.0.$name(w $(, $arg)*)
        }
    )*};
}

impl<F: Formatter> Formatter for GoFormatter<F> {
    delegate! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        begin_object_value();
        end_object_value();
    }

    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in s.char_indices() {
            if let Some(esc) = html_escape(c) {
                w.write_all(&s.as_bytes()[start..i])?;
                w.write_all(esc.as_bytes())?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&s.as_bytes()[start..])
    }
}

fn write_with<F: Formatter>(value: &impl Serialize, formatter: F) -> String {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter(formatter));
    // Serializing plain data (strings, maps, structs of them) into a Vec cannot fail.
    if value.serialize(&mut ser).is_err() {
        return String::new();
    }
    // serde_json writes UTF-8 only.
    String::from_utf8(out).unwrap_or_default()
}

/// `value` as Go's `json.Marshal` writes it.
pub fn to_string(value: &impl Serialize) -> String {
    write_with(value, CompactFormatter)
}

/// `value` as Go's `json.MarshalIndent(value, "", "  ")` writes it.
pub fn to_string_indent(value: &impl Serialize) -> String {
    write_with(value, PrettyFormatter::with_indent(b"  "))
}

/// Appends `s` as a JSON string literal (with quotes), escaped as Go does.
pub fn push_str(out: &mut String, s: &str) {
    out.push_str(&to_string(&s));
}

/// A JSON string literal for `s`, escaped as Go does.
#[cfg(test)]
pub fn quote(s: &str) -> String {
    to_string(&s)
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
pub(crate) mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// Any text, weighted toward what JSON escaping must get right (also used by the `store`
    /// decoder's tests).
    pub(crate) fn text() -> impl Strategy<Value = String> {
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
