//! The memo's bytes, exactly, and its file handling.

use super::*;
use crate::cache::testutil::*;
use std::os::unix::fs::PermissionsExt;

const BYTES: &str = r#"{"Places":{"p1":{"AccessKeyId":"ASIAONE","Expiration":"2023-11-14T23:13:20Z","ResolvedAt":"2023-11-14T22:13:20Z"}},"Version":"imds1"}"#;

fn one() -> Resolution {
    Resolution {
        akid: "ASIAONE".into(),
        expires: T0 + HOUR,
        resolved: T0,
    }
}

#[test]
fn exact_bytes_both_ways() {
    let memo = vec![("p1".to_owned(), one())];
    assert_eq!(serialize_memo(&memo), BYTES);
    assert_eq!(parse_memo(BYTES.as_bytes()), memo);
    let odd = vec![(
        "p\"2".to_owned(),
        Resolution {
            akid: "A\"<\\".into(),
            ..one()
        },
    )];
    assert_eq!(parse_memo(serialize_memo(&odd).as_bytes()), odd);
}

#[test]
fn anything_else_reads_as_empty() {
    for bad in [
        "",
        "{",
        "null",
        "[]",
        r#"{"Places":{}}"#,
        r#"{"Places":{"p1":{}},"Version":"imds2"}"#,
        r#"{"Places":[],"Version":"imds1"}"#,
        &BYTES[..BYTES.len() - 1],
    ] {
        assert_eq!(parse_memo(bad.as_bytes()), Memo::new(), "{bad}");
    }
    // A malformed entry is skipped, the others are kept.
    let mixed = r#"{"Places":{"a":{"AccessKeyId":"","Expiration":"2023-11-14T23:13:20Z","ResolvedAt":"2023-11-14T22:13:20Z"},"b":{"AccessKeyId":"X","Expiration":"soon","ResolvedAt":"2023-11-14T22:13:20Z"},"p1":{"AccessKeyId":"ASIAONE","Expiration":"2023-11-14T23:13:20Z","ResolvedAt":"2023-11-14T22:13:20Z"}},"Version":"imds1"}"#;
    assert_eq!(parse_memo(mixed.as_bytes()), vec![("p1".to_owned(), one())]);
}

#[test]
fn store_is_private_keeps_usable_places_and_ignores_symlinks() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("ecr"));
    assert_eq!(cache.memo_load(), Memo::new());
    let old = Resolution {
        akid: "ASIAOLD".into(),
        ..one()
    };
    cache.memo_store("old", old, &|_| true).unwrap();
    cache.memo_store("p1", one(), &|_| true).unwrap();
    assert_eq!(cache.memo_load().len(), 2);
    let mode = std::fs::metadata(cache.memo_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    cache
        .memo_store("p1", one(), &|r| r.akid != "ASIAOLD")
        .unwrap();
    assert_eq!(cache.memo_load(), vec![("p1".to_owned(), one())]);
    assert_eq!(temp_files(&tmp.path().join("ecr")), 0);

    std::fs::remove_file(cache.memo_path()).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::write(&elsewhere, BYTES).unwrap();
    std::os::unix::fs::symlink(&elsewhere, cache.memo_path()).unwrap();
    assert_eq!(cache.memo_load(), Memo::new(), "a symlink is not followed");
    cache.memo_store("p2", one(), &|_| true).unwrap();
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), BYTES);
}

#[test]
fn keeps_the_most_recently_resolved_places() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().to_path_buf());
    for i in 0..MAX_MEMO_PLACES + 5 {
        let r = Resolution {
            resolved: T0 + SEC * i as u32,
            ..one()
        };
        cache.memo_store(&format!("p{i:03}"), r, &|_| true).unwrap();
    }
    let memo = cache.memo_load();
    assert_eq!(memo.len(), MAX_MEMO_PLACES);
    let has = |p: &str| memo.iter().any(|(q, _)| q == p);
    assert!(!has("p004") && has("p005"));
}

#[test]
fn an_unwritable_directory_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, "").unwrap();
    let cache = Cache::new(file.join("ecr"));
    assert!(cache.memo_store("p1", one(), &|_| true).is_err());
    assert_eq!(cache.memo_load(), Memo::new());
}
