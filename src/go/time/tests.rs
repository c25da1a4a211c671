//! Unit and property tests of [`GoTime`]'s RFC 3339 parsing and formatting.

use super::*;

/// The text of `t` (nanoseconds since the epoch) as Go writes it.
fn format_rfc3339_utc(t: i128) -> String {
    GoTime::from_unix_nanos(t).to_rfc3339()
}

/// `s` parsed, in nanoseconds since the epoch.
fn parse_rfc3339(s: &str) -> Option<i128> {
    GoTime::parse_rfc3339(s).map(GoTime::unix_nanos)
}

const ZERO_TIME: i128 = GoTime::ZERO.unix_nanos();

#[test]
fn zero_time_round_trips() {
    assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), Some(ZERO_TIME));
    assert_eq!(format_rfc3339_utc(ZERO_TIME), "0001-01-01T00:00:00Z");
}

#[test]
fn parses_go_forms() {
    let a = parse_rfc3339("2021-03-01T15:31:17.625780278+01:00").unwrap();
    assert_eq!(format_rfc3339_utc(a), "2021-03-01T14:31:17.625780278Z");
    let b = parse_rfc3339("2021-03-02T02:31:17.608Z").unwrap();
    assert_eq!(format_rfc3339_utc(b), "2021-03-02T02:31:17.608Z");
    assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Some(NANOS_PER_SEC));
    assert_eq!(
        parse_rfc3339("1970-01-01T00:00:00-00:30"),
        Some(1800 * NANOS_PER_SEC)
    );
    let max = parse_rfc3339("9999-12-31T23:59:59.999999999Z").unwrap();
    assert_eq!(format_rfc3339_utc(max), "9999-12-31T23:59:59.999999999Z");
    assert_eq!(
        format_rfc3339_utc(parse_rfc3339("2024-02-29T00:00:00.5Z").unwrap()),
        "2024-02-29T00:00:00.5Z"
    );
}

#[test]
fn rejects_malformed() {
    for s in [
        "",
        "2021-03-01",
        "2021-03-01 15:31:17Z",
        "2021-13-01T15:31:17Z",
        "2023-02-29T00:00:00Z",
        "2021-03-01T24:00:00Z",
        "2021-03-01T15:31:17",
        "2021-03-01T15:31:17.Z",
        "2021-03-01T15:31:17.1234567890Z",
        "2021-03-01T15:31:17+0100",
        "2021-03-01T15:31:17Zjunk",
        "２021-03-01T15:31:17Z",
    ] {
        assert_eq!(parse_rfc3339(s), None, "{s}");
    }
}

/// Property tests: format/parse round trips over the whole year 1–9999 range, and parsing every
/// RFC 3339 form (fraction of 0–9 digits, `Z` or `±hh:mm`) agrees with an independent day count.
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// 9999-12-31T23:59:59.999999999Z
    const MAX_TIME: i128 = 253_402_300_800 * NANOS_PER_SEC - 1;

    /// Days from 0001-01-01 to 1970-01-01, counted without `days_from_civil`.
    fn reference_days(y: i64, m: u32, d: u32) -> i64 {
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let p = y - 1;
        let before_year = 365 * p + p / 4 - p / 100 + p / 400;
        const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let before_month = CUM[m as usize - 1] + i64::from(m > 2 && leap(y));
        before_year + before_month + i64::from(d) - 1 - 719_162
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn format_parse_round_trip_years_1_to_9999(t in ZERO_TIME..=MAX_TIME) {
            let s = format_rfc3339_utc(t);
            prop_assert_eq!(parse_rfc3339(&s), Some(t), "{}", s);
            // Go's shape: 4-digit year, `T`, no trailing fraction zeros, `Z`.
            prop_assert!(s.len() >= 20 && s.len() <= 30 && s.ends_with('Z'), "{}", s);
            if let Some((_, frac)) = s.split_once('.') {
                prop_assert!(!frac.starts_with('Z') && !frac.ends_with("0Z"), "{}", s);
            }
        }

        #[test]
        fn round_trip_at_second_and_day_boundaries(
            day in (ZERO_TIME / NANOS_PER_SEC / 86_400)..=(MAX_TIME / NANOS_PER_SEC / 86_400),
            edge in prop_oneof![
                Just(0i128),
                Just(1),
                Just(NANOS_PER_SEC - 1),
                Just(86_400 * NANOS_PER_SEC - 1),
            ],
        ) {
            let t = (day * 86_400 * NANOS_PER_SEC + edge).clamp(ZERO_TIME, MAX_TIME);
            prop_assert_eq!(parse_rfc3339(&format_rfc3339_utc(t)), Some(t));
        }

        #[test]
        fn parses_every_form_like_a_day_count(
            y in 1i64..=9999,
            m in 1u32..=12,
            d in 1u32..=31,
            (hh, mm, ss) in (0u32..24, 0u32..60, 0u32..60),
            nanos in 0u32..1_000_000_000,
            digits in 0usize..=9,
            offset in proptest::option::of((any::<bool>(), 0u32..24, 0u32..60)),
        ) {
            let d = d.min(days_in_month(y, m));
            let frac = format!("{nanos:09}");
            let frac = &frac[..digits];
            let text_frac = if digits == 0 { String::new() } else { format!(".{frac}") };
            let (zone, off_secs) = match offset {
                None => ("Z".to_owned(), 0i128),
                Some((neg, oh, om)) => (
                    format!("{}{oh:02}:{om:02}", if neg { '-' } else { '+' }),
                    i128::from(oh * 3600 + om * 60) * if neg { -1 } else { 1 },
                ),
            };
            let s = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}{text_frac}{zone}");
            let frac_nanos = match digits {
                0 => 0,
                n => i128::from(frac.parse::<u32>().unwrap()) * 10i128.pow(9 - n as u32),
            };
            let want = (i128::from(reference_days(y, m, d)) * 86_400
                + i128::from(hh * 3600 + mm * 60 + ss)
                - off_secs)
                * NANOS_PER_SEC
                + frac_nanos;
            prop_assert_eq!(parse_rfc3339(&s), Some(want), "{}", s);
            if (ZERO_TIME..=MAX_TIME).contains(&want) {
                prop_assert_eq!(parse_rfc3339(&format_rfc3339_utc(want)), Some(want), "{}", s);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,40}|[0-9T:Z.+-]{18,36}") {
            if let Some(t) = parse_rfc3339(&s) {
                // Anything that parses is within a day of the 0000–9999 range.
                prop_assert!(t >= ZERO_TIME - 368 * 86_400 * NANOS_PER_SEC);
                prop_assert!(t <= MAX_TIME + 86_400 * NANOS_PER_SEC);
            }
        }
    }

    /// Regression (found by the cache round-trip property): `parse_rfc3339` accepts zoned times
    /// whose UTC year is 10000 or -1, and the API may send any `expiresAt`; `format_rfc3339_utc`
    /// then writes a 5-digit or negative year that neither this parser nor Go can read, so the
    /// whole cache file becomes unreadable. Fixed: `format_rfc3339_utc` clamps to
    /// 0000-01-01T00:00:00Z..=9999-12-31T23:59:59.999999999Z (Go's `MarshalJSON` range).
    #[test]
    fn formatting_outside_go_range_still_parses() {
        for s in ["9999-12-31T23:59:59-00:01", "0000-01-01T00:00:00+00:01"] {
            let t = parse_rfc3339(s).unwrap();
            let f = format_rfc3339_utc(t);
            assert!(parse_rfc3339(&f).is_some(), "{s} -> {f}");
        }
        for t in [
            MAX_TIME + 1,
            1_000_000_000_000 * NANOS_PER_SEC,
            ZERO_TIME - 400 * 86_400 * NANOS_PER_SEC,
            i128::from(i64::MAX) * NANOS_PER_SEC,
        ] {
            let f = format_rfc3339_utc(t);
            assert!(parse_rfc3339(&f).is_some(), "{t} -> {f}");
        }
    }
}
