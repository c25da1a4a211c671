//! One cached authorization and when it may be used (SPEC §6 "Validity"): fresh within the
//! first half of its lifetime, capped by D7; unexpired as a fallback (D6).

use crate::go::time::GoTime;
use crate::secret::Secret;
use std::time::Duration;

/// D7: an entry is stale this long after it was requested, whatever its expiry.
const MAX_FRESH_AGE: Duration = Duration::from_secs(6 * 3600);
/// D7: an entry requested further in the future than this (clock skew) is stale.
const MAX_FUTURE_SKEW: Duration = Duration::from_secs(5 * 60);

/// One cached authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub authorization_token: Secret<String>,
    pub requested_at: GoTime,
    /// [`GoTime::ZERO`] when unknown.
    pub expires_at: GoTime,
    pub proxy_endpoint: String,
    /// `ecr` or `ecr-public`.
    pub service: String,
}

impl Entry {
    /// Fresh: within the first half of its lifetime (Go's rule, MUST), younger than 6 h and not
    /// requested more than 5 minutes in the future (D7). A zero expiry is never fresh.
    pub fn is_fresh(&self, now: GoTime) -> bool {
        if self.expires_at.is_zero() {
            return false;
        }
        // Go: validity := ExpiresAt.Sub(RequestedAt), saturated to a 64-bit Duration.
        let validity = self.expires_at.go_sub(self.requested_at);
        let refresh_at = self.expires_at.add_go_nanos(-(validity / 2));
        now < refresh_at
            && now < self.expires_at
            && now < self.requested_at.saturating_add(MAX_FRESH_AGE)
            && self.requested_at <= now.saturating_add(MAX_FUTURE_SKEW)
    }

    /// Usable as a fallback when a refresh fails: not yet expired (D6).
    pub fn is_unexpired(&self, now: GoTime) -> bool {
        !self.expires_at.is_zero() && now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::testutil::*;

    #[test]
    fn freshness_half_life_strict() {
        let e = entry(T0, T0 + 12 * HOUR);
        assert!(e.is_fresh(T0));
        assert!(e.is_fresh(T0 + 6 * HOUR - NS));
        assert!(!e.is_fresh(T0 + 6 * HOUR));
        // odd nanosecond lifetimes truncate the half toward zero, as Go's Duration division
        let e = entry(T0, T0 + 3 * NS);
        assert!(e.is_fresh(T0 + NS));
        assert!(!e.is_fresh(T0 + 2 * NS));
    }

    #[test]
    fn freshness_d7_caps() {
        // a 24 h token is fresh for its first 12 h by Go's rule, but only 6 h here
        let e = entry(T0, T0 + 24 * HOUR);
        assert!(e.is_fresh(T0 + 6 * HOUR - NS));
        assert!(!e.is_fresh(T0 + 6 * HOUR));
        // requested in the future (clock skew) by more than 5 minutes: stale
        let e = entry(T0 + 10 * MINUTE, T0 + 12 * HOUR);
        assert!(!e.is_fresh(T0));
        let e = entry(T0 + 5 * MINUTE, T0 + 12 * HOUR);
        assert!(e.is_fresh(T0));
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        let max = GoTime::parse_rfc3339("9999-12-31T23:59:59.999999999Z").unwrap();
        assert!(!entry(ZERO_TIME, ZERO_TIME).is_fresh(T0));
        assert!(!entry(T0, ZERO_TIME).is_fresh(T0));
        assert!(!entry(ZERO_TIME, max).is_fresh(T0)); // requested 2000 years ago
        assert!(entry(T0, max).is_fresh(T0)); // Go: saturated duration, refresh far away
        assert!(!entry(max, max).is_fresh(T0));
        assert!(!entry(T0, T0 - HOUR).is_fresh(T0));
        assert!(entry(T0, max).is_unexpired(T0));
        assert!(!entry(T0, ZERO_TIME).is_unexpired(T0));
    }

    #[test]
    fn expires_before_requested_is_never_fresh_once_expired() {
        // Written by a machine whose clock is ahead: Go's half-life rule alone would still call
        // this fresh 45 s before the writer's RequestedAt, after the token expired.
        let e = entry(T0, T0 - MINUTE);
        assert!(!e.is_fresh(T0 - 45 * SEC));
        assert!(e.is_fresh(T0 - 2 * MINUTE));
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
        fn freshness_never_panics_and_fresh_means_unexpired(
            requested in time(),
            validity in prop_oneof![
                (0u64..=48 * 3600 * 1_000_000_000).prop_map(Duration::from_nanos),
                Just(Duration::ZERO),
                any::<i64>().prop_map(|v| Duration::from_nanos(v.unsigned_abs())),
            ],
            now in time(),
        ) {
            let expires = requested.saturating_add(validity).min(MAX_TIME);
            let e = Entry {
                authorization_token: Secret::new(String::new()),
                requested_at: requested,
                expires_at: expires,
                proxy_endpoint: String::new(),
                service: "ecr".into(),
            };
            if e.is_fresh(now) {
                // a well-formed entry (expires >= requested) is only fresh while unexpired,
                // within 6 h of the request, and never when requested > 5 min in the future
                prop_assert!(e.is_unexpired(now));
                prop_assert!(now < requested + 6 * HOUR && requested <= now + 5 * MINUTE);
            }
        }
    }
}
