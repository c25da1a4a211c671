//! `cache::parse` (SPEC §6 "File format") on arbitrary bytes: never panics; whatever parses
//! serializes to valid JSON in Go's layout that parses back, to the same cache whenever its times
//! are in the range Go can write (years 0000–9999), and serializing is idempotent from then on.
#![no_main]


use docker_credential_ecr_login::cache;
use docker_credential_ecr_login::go::time::GoTime;
use libfuzzer_sys::fuzz_target;

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z: what Go's `MarshalJSON` can write.
const GO_MIN: GoTime = GoTime::MIN_WRITABLE;
const GO_MAX: GoTime = GoTime::MAX_WRITABLE;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = cache::parse(data) else {
        return;
    };
    let text = cache::serialize(&file);
    // Valid JSON, with Go's HTML-safe escapes (no raw <, >, &, U+2028, U+2029).
    let value: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("serialize wrote invalid JSON ({e}):\n{text}"));
    assert!(value.is_object());
    assert!(
        !text.contains(['<', '>', '&', '\u{2028}', '\u{2029}']),
        "unescaped HTML-unsafe character:\n{text}"
    );
    assert!(
        text.starts_with("{\n  \"Registries\": {") && text.ends_with("\n  \"Version\": \"1.0\"\n}")
    );
    let back = cache::parse(text.as_bytes())
        .unwrap_or_else(|e| panic!("serialize output does not parse back ({e}):\n{text}"));
    let in_range = |t: GoTime| (GO_MIN..=GO_MAX).contains(&t);
    if file
        .registries
        .values()
        .all(|e| in_range(e.requested_at) && in_range(e.expires_at))
    {
        assert_eq!(back, file, "round trip changed the cache:\n{text}");
    }
    assert_eq!(cache::serialize(&back), text);
});
