//! `store` bodies decoded as Go's `encoding/json` decodes them into
//! `credentials.Credentials` (SPEC §3): keys matched case-insensitively, unknown keys skipped,
//! the first value read, invalid UTF-8 and lone surrogates turned into U+FFFD, and Go's error
//! texts byte for byte.

use crate::secret::Secret;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use std::fmt;

/// A `store` request: `{"ServerURL","Username","Secret"}`.
#[derive(Debug, Default)]
pub struct StoreMsg {
    pub server_url: String,
    pub username: String,
    pub secret: Secret<String>,
}

/// Decodes the first JSON value of a `store` request with Go's rules and error texts.
pub fn parse_store(bytes: &[u8]) -> Result<StoreMsg, String> {
    let first = bytes.iter().position(|b| !b" \t\r\n".contains(b));
    let Some(first) = first else {
        return Err("EOF".to_owned());
    };
    let bytes = go_lossy_strings(bytes);
    let mut stream = serde_json::Deserializer::from_slice(&bytes).into_iter::<StoreMsg>();
    match stream.next() {
        Some(Ok(msg)) => Ok(msg),
        None => Err("EOF".to_owned()),
        Some(Err(e)) => Err(go_json_error(&e, &bytes, first)),
    }
}

/// The input with what Go's `encoding/json` decodes to U+FFFD made acceptable to serde_json:
/// inside string literals, every byte of an invalid UTF-8 sequence becomes U+FFFD and a
/// `\uXXXX` escape of a lone surrogate becomes `\ufffd`. Bytes outside strings are kept, so
/// syntax errors still name the byte Go names.
fn go_lossy_strings(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += match (in_string, b) {
            (false, _) | (true, b'"') => {
                in_string ^= b == b'"';
                out.push(b);
                1
            }
            (true, b'\\') => copy_escape(&bytes[i..], &mut out),
            (true, 0x00..=0x7f) => {
                out.push(b);
                1
            }
            (true, _) => copy_utf8(&bytes[i..], &mut out),
        };
    }
    out
}

/// Copies the UTF-8 character at the start of `rest`, or writes U+FFFD for its first byte
/// when that byte does not start a valid sequence (Go's `utf8.DecodeRune` width 1). Returns the
/// bytes consumed.
fn copy_utf8(rest: &[u8], out: &mut Vec<u8>) -> usize {
    let head = &rest[..rest.len().min(4)];
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
    };
    match valid.chars().next() {
        Some(c) => {
            out.extend_from_slice(&head[..c.len_utf8()]);
            c.len_utf8()
        }
        None => {
            out.extend_from_slice("\u{fffd}".as_bytes());
            1
        }
    }
}

/// The value of the four hex digits at the start of `s`, if they are there.
fn hex4(s: &[u8]) -> Option<u16> {
    let digits = std::str::from_utf8(s.get(..4)?).ok()?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(digits, 16).ok()
}

/// Copies the escape at the start of `rest` (which begins with a backslash). A `\uXXXX` lone
/// surrogate (one not followed by its pair, as Go's `unquote` pairs them) becomes `\ufffd`.
/// Returns the bytes consumed.
fn copy_escape(rest: &[u8], out: &mut Vec<u8>) -> usize {
    let unit = match rest.get(1) {
        Some(b'u') => hex4(&rest[2..]),
        _ => None,
    };
    let Some(unit) = unit else {
        let n = rest.len().min(2);
        out.extend_from_slice(&rest[..n]);
        return n;
    };
    let n = match unit {
        0xd800..=0xdbff
            if rest.get(6..8) == Some(b"\\u")
                && hex4(&rest[8..]).is_some_and(|low| (0xdc00..=0xdfff).contains(&low)) =>
        {
            12
        }
        0xd800..=0xdfff => {
            out.extend_from_slice(b"\\ufffd");
            return 6;
        }
        _ => 6,
    };
    out.extend_from_slice(&rest[..n]);
    n
}

fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_owned(),
        b'"' => "'\"'".to_owned(),
        0x20..=0x7e => format!("'{}'", c as char),
        b'\n' => "'\\n'".to_owned(),
        b'\r' => "'\\r'".to_owned(),
        b'\t' => "'\\t'".to_owned(),
        0x00..=0x1f | 0x7f => format!("'\\x{c:02x}'"),
        0x80..=0xa0 | 0xad => format!("'\\u{:04x}'", c),
        _ => format!("'{}'", char::from(c)),
    }
}

fn go_json_error(e: &serde_json::Error, bytes: &[u8], first: usize) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "unexpected EOF".to_owned(),
        Category::Data => {
            let msg = e.to_string();
            match msg.rfind(" at line ") {
                Some(i) => msg[..i].to_owned(),
                None => msg,
            }
        }
        Category::Syntax | Category::Io => {
            let c = bytes[first];
            if !b"{[\"-0123456789tfn".contains(&c) {
                format!(
                    "invalid character {} looking for beginning of value",
                    quote_char(c)
                )
            } else {
                let off = byte_offset(bytes, e.line(), e.column());
                match bytes.get(off) {
                    Some(&c) => format!("invalid character {} in JSON input", quote_char(c)),
                    None => "unexpected EOF".to_owned(),
                }
            }
        }
    }
}

/// The byte at serde_json's 1-based (line, column) position.
fn byte_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    start + column.saturating_sub(1)
}

impl<'de> de::Deserialize<'de> for StoreMsg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StoreVisitor)
    }
}

struct StoreVisitor;

const GO_TYPE: &str = "json: cannot unmarshal";

fn top_type_error<E: de::Error>(kind: &str) -> E {
    E::custom(format!(
        "{GO_TYPE} {kind} into Go value of type credentials.Credentials"
    ))
}

impl<'de> Visitor<'de> for StoreVisitor {
    type Value = StoreMsg;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a credentials object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<StoreMsg, E> {
        Ok(StoreMsg::default()) // Go: null leaves the struct empty
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<StoreMsg, E> {
        Err(top_type_error("bool"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<StoreMsg, E> {
        Err(top_type_error("number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<StoreMsg, E> {
        Err(top_type_error("number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<StoreMsg, E> {
        Err(top_type_error("number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<StoreMsg, E> {
        Err(top_type_error("string"))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<StoreMsg, A::Error> {
        Err(top_type_error("array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StoreMsg, A::Error> {
        let mut msg = StoreMsg::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let field = ["ServerURL", "Username", "Secret"]
                .into_iter()
                .find(|f| f.to_lowercase() == key.to_lowercase());
            match field {
                None => {
                    map.next_value::<de::IgnoredAny>()?;
                }
                Some(name) => {
                    if let Some(v) = map.next_value_seed(GoString(name))? {
                        match name {
                            "ServerURL" => msg.server_url = v,
                            "Username" => msg.username = v,
                            _ => msg.secret = Secret::new(v),
                        }
                    }
                }
            }
        }
        Ok(msg)
    }
}

/// A string field of the Go struct: a string, or `null` (no change), or a type error naming the
/// field as Go does.
struct GoString(&'static str);

impl<'de> DeserializeSeed<'de> for GoString {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl GoString {
    fn err<E: de::Error>(&self, kind: &str) -> E {
        E::custom(format!(
            "{GO_TYPE} {kind} into Go struct field Credentials.{} of type string",
            self.0
        ))
    }
}

impl<'de> Visitor<'de> for GoString {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<String>, E> {
        Ok(Some(v.to_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<String>, E> {
        Err(self.err("bool"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Option<String>, E> {
        Err(self.err("number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Option<String>, E> {
        Err(self.err("number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<String>, E> {
        Err(self.err("number"))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Option<String>, A::Error> {
        Err(self.err("array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Option<String>, A::Error> {
        Err(self.err("object"))
    }
}

#[cfg(test)]
mod tests;
