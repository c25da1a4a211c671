//! The credential-helper protocol (SPEC §2, §3, §7, §8): argv, stdin and stdout rules, and
//! every user-visible text, byte for byte as the Go helper writes them.

use crate::config::Config;
use crate::helper::Helper;
use crate::json;
use crate::log;
use crate::secret::Secret;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::time::Instant;

pub const NOT_FOUND: &str = "credentials not found in native keychain";
pub const USAGE: &str = "Usage: docker-credential-ecr-login <store|get|erase|list|version>";
pub const PACKAGE: &str = "github.com/awslabs/amazon-ecr-credential-helper/ecr-login";
pub const NO_SERVER_URL: &str = "no credentials server URL";
pub const NO_USERNAME: &str = "no credentials username";
pub const TOKEN_TOO_LONG: &str = "bufio.Scanner: token too long";
pub const NOT_IMPLEMENTED: &str = "not implemented";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GIT_COMMIT: &str = env!("ECR_LOGIN_GIT_COMMIT");
/// D15: stdin beyond this is refused.
pub const STDIN_CAP: usize = 1 << 20;

const HELP: &str = "\
docker-credential-ecr-login: Docker credential helper for Amazon ECR and ECR Public

Usage: docker-credential-ecr-login <store|get|erase|list|version>
  get      read a registry URL on stdin, print its credentials as JSON
  list     print every cached registry and its username as JSON
  store    accepted for compatibility; nothing is stored
  erase    accepted for compatibility; nothing is erased
  version  print the version
  -v       print the version banner

Configure with AWS_ECR_CACHE_DIR, AWS_ECR_DISABLE_CACHE, AWS_ECR_TIMEOUT, AWS_ECR_LOG_LEVEL,
AWS_ECR_IGNORE_CREDS_STORAGE and the usual AWS_* variables. Log: <cache dir>/log/ecr-login.log
";

/// What argv asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Usage,
    Banner,
    Help,
    Version,
    Get,
    Store,
    Erase,
    List,
    Unknown(String),
}

/// The process's answer: stdout and stderr bytes and the exit code.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub code: i32,
}

impl Outcome {
    fn line(text: &str, code: i32) -> Outcome {
        Outcome {
            stdout: format!("{text}\n").into_bytes(),
            stderr: Vec::new(),
            code,
        }
    }

    fn silent(code: i32) -> Outcome {
        Outcome {
            code,
            ..Outcome::default()
        }
    }
}

fn is_true(v: &str) -> bool {
    matches!(v, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

/// Reads argv (without the program name) as SPEC §2 says.
pub fn parse_args(args: &[OsString]) -> Action {
    let Some(first) = args.first() else {
        return Action::Usage;
    };
    let first = first.to_string_lossy();
    let flag = first.strip_prefix("--").or_else(|| first.strip_prefix('-'));
    if let Some(flag) = flag {
        match flag.split_once('=') {
            None if flag == "v" => return Action::Banner,
            Some(("v", value)) if is_true(value) => return Action::Banner,
            None if matches!(flag, "h" | "help") => return Action::Help,
            // D2: `--version`/`-version` alone; with more arguments it is the usage line.
            None if flag == "version" && args.len() == 1 => return Action::Version,
            _ => {}
        }
    }
    if args.len() > 1 {
        return Action::Usage;
    }
    match first.as_ref() {
        "get" => Action::Get,
        "store" => Action::Store,
        "erase" => Action::Erase,
        "list" => Action::List,
        "version" => Action::Version,
        other => Action::Unknown(other.to_owned()),
    }
}

/// Answers that need neither stdin nor configuration.
pub fn static_answer(action: &Action) -> Option<Outcome> {
    Some(match action {
        Action::Usage => Outcome::line(USAGE, 1),
        Action::Banner => Outcome {
            stdout: format!(
                "amazon-ecr-credential-helper\nVersion:    {VERSION}\nGit commit: {GIT_COMMIT}\n"
            )
            .into_bytes(),
            stderr: Vec::new(),
            code: 0,
        },
        Action::Help => Outcome {
            stdout: Vec::new(),
            stderr: HELP.as_bytes().to_vec(),
            code: 0,
        },
        Action::Version => Outcome::line(
            &format!("docker-credential-ecr-login ({PACKAGE}) {VERSION}"),
            0,
        ),
        Action::Unknown(x) => Outcome::line(
            &format!("docker-credential-ecr-login: unknown action: {x}"),
            1,
        ),
        _ => return None,
    })
}

/// Stdin as one joined string: lines split on `\n`, one trailing `\r` dropped from each, joined
/// with no separator. `Err` when over the cap.
pub fn read_request(input: impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    input.take(STDIN_CAP as u64 + 1).read_to_end(&mut buf)?;
    if buf.len() > STDIN_CAP {
        return Ok(None);
    }
    let mut joined = Vec::with_capacity(buf.len());
    for line in buf.split(|&b| b == b'\n') {
        joined.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
    }
    Ok(Some(joined))
}

/// Runs a verb that reads stdin or the cache.
pub fn run(action: &Action, stdin: impl Read, cfg: &Config) -> Outcome {
    if let Some(out) = static_answer(action) {
        return out;
    }
    if *action == Action::List {
        let deadline = Instant::now() + cfg.timeout;
        return list_outcome(&Helper::new(cfg, deadline).list());
    }
    let request = match read_request(stdin) {
        Ok(r) => r,
        Err(e) => {
            log::error("Cannot read stdin", &[("error", &e.to_string())]);
            None
        }
    };
    let deadline = Instant::now() + cfg.timeout;
    match action {
        Action::Get => get(request, cfg, deadline),
        Action::Store => store(request, cfg),
        Action::Erase => erase(request, cfg),
        _ => Outcome::line(USAGE, 1),
    }
}

fn get(request: Option<Vec<u8>>, cfg: &Config, deadline: Instant) -> Outcome {
    let Some(bytes) = request else {
        log::error("Request on stdin is larger than 1 MiB", &[]);
        return Outcome::line(NOT_FOUND, 1);
    };
    let Ok(text) = String::from_utf8(bytes) else {
        log::info("Request on stdin is not UTF-8; not an ECR registry", &[]);
        return Outcome::line(NOT_FOUND, 1);
    };
    let server_url = text.trim();
    if server_url.is_empty() {
        return Outcome::line(NO_SERVER_URL, 1);
    }
    match Helper::new(cfg, deadline).get(server_url).map(|a| a.creds) {
        Some(c) => {
            let mut out = String::from("{\"ServerURL\":");
            json::push_str(&mut out, server_url);
            out.push_str(",\"Username\":");
            json::push_str(&mut out, &c.username);
            out.push_str(",\"Secret\":");
            json::push_str(&mut out, c.password.expose());
            out.push_str("}\n");
            Outcome {
                stdout: out.into_bytes(),
                stderr: Vec::new(),
                code: 0,
            }
        }
        None => Outcome::line(NOT_FOUND, 1),
    }
}

fn list_outcome(entries: &std::collections::BTreeMap<String, String>) -> Outcome {
    let mut out = String::from("{");
    for (i, (endpoint, user)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::push_str(&mut out, endpoint);
        out.push(':');
        json::push_str(&mut out, user);
    }
    out.push_str("}\n");
    Outcome {
        stdout: out.into_bytes(),
        stderr: Vec::new(),
        code: 0,
    }
}

/// `store` and `erase` after validation: nothing is ever stored (SPEC §7).
fn storage_verdict(cfg: &Config, verb: &str) -> Outcome {
    log::warn(
        &format!("{verb} is not supported by the ECR credential helper; nothing was changed"),
        &[],
    );
    if cfg.ignore_creds_storage {
        Outcome::silent(0)
    } else {
        Outcome::line(NOT_IMPLEMENTED, 1)
    }
}

fn erase(request: Option<Vec<u8>>, cfg: &Config) -> Outcome {
    let Some(bytes) = request else {
        return Outcome::line(TOKEN_TOO_LONG, 1);
    };
    if String::from_utf8_lossy(&bytes).trim().is_empty() {
        return Outcome::line(NO_SERVER_URL, 1);
    }
    storage_verdict(cfg, "erase")
}

fn store(request: Option<Vec<u8>>, cfg: &Config) -> Outcome {
    let Some(bytes) = request else {
        return Outcome::line(TOKEN_TOO_LONG, 1);
    };
    let msg = match parse_store(&bytes) {
        Ok(m) => m,
        Err(e) => return Outcome::line(&e, 1),
    };
    if msg.server_url.is_empty() {
        return Outcome::line(NO_SERVER_URL, 1);
    }
    if msg.username.is_empty() {
        return Outcome::line(NO_USERNAME, 1);
    }
    storage_verdict(cfg, "store")
}

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
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn argv_table() {
        assert_eq!(parse_args(&args(&[])), Action::Usage);
        for v in [
            "-v", "--v", "-v=1", "--v=t", "-v=T", "-v=TRUE", "-v=true", "-v=True",
        ] {
            assert_eq!(parse_args(&args(&[v])), Action::Banner, "{v}");
        }
        assert_eq!(parse_args(&args(&["-v", "get", "x"])), Action::Banner);
        for h in ["-h", "-help", "--h", "--help"] {
            assert_eq!(parse_args(&args(&[h])), Action::Help);
        }
        assert_eq!(parse_args(&args(&["--version"])), Action::Version);
        assert_eq!(parse_args(&args(&["-version"])), Action::Version);
        assert_eq!(parse_args(&args(&["version"])), Action::Version);
        assert_eq!(parse_args(&args(&["get"])), Action::Get);
        assert_eq!(parse_args(&args(&["list"])), Action::List);
        for x in ["-v=false", "--", "foo", "-x", "GET", "-v=yes"] {
            assert_eq!(parse_args(&args(&[x])), Action::Unknown(x.into()), "{x}");
        }
        assert_eq!(parse_args(&args(&["get", "-v"])), Action::Usage);
        assert_eq!(parse_args(&args(&["--", "get"])), Action::Usage);
        for v in ["--version", "-version", "version"] {
            assert_eq!(parse_args(&args(&[v, "x"])), Action::Usage, "{v} x");
        }
    }

    #[test]
    fn static_texts() {
        let out = |a| String::from_utf8(static_answer(&a).unwrap().stdout).unwrap();
        assert_eq!(
            out(Action::Usage),
            "Usage: docker-credential-ecr-login <store|get|erase|list|version>\n"
        );
        assert_eq!(
            out(Action::Version),
            format!("docker-credential-ecr-login (github.com/awslabs/amazon-ecr-credential-helper/ecr-login) {VERSION}\n")
        );
        assert_eq!(
            out(Action::Banner),
            format!(
                "amazon-ecr-credential-helper\nVersion:    {VERSION}\nGit commit: {GIT_COMMIT}\n"
            )
        );
        assert_eq!(
            out(Action::Unknown("foo".into())),
            "docker-credential-ecr-login: unknown action: foo\n"
        );
        let help = static_answer(&Action::Help).unwrap();
        assert!(help.stdout.is_empty() && !help.stderr.is_empty() && help.code == 0);
    }

    #[test]
    fn stdin_joining() {
        let r = |s: &[u8]| read_request(s).unwrap().unwrap();
        assert_eq!(r(b"ho\nst"), b"host");
        assert_eq!(r(b"host\r\n"), b"host");
        assert_eq!(r(b"a\r\r\nb"), b"a\rb");
        assert_eq!(r(b""), b"");
        let big = vec![b'a'; STDIN_CAP + 1];
        assert!(read_request(&big[..]).unwrap().is_none());
        let ok = vec![b'a'; STDIN_CAP];
        assert!(read_request(&ok[..]).unwrap().is_some());
    }

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

/// Property tests: stdin joining, `store` JSON decoding, and Go's JSON escaping (SPEC §3) of
/// what `get`/`list` print: valid JSON that decodes back to the input, HTML-safe, nothing else
/// escaped.
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
        json::push_str(&mut out, s);
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

        #[test]
        fn stdin_lines_join_without_separator(
            lines in proptest::collection::vec(("[^\n]{0,12}", any::<bool>()), 1..6),
        ) {
            let input = lines
                .iter()
                .map(|(l, cr)| format!("{l}{}", if *cr { "\r" } else { "" }))
                .collect::<Vec<_>>()
                .join("\n");
            let want: String = lines
                .iter()
                .map(|(l, cr)| if *cr { l.as_str() } else { l.strip_suffix('\r').unwrap_or(l) })
                .collect();
            let got = read_request(input.as_bytes()).unwrap().unwrap();
            prop_assert_eq!(String::from_utf8(got).unwrap(), want);
        }

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
