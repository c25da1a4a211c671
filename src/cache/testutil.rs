//! Fixtures shared by the cache's tests: times, a sample entry, and proptest strategies.

use super::Entry;
use crate::go::time::GoTime;
use crate::secret::Secret;
use std::path::Path;
use std::time::Duration;

pub const T0: GoTime = GoTime::from_unix_secs(1_700_000_000);
pub const ZERO_TIME: GoTime = GoTime::ZERO;
pub const NS: Duration = Duration::from_nanos(1);
pub const SEC: Duration = Duration::from_secs(1);
pub const MINUTE: Duration = Duration::from_secs(60);
pub const HOUR: Duration = Duration::from_secs(3600);

/// The time `n` nanoseconds after the Unix epoch.
pub fn at(n: i128) -> GoTime {
    GoTime::from_unix_nanos(n)
}

pub fn entry(requested: GoTime, expires: GoTime) -> Entry {
    Entry {
        authorization_token: Secret::new("QVdTOnB3".into()),
        requested_at: requested,
        expires_at: expires,
        proxy_endpoint: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
        service: "ecr".into(),
    }
}

/// How many `.config.json.tmp*` files are in `dir`.
pub fn temp_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with(".config.json.tmp")
        })
        .count()
}

/// Proptest strategies for cache contents.
pub mod strategy {
    pub use super::{HOUR, MINUTE, ZERO_TIME};
    use crate::cache::{CacheFile, Entry};
    use crate::go::time::GoTime;
    use crate::secret::Secret;
    use proptest::prelude::*;

    /// 9999-12-31T23:59:59.999999999Z
    pub const MAX_TIME: GoTime = GoTime::MAX_WRITABLE;

    /// Any text, weighted toward what JSON escaping must get right.
    pub fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,24}",
            "[\\x00-\\x7f]{0,24}",
            "[<>&\"\\\\/\\x00-\\x1f\\x7f\u{80}\u{2028}\u{2029}\u{fffd}a-z]{0,16}",
        ]
    }

    pub fn time() -> impl Strategy<Value = GoTime> {
        prop_oneof![
            Just(ZERO_TIME.unix_nanos()),
            Just(MAX_TIME.unix_nanos()),
            ZERO_TIME.unix_nanos()..=MAX_TIME.unix_nanos(),
            // around now, at millisecond and nanosecond precision
            (1_600_000_000_000i128..2_000_000_000_000).prop_map(|ms| ms * 1_000_000),
            (1_600_000_000_000_000_000i128..2_000_000_000_000_000_000),
        ]
        .prop_map(GoTime::from_unix_nanos)
    }

    pub fn entry() -> impl Strategy<Value = Entry> {
        (
            text(),
            time(),
            time(),
            text(),
            prop_oneof![
                Just("ecr".to_owned()),
                Just("ecr-public".to_owned()),
                "\\PC{1,12}"
            ],
        )
            .prop_map(
                |(token, requested_at, expires_at, proxy_endpoint, service)| Entry {
                    authorization_token: Secret::new(token),
                    requested_at,
                    expires_at,
                    proxy_endpoint,
                    service,
                },
            )
    }

    pub fn cache_file() -> impl Strategy<Value = CacheFile> {
        proptest::collection::btree_map(text(), entry(), 0..6)
            .prop_map(|registries| CacheFile { registries })
    }
}
