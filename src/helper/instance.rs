//! Instance metadata credentials on the warm path (issue 12, D17). They cannot be named
//! locally, so the last resolution is remembered in the cache directory's memo
//! ([`crate::cache::Memo`]): its access key id gives the cache key (Go's `H(akid)`, the key the
//! SDK path stores under), with no request to instance metadata.
//!
//! An entry is used only at its place (the identity's: the same IMDS settings, kernel boot,
//! network namespace and host name; see [`super::identity::Identity::Instance`]), and only while
//! `now < min(expiry − EXPIRY_MARGIN, resolved + MEMO_BOUND)`: after that the credentials are
//! resolved again, so a rotated key or a replaced instance profile is seen within
//! [`MEMO_BOUND`].

use super::cached::Owner;
use super::session::Session;
use super::Helper;
use crate::cache::Resolution;
use crate::go::time::GoTime;
use std::time::Duration;

/// How long a remembered resolution is used at most.
pub const MEMO_BOUND: Duration = Duration::from_secs(10 * 60);
/// How long before the credentials' expiry a remembered resolution stops being used.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);
/// How far in the future a resolution time may lie (clock steps) and still be believed.
const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// Whether a remembered resolution may name the instance's credentials at `now`.
pub fn usable(r: &Resolution, now: GoTime) -> bool {
    let until = r
        .expires
        .saturating_sub(EXPIRY_MARGIN)
        .min(r.resolved.saturating_add(MEMO_BOUND));
    now < until && r.resolved <= now.saturating_add(CLOCK_SKEW)
}

impl Helper {
    /// The owner of an instance role's tokens from the memo, when a usable resolution is
    /// remembered for `place` (see [`super::identity::Identity::Instance`]).
    pub(super) fn instance_owner(&self, place: &str) -> Option<Owner> {
        let memo = self.cache.as_ref()?.memo_load();
        let (_, r) = memo.iter().find(|(p, _)| p == place)?;
        usable(r, GoTime::now()).then(|| Owner::Akid(r.akid.clone()))
    }

    /// Remembers the instance credentials `session` resolved at `place` (temporary ones only:
    /// an expiry and a session token); a failure is logged and the call goes on.
    pub(super) fn remember_instance(&self, place: &str, session: &Session) {
        let (Some(cache), Some(expires)) = (&self.cache, session.expiry()) else {
            return;
        };
        let now = GoTime::now();
        let resolution = Resolution {
            akid: session.akid.clone(),
            expires,
            resolved: now,
        };
        if !usable(&resolution, now) {
            return;
        }
        if let Err(e) = cache.memo_store(place, resolution, &|r| usable(r, now)) {
            crate::log::debug(
                "Could not remember the instance credentials' key id",
                &[("error", &e.to_string())],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolution(resolved: GoTime, expires: GoTime) -> Resolution {
        Resolution {
            akid: "ASIA".into(),
            expires,
            resolved,
        }
    }

    #[test]
    fn usable_until_the_bound_or_the_margin_before_expiry() {
        let t0 = GoTime::from_unix_secs(1_700_000_000);
        let min = Duration::from_secs(60);
        let hour = resolution(t0, t0 + min * 60);
        assert!(usable(&hour, t0));
        assert!(usable(&hour, t0 + MEMO_BOUND - Duration::from_nanos(1)));
        assert!(!usable(&hour, t0 + MEMO_BOUND));
        let soon = resolution(t0, t0 + min * 7);
        assert!(usable(&soon, t0 + min));
        assert!(!usable(&soon, t0 + min * 2));
        let expiring = resolution(t0, t0 + min * 5);
        assert!(!usable(&expiring, t0));
        let future = resolution(t0 + min * 6, t0 + min * 60);
        assert!(!usable(&future, t0));
        assert!(usable(&future, t0 + min));
    }
}
