//! RFC 3339 times as Go writes and reads them in the cache file (SPEC §6 "Times").
//!
//! A time is an `i128` count of nanoseconds since the Unix epoch (UTC), which holds every year
//! from 0001 to 9999 with room to spare, so comparisons never overflow.

/// A time as Go's `time.Time` carries it in the cache: nanoseconds since the Unix epoch, with
/// [`ZERO_TIME`] for Go's zero value.
pub type GoTime = i128;

pub const NANOS_PER_SEC: i128 = 1_000_000_000;

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z: the years Go can write.
pub const MIN_WRITABLE: i128 = -62_167_219_200 * NANOS_PER_SEC;
pub const MAX_WRITABLE: i128 = 253_402_300_800 * NANOS_PER_SEC - 1;

/// Go's zero `time.Time`, 0001-01-01T00:00:00Z.
pub const ZERO_TIME: i128 = -62_135_596_800 * NANOS_PER_SEC;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u32, |acc, &c| {
        acc.checked_mul(10)?.checked_add(u32::from(c - b'0'))
    })
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±hh:mm)`, the form Go's `time.Time` reads from JSON.
pub fn parse_rfc3339(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = i64::from(digits(&b[0..4])?);
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let min = digits(&b[14..16])?;
    let sec = digits(&b[17..19])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos: i128 = 0;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        let frac = i128::from(digits(&rest[1..=n])?);
        nanos = frac * 10i128.pow(9 - n as u32);
        rest = &rest[1 + n..];
    }
    let offset_secs: i128 = match rest {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = digits(&[*h1, *h2])?;
            let om = digits(&[*m1, *m2])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = i128::from(oh * 3600 + om * 60);
            if *sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    let days = i128::from(days_from_civil(year, month, day));
    let secs = days * 86_400 + i128::from(hour * 3600 + min * 60 + sec) - offset_secs;
    Some(secs * NANOS_PER_SEC + nanos)
}

/// Formats as Go's `time.Time.MarshalJSON` does for a UTC time: RFC 3339 with a fraction of up to
/// nine digits, trailing zeros trimmed, and `Z`.
/// Times outside Go's `MarshalJSON` range (years 0000 to 9999) are clamped to it, so the cache
/// file stays readable by both programs whatever an API or a file said.
pub fn format_rfc3339_utc(t: i128) -> String {
    let t = t.clamp(MIN_WRITABLE, MAX_WRITABLE);
    let secs = t.div_euclid(NANOS_PER_SEC);
    let nanos = t.rem_euclid(NANOS_PER_SEC) as u32;
    let days = secs.div_euclid(86_400) as i64;
    let sod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        y,
        m,
        d,
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Now, in nanoseconds since the Unix epoch.
pub fn now() -> i128 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

/// Property tests: format/parse round trips over the whole year 1–9999 range, and parsing every
/// RFC 3339 form (fraction of 0–9 digits, `Z` or `±hh:mm`) agrees with an independent day count.
#[cfg(test)]
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
