//! A cache that stays small (D17): expired entries go when the file is written, and at most
//! [`MAX_ENTRIES`] entries are kept, the least recently fetched (`RequestedAt`) going first.
//! The entry being written is never pruned.

use super::CacheFile;
use crate::go::time::GoTime;

/// The most entries `cache.json` keeps after a write.
pub const MAX_ENTRIES: usize = 1000;

/// Removes from `file` the entries expired at `now`, then the least recently fetched ones
/// beyond [`MAX_ENTRIES`]; the entry under `keep` stays.
pub fn prune(file: &mut CacheFile, keep: &str, now: GoTime) {
    file.registries
        .retain(|key, entry| key == keep || entry.is_unexpired(now));
    let excess = file.registries.len().saturating_sub(MAX_ENTRIES);
    if excess == 0 {
        return;
    }
    let mut oldest: Vec<(GoTime, String)> = file
        .registries
        .iter()
        .filter(|(key, _)| key.as_str() != keep)
        .map(|(key, entry)| (entry.requested_at, key.clone()))
        .collect();
    oldest.sort();
    for (_, key) in oldest.into_iter().take(excess) {
        file.registries.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::testutil::*;

    #[test]
    fn expired_entries_go_but_not_the_one_written() {
        let mut f = CacheFile::default();
        f.registries.insert("old".into(), entry(T0, T0 + HOUR));
        f.registries.insert("zero".into(), entry(T0, GoTime::ZERO));
        f.registries.insert("live".into(), entry(T0, T0 + 3 * HOUR));
        f.registries.insert("new".into(), entry(T0, T0 + HOUR));
        prune(&mut f, "new", T0 + 2 * HOUR);
        let keys: Vec<_> = f.registries.keys().cloned().collect();
        assert_eq!(keys, ["live", "new"]);
    }

    #[test]
    fn the_cap_drops_the_least_recently_fetched() {
        let mut f = CacheFile::default();
        for i in 0..MAX_ENTRIES + 5 {
            let t = T0 + SEC * i as u32;
            f.registries
                .insert(format!("k{i:05}"), entry(t, T0 + 10 * HOUR));
        }
        // The written entry is the oldest of all; it stays.
        f.registries
            .insert("keep".into(), entry(T0 - HOUR, T0 + 10 * HOUR));
        prune(&mut f, "keep", T0);
        assert_eq!(f.registries.len(), MAX_ENTRIES);
        assert!(f.registries.contains_key("keep"));
        for i in 0..6 {
            assert!(!f.registries.contains_key(&format!("k{i:05}")), "k{i}");
        }
        assert!(f.registries.contains_key("k00006"));
    }
}
