//! RFC 3339 times as Go writes and reads them in the cache file (SPEC §6 "Times").
//!
//! [`GoTime`] is Go's `time.Time` as the cache carries it: an `i128` count of nanoseconds since
//! the Unix epoch (UTC), which holds every year from 0001 to 9999 with room to spare, so
//! comparisons never overflow, and [`GoTime::ZERO`] stands for Go's zero value.

use std::ops::{Add, Sub};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const NANOS_PER_SEC: i128 = 1_000_000_000;

/// A time as Go's `time.Time` carries it in the cache: nanoseconds since the Unix epoch, with
/// [`GoTime::ZERO`] for Go's zero value (0001-01-01T00:00:00Z, "unknown").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoTime(i128);

impl GoTime {
    /// Go's zero `time.Time`, 0001-01-01T00:00:00Z.
    pub const ZERO: GoTime = GoTime(-62_135_596_800 * NANOS_PER_SEC);
    /// 0000-01-01T00:00:00Z: the earliest time Go's `MarshalJSON` can write.
    pub const MIN_WRITABLE: GoTime = GoTime(-62_167_219_200 * NANOS_PER_SEC);
    /// 9999-12-31T23:59:59.999999999Z: the latest time Go's `MarshalJSON` can write.
    pub const MAX_WRITABLE: GoTime = GoTime(253_402_300_800 * NANOS_PER_SEC - 1);

    pub const fn from_unix_nanos(nanos: i128) -> GoTime {
        GoTime(nanos)
    }

    pub const fn from_unix_secs(secs: i64) -> GoTime {
        GoTime(secs as i128 * NANOS_PER_SEC)
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn unix_nanos(self) -> i128 {
        self.0
    }

    /// Now, from the system clock.
    pub fn now() -> GoTime {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => GoTime(d.as_nanos() as i128),
            Err(e) => GoTime(-(e.duration().as_nanos() as i128)),
        }
    }

    /// Go's `IsZero`: the zero value, which the cache uses for "no time".
    pub fn is_zero(self) -> bool {
        self == GoTime::ZERO
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±hh:mm)`, the form Go's `time.Time` reads from
    /// JSON.
    pub fn parse_rfc3339(s: &str) -> Option<GoTime> {
        parse_nanos(s).map(GoTime)
    }

    /// Formats as Go's `time.Time.MarshalJSON` does for a UTC time: RFC 3339 with a fraction of
    /// up to nine digits, trailing zeros trimmed, and `Z`. Times outside Go's `MarshalJSON` range
    /// (years 0000 to 9999) are clamped to it ([`GoTime::clamp_writable`]), so the cache file
    /// stays readable by both programs whatever an API or a file said.
    pub fn to_rfc3339(self) -> String {
        format_nanos(self.clamp_writable().0)
    }

    /// The nearest time Go's `MarshalJSON` can write.
    pub fn clamp_writable(self) -> GoTime {
        self.clamp(GoTime::MIN_WRITABLE, GoTime::MAX_WRITABLE)
    }

    /// `self + d`, saturating at the ends of the representable range.
    pub fn saturating_add(self, d: Duration) -> GoTime {
        GoTime(self.0.saturating_add(nanos_of(d)))
    }

    /// `self - d`, saturating at the ends of the representable range.
    pub fn saturating_sub(self, d: Duration) -> GoTime {
        GoTime(self.0.saturating_sub(nanos_of(d)))
    }

    /// Go's `t.Add(d)` for a Go `Duration` of `nanos` (negative moves back), saturating.
    pub fn add_go_nanos(self, nanos: i64) -> GoTime {
        GoTime(self.0.saturating_add(nanos.into()))
    }

    /// Go's `t.Sub(u)`: signed nanoseconds from `earlier` to `self`, saturated to the range of
    /// Go's 64-bit `Duration`.
    pub fn go_sub(self, earlier: GoTime) -> i64 {
        let d = self.0.saturating_sub(earlier.0);
        d.clamp(i64::MIN.into(), i64::MAX.into()) as i64
    }

    /// How long after `earlier` this is; `None` when it is before (saturating at
    /// [`Duration::MAX`]).
    pub fn duration_since(self, earlier: GoTime) -> Option<Duration> {
        let d = self.0.saturating_sub(earlier.0);
        if d < 0 {
            return None;
        }
        let secs = u64::try_from(d / NANOS_PER_SEC).unwrap_or(u64::MAX);
        Some(Duration::new(secs, (d % NANOS_PER_SEC) as u32))
    }

    /// The same instant as a [`SystemTime`], when the platform can hold it.
    pub fn to_system_time(self) -> Option<SystemTime> {
        let magnitude = Duration::from_nanos(u64::try_from(self.0.unsigned_abs()).ok()?);
        if self.0 >= 0 {
            UNIX_EPOCH.checked_add(magnitude)
        } else {
            UNIX_EPOCH.checked_sub(magnitude)
        }
    }
}

/// Saturating, like [`GoTime::saturating_add`].
impl Add<Duration> for GoTime {
    type Output = GoTime;
    fn add(self, d: Duration) -> GoTime {
        self.saturating_add(d)
    }
}

/// Saturating, like [`GoTime::saturating_sub`].
impl Sub<Duration> for GoTime {
    type Output = GoTime;
    fn sub(self, d: Duration) -> GoTime {
        self.saturating_sub(d)
    }
}

/// A `Duration` in nanoseconds (at most about 1.8e28, far inside `i128`).
fn nanos_of(d: Duration) -> i128 {
    i128::try_from(d.as_nanos()).unwrap_or(i128::MAX)
}

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

/// The optional `.fraction` (1 to 9 digits) at the start of `rest`, in nanoseconds, and what
/// follows it.
fn fraction(rest: &[u8]) -> Option<(i128, &[u8])> {
    if rest.first() != Some(&b'.') {
        return Some((0, rest));
    }
    let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 9 {
        return None;
    }
    let frac = i128::from(digits(&rest[1..=n])?);
    Some((frac * 10i128.pow(9 - n as u32), &rest[1 + n..]))
}

/// The zone, all of what is left: `Z` or `±hh:mm`, in seconds east of UTC.
fn zone_offset(rest: &[u8]) -> Option<i128> {
    match rest {
        b"Z" => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = digits(&[*h1, *h2])?;
            let om = digits(&[*m1, *m2])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = i128::from(oh * 3600 + om * 60);
            Some(if *sign == b'-' { -off } else { off })
        }
        _ => None,
    }
}

/// Nanoseconds since the epoch of an RFC 3339 text (see [`GoTime::parse_rfc3339`]).
fn parse_nanos(s: &str) -> Option<i128> {
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
    let (nanos, rest) = fraction(&b[19..])?;
    let offset_secs = zone_offset(rest)?;
    let days = i128::from(days_from_civil(year, month, day));
    let secs = days * 86_400 + i128::from(hour * 3600 + min * 60 + sec) - offset_secs;
    Some(secs * NANOS_PER_SEC + nanos)
}

/// Formats nanoseconds since the epoch as RFC 3339 in UTC (see [`GoTime::to_rfc3339`]).
fn format_nanos(t: i128) -> String {
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

#[cfg(test)]
mod tests;
