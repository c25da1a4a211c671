//! The file format (SPEC §6 "File format"): parse what Go reads, serialize byte-identically to
//! Go's `json.MarshalIndent(cache, "", "  ")`.

use super::{CacheFile, Entry};
use crate::go::time::GoTime;
use crate::secret::Secret;
use serde_json::Value;

pub const CACHE_VERSION: &str = "1.0";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CorruptCache {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("unexpected structure: {0}")]
    Shape(&'static str),
    #[error("unsupported cache version")]
    Version,
}

fn field_str<'a>(
    obj: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<&'a str, CorruptCache> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(CorruptCache::Shape("entry field is not a string")),
    }
}

fn field_time(obj: &serde_json::Map<String, Value>, key: &str) -> Result<GoTime, CorruptCache> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(GoTime::ZERO),
        Some(Value::String(s)) => {
            GoTime::parse_rfc3339(s).ok_or(CorruptCache::Shape("entry time is not RFC 3339"))
        }
        Some(_) => Err(CorruptCache::Shape("entry time is not a string")),
    }
}

/// Parses a cache file. Anything Go would fail on, or that would make it misbehave, is corrupt.
pub fn parse(bytes: &[u8]) -> Result<CacheFile, CorruptCache> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| CorruptCache::Json(e.to_string()))?;
    let Value::Object(top) = value else {
        return Err(CorruptCache::Shape("top level is not an object"));
    };
    if top.keys().any(|k| k != "Registries" && k != "Version") {
        return Err(CorruptCache::Shape("unknown top-level field"));
    }
    if top.get("Version").and_then(Value::as_str) != Some(CACHE_VERSION) {
        return Err(CorruptCache::Version);
    }
    let Some(Value::Object(registries)) = top.get("Registries") else {
        return Err(CorruptCache::Shape("Registries is not an object"));
    };
    let mut out = CacheFile::default();
    for (key, value) in registries {
        let Value::Object(obj) = value else {
            return Err(CorruptCache::Shape("entry is not an object"));
        };
        let service = match field_str(obj, "Service")? {
            "" => "ecr",
            s => s,
        };
        out.registries.insert(
            key.clone(),
            Entry {
                authorization_token: Secret::new(field_str(obj, "AuthorizationToken")?.to_owned()),
                requested_at: field_time(obj, "RequestedAt")?,
                expires_at: field_time(obj, "ExpiresAt")?,
                proxy_endpoint: field_str(obj, "ProxyEndpoint")?.to_owned(),
                service: service.to_owned(),
            },
        );
    }
    Ok(out)
}

/// Serializes as Go's `json.MarshalIndent(cache, "", "  ")`: byte-identical output.
pub fn serialize(file: &CacheFile) -> String {
    use crate::go::json::push_str;
    let mut out = String::from("{\n  \"Registries\": {");
    for (i, (key, e)) in file.registries.iter().enumerate() {
        out.push_str(if i == 0 { "\n    " } else { ",\n    " });
        push_str(&mut out, key);
        out.push_str(": {\n      \"AuthorizationToken\": ");
        push_str(&mut out, e.authorization_token.expose());
        out.push_str(",\n      \"RequestedAt\": ");
        push_str(&mut out, &e.requested_at.to_rfc3339());
        out.push_str(",\n      \"ExpiresAt\": ");
        push_str(&mut out, &e.expires_at.to_rfc3339());
        out.push_str(",\n      \"ProxyEndpoint\": ");
        push_str(&mut out, &e.proxy_endpoint);
        out.push_str(",\n      \"Service\": ");
        push_str(&mut out, &e.service);
        out.push_str("\n    }");
    }
    if !file.registries.is_empty() {
        out.push_str("\n  ");
    }
    out.push_str("},\n  \"Version\": \"1.0\"\n}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::testutil::*;

    #[test]
    fn serializes_like_go_marshal_indent() {
        let mut f = CacheFile::default();
        assert_eq!(
            serialize(&f),
            "{\n  \"Registries\": {},\n  \"Version\": \"1.0\"\n}"
        );
        f.registries.insert(
            "b".into(),
            entry(
                GoTime::parse_rfc3339("2021-03-01T14:31:17.62578Z").unwrap(),
                GoTime::parse_rfc3339("2021-03-02T02:31:17.608Z").unwrap(),
            ),
        );
        let mut public = entry(at(0), at(0));
        public.service = "ecr-public".into();
        public.proxy_endpoint = "https://public.ecr.aws".into();
        public.authorization_token = Secret::new("<&>".into());
        f.registries.insert("a".into(), public);
        let want = r#"{
  "Registries": {
    "a": {
      "AuthorizationToken": "\u003c\u0026\u003e",
      "RequestedAt": "1970-01-01T00:00:00Z",
      "ExpiresAt": "1970-01-01T00:00:00Z",
      "ProxyEndpoint": "https://public.ecr.aws",
      "Service": "ecr-public"
    },
    "b": {
      "AuthorizationToken": "QVdTOnB3",
      "RequestedAt": "2021-03-01T14:31:17.62578Z",
      "ExpiresAt": "2021-03-02T02:31:17.608Z",
      "ProxyEndpoint": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
      "Service": "ecr"
    }
  },
  "Version": "1.0"
}"#;
        assert_eq!(serialize(&f), want);
        assert_eq!(parse(want.as_bytes()).unwrap(), f);
    }

    #[test]
    fn parses_go_written_file() {
        let go = r#"{"Registries":{"k":{"AuthorizationToken":"QVdTOnB3","RequestedAt":"2021-03-01T15:31:17.625780278+01:00","ExpiresAt":"2021-03-02T02:31:17.608Z","ProxyEndpoint":"https://000000000000.dkr.ecr.eu-west-1.amazonaws.com","Extra":1}},"Version":"1.0"}"#;
        let f = parse(go.as_bytes()).unwrap();
        let e = &f.registries["k"];
        assert_eq!(e.service, "ecr");
        assert_eq!(
            e.requested_at.to_rfc3339(),
            "2021-03-01T14:31:17.625780278Z"
        );
    }

    #[test]
    fn corrupt_files() {
        for bad in [
            "",
            "null",
            "{",
            "[]",
            "{\"Registries\":{},\"Version\":\"2.0\"}",
            "{\"Registries\":{}}",
            "{\"Registries\":null,\"Version\":\"1.0\"}",
            "{\"Registries\":{\"k\":null},\"Version\":\"1.0\"}",
            "{\"Registries\":{\"k\":{\"ExpiresAt\":5}},\"Version\":\"1.0\"}",
            "{\"Registries\":{\"k\":{\"ExpiresAt\":\"yesterday\"}},\"Version\":\"1.0\"}",
            "{\"Registries\":{\"k\":{\"AuthorizationToken\":[]}},\"Version\":\"1.0\"}",
            "{\"Registries\":{},\"Version\":\"1.0\",\"Other\":1}",
            "{\"Registries\":{},\"Version\":1.0}",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::cache::testutil::strategy::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn serialize_parse_round_trip(file in cache_file()) {
            let text = serialize(&file);
            prop_assert_eq!(parse(text.as_bytes()), Ok(file.clone()), "{}", text);
            // valid JSON that decodes to the same strings (Go's escaping is lossless)
            let v: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&v["Version"], "1.0");
            let regs = v["Registries"].as_object().unwrap();
            prop_assert_eq!(regs.len(), file.registries.len());
            for (key, e) in &file.registries {
                let got = &regs[key.as_str()];
                let token = e.authorization_token.expose().as_str();
                prop_assert_eq!(&got["AuthorizationToken"], token);
                prop_assert_eq!(&got["ProxyEndpoint"], e.proxy_endpoint.as_str());
                prop_assert_eq!(&got["Service"], e.service.as_str());
            }
            // HTML-safe and control-free, as Go writes it
            prop_assert!(!text.contains(['<', '>', '&', '\u{2028}', '\u{2029}']), "{}", text);
            prop_assert!(!text.chars().any(|c| c < ' ' && c != '\n'), "{}", text);
            // keys in bytewise order, `Registries` before `Version`, no trailing newline
            let layout = text.starts_with("{\n  \"Registries\": {") && text.ends_with("\n}");
            prop_assert!(layout, "{}", text);
        }

        #[test]
        fn go_compact_form_with_offsets_parses_the_same(
            file in cache_file(),
            offset_min in -1439i32..=1439,
        ) {
            // what Go's json.Marshal (no indent) would write, with times in another zone
            let shift = |t: GoTime| GoTime::from_unix_nanos(
                t.unix_nanos() + i128::from(offset_min) * 60 * 1_000_000_000,
            );
            let zoned = |t: GoTime| {
                let local = shift(t).to_rfc3339();
                let sign = if offset_min < 0 { '-' } else { '+' };
                let m = offset_min.unsigned_abs();
                format!("{}{sign}{:02}:{:02}", local.trim_end_matches('Z'), m / 60, m % 60)
            };
            let mut regs = serde_json::Map::new();
            for (k, e) in &file.registries {
                let in_range = |t: GoTime| (ZERO_TIME..=MAX_TIME).contains(&shift(t));
                let time = |t: GoTime| {
                    if in_range(t) {
                        zoned(t)
                    } else {
                        t.to_rfc3339()
                    }
                };
                regs.insert(k.clone(), serde_json::json!({
                    "AuthorizationToken": e.authorization_token.expose(),
                    "RequestedAt": time(e.requested_at),
                    "ExpiresAt": time(e.expires_at),
                    "ProxyEndpoint": e.proxy_endpoint,
                    "Service": e.service,
                    "Unknown": [1, {"x": null}],
                }));
            }
            let text = serde_json::json!({"Version": "1.0", "Registries": regs}).to_string();
            prop_assert_eq!(parse(text.as_bytes()), Ok(file), "{}", text);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(file) = parse(&bytes) {
                prop_assert_eq!(parse(serialize(&file).as_bytes()), Ok(file));
            }
        }
    }

    /// Regression (the same bug seen from the cache): an entry time outside years 0000–9999,
    /// read from a file (`9999-12-31T23:59:59-00:01` is valid RFC 3339) or taken from an API
    /// `expiresAt`, makes `serialize` write a file that `parse` (and Go) reject: every entry is
    /// lost at the next read. Fixed by clamping in `GoTime::to_rfc3339`.
    #[test]
    fn times_outside_go_range_keep_the_file_readable() {
        let text = concat!(
            r#"{"Registries":{"a":{"ExpiresAt":"9999-12-31T23:59:59-00:01"},"#,
            r#""b":{"AuthorizationToken":"QVdTOnB3"}},"Version":"1.0"}"#
        );
        let mut file = parse(text.as_bytes()).unwrap();
        file.registries.insert(
            "c".into(),
            Entry {
                authorization_token: Secret::new("QVdTOnB3".into()),
                requested_at: GoTime::from_unix_secs(1_700_000_000),
                expires_at: GoTime::from_unix_secs(1_000_000_000_000),
                proxy_endpoint: String::new(),
                service: "ecr".into(),
            },
        );
        let out = serialize(&file);
        let back = parse(out.as_bytes()).unwrap_or_else(|e| panic!("{e}:\n{out}"));
        assert_eq!(back.registries.len(), 3);
        assert!(back.registries["c"].is_fresh(GoTime::from_unix_secs(1_700_000_001)));
    }
}
