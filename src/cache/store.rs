//! Writing `cache.json` atomically (SPEC §6 "Reading and writing"): under `.lock-cache`, merge
//! into what is there (pruning expired and surplus entries, [`super::prune`]), write a private
//! temp file, re-check for a writer that took no lock, rename; and the clean-up of temp files a
//! killed writer left.

use super::read::Stamp;
use super::{serialize, Cache, Entry, WriteError};
use crate::go::time::GoTime;
use std::fs::File;
use std::io::{self, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many times one `store` merges its entry into `cache.json`: again each time another writer
/// (Go writes without our lock) replaced the file between our read and our rename.
const MAX_MERGES: u32 = 8;

impl Cache {
    /// [`Cache::store`], calling `before_check` once per merge, after the temp file is synced and
    /// just before `cache.json` is checked for another writer (where tests play that writer).
    pub(super) fn store_with(
        &self,
        key: &str,
        entry: &Entry,
        lock_wait: Duration,
        before_check: &mut dyn FnMut(),
    ) -> Result<(), WriteError> {
        self.ensure_dir()?;
        let _guard = self.lock_blocking(".lock-cache", lock_wait)?;
        self.remove_stale_temp_files();
        let (tmp_path, mut tmp) = self.create_temp()?;
        let result = self.merge_and_rename(&tmp_path, &mut tmp, key, entry, before_check);
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp_path);
        }
        result
    }

    /// Merges `entry` into `cache.json` through the temp file, then renames it into place. Go
    /// writes without our lock, so a Go helper may replace `cache.json` after our read: just
    /// before the rename, `cache.json` is read again, and if it changed (contents, or its stamp
    /// during that read) the merge is redone on the new file, at most [`MAX_MERGES`] times. This
    /// narrows the window in which we drop a Go writer's entry to the check and the rename; it
    /// cannot close it while Go takes no lock.
    fn merge_and_rename(
        &self,
        tmp_path: &Path,
        tmp: &mut File,
        key: &str,
        entry: &Entry,
        before_check: &mut dyn FnMut(),
    ) -> Result<(), WriteError> {
        let path = self.file_path();
        let mut base = self.read().map_err(WriteError::Unusable)?;
        for merge in 1..=MAX_MERGES {
            let mut file = self.parse_contents(&base.contents);
            file.registries.insert(key.to_owned(), entry.clone());
            super::prune::prune(&mut file, key, (self.clock)());
            rewrite(tmp, serialize(&file).as_bytes())?;
            before_check();
            let now = self.read().map_err(WriteError::Unusable)?;
            let unchanged = now.contents == base.contents && now.stamp == Stamp::of(&path);
            if unchanged || merge == MAX_MERGES {
                break;
            }
            base = now;
        }
        std::fs::rename(tmp_path, &path)?;
        Ok(())
    }

    /// Removes temp files that a killed writer left behind (any writer's temp file lives for
    /// milliseconds; these are over ten minutes old). Called under `.lock-cache`.
    fn remove_stale_temp_files(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let cutoff = std::time::SystemTime::now() - Duration::from_secs(600);
        for e in entries.flatten() {
            let name = e.file_name();
            if !name.as_encoded_bytes().starts_with(b".config.json.tmp") {
                continue;
            }
            let old = e
                .metadata()
                .ok()
                .filter(|m| m.is_file())
                .and_then(|m| m.modified().ok())
                .is_some_and(|t| t < cutoff);
            if old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// A new private temp file in the directory (0600, exclusive, no symlink follow).
    pub(super) fn create_temp(&self) -> io::Result<(PathBuf, File)> {
        let mut last_err = io::Error::other("no temp name tried");
        for attempt in 0..16u32 {
            let path = self
                .dir
                .join(format!(".config.json.tmp{}", random_digits(attempt)));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&path)
            {
                Ok(f) => return Ok((path, f)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = e,
                Err(e) => return Err(e),
            }
        }
        Err(last_err)
    }
}

/// Replaces the contents of `file` with `bytes` and syncs them to disk.
pub(super) fn rewrite(file: &mut File, bytes: &[u8]) -> io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Digits unlikely to collide between processes: pid, time and attempt mixed.
fn random_digits(attempt: u32) -> u64 {
    let t = GoTime::now().unix_nanos() as u64;
    let pid = u64::from(std::process::id());
    let mut x = t ^ (pid << 32) ^ u64::from(attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x % 10_000_000_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::testutil::*;
    use crate::cache::WRITE_LOCK_WAIT;
    use crate::cache::{parse, CacheFile, MAX_ENTRIES};

    #[test]
    fn store_merges_and_sets_modes() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().join("nested/ecr")).with_clock(|| T0);
        cache
            .store("k1", entry(T0, T0 + HOUR), WRITE_LOCK_WAIT)
            .unwrap();
        cache
            .store("k2", entry(T0, T0 + HOUR), WRITE_LOCK_WAIT)
            .unwrap();
        let f = cache.load();
        assert_eq!(f.registries.len(), 2);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&cache.file_path()), 0o600);
        assert_eq!(mode(&cache.dir), 0o700);
        let names: Vec<_> = std::fs::read_dir(&cache.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with(".config.json.tmp")),
            "{names:?}"
        );
    }

    #[test]
    fn stale_temp_files_are_cleaned_up_fresh_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_path_buf()).with_clock(|| T0);
        let old = tmp.path().join(".config.json.tmp123");
        let young = tmp.path().join(".config.json.tmp456");
        std::fs::write(&old, "x").unwrap();
        std::fs::write(&young, "y").unwrap();
        let long_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        cache
            .store("k", entry(T0, T0 + HOUR), WRITE_LOCK_WAIT)
            .unwrap();
        assert!(!old.exists());
        assert!(young.exists());
    }

    #[test]
    fn corrupt_file_is_replaced_on_write() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_path_buf()).with_clock(|| T0);
        std::fs::write(cache.file_path(), "{garbage").unwrap();
        assert!(cache.load().registries.is_empty());
        cache
            .store("k", entry(T0, T0 + HOUR), WRITE_LOCK_WAIT)
            .unwrap();
        assert_eq!(cache.load().registries.len(), 1);
    }

    /// What a Go helper does, without our lock: read `cache.json`, add `key`, write a temp file
    /// and rename it over `cache.json`.
    fn go_style_write(cache: &Cache, key: &str) {
        let mut file = std::fs::read(cache.file_path())
            .map(|b| parse(&b).unwrap())
            .unwrap_or_default();
        file.registries.insert(key.into(), entry(T0, T0 + HOUR));
        let tmp = cache.dir.join(".config.json.tmp-go");
        std::fs::write(&tmp, serialize(&file)).unwrap();
        std::fs::rename(&tmp, cache.file_path()).unwrap();
    }

    /// Regression (issue 11): a valid file over the old 16 MiB read limit was cut, failed to
    /// parse as corrupt, and was replaced by one entry.
    #[test]
    fn store_keeps_every_entry_of_a_17_mib_file() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_path_buf()).with_clock(|| T0);
        let mut file = CacheFile::default();
        for i in 0..60_000 {
            file.registries
                .insert(format!("us-east-1-{i:044}-{i:012}"), entry(T0, T0 + HOUR));
        }
        let text = serialize(&file);
        assert!(text.len() > 17 << 20, "{}", text.len());
        std::fs::write(cache.file_path(), text).unwrap();
        cache
            .store("new", entry(T0, T0 + HOUR), WRITE_LOCK_WAIT)
            .unwrap();
        // Read whole, then capped (D17): the entry written and the last keys of equal age.
        let back = cache.load();
        assert_eq!(back.registries.len(), MAX_ENTRIES);
        assert!(back.registries.contains_key("new"));
        let last: Vec<_> = file.registries.keys().rev().take(MAX_ENTRIES - 1).collect();
        let kept: Vec<_> = back.registries.keys().rev().take(MAX_ENTRIES - 1).collect();
        assert!(kept == last, "the most recent keys are kept");
    }

    /// Stores `ours` while a Go helper writes `key` just before our first check; returns how
    /// many times the check ran.
    fn store_racing_one_go_write(cache: &Cache, key: &str) -> u32 {
        let mut calls = 0;
        cache
            .store_with("ours", &entry(T0, T0 + HOUR), WRITE_LOCK_WAIT, &mut || {
                calls += 1;
                if calls == 1 {
                    go_style_write(cache, key);
                }
            })
            .unwrap();
        calls
    }

    /// Regression (issue 11): a Go helper that renames its file between our read and our rename
    /// lost its entry. Now the file is checked just before the rename and merged again.
    #[test]
    fn concurrent_rename_before_ours_is_merged_again() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_path_buf()).with_clock(|| T0);
        go_style_write(&cache, "old");
        let calls = store_racing_one_go_write(&cache, "go");
        assert_eq!(calls, 2, "one merge again after the concurrent write");
        let keys: Vec<_> = cache.load().registries.into_keys().collect();
        assert_eq!(keys, ["go", "old", "ours"]);
    }

    /// A writer that replaces the file before every check cannot hold ours off: after
    /// [`MAX_MERGES`] merges ours is written anyway, with every entry seen so far.
    #[test]
    fn merges_again_a_bounded_number_of_times() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_path_buf()).with_clock(|| T0);
        let mut calls = 0;
        cache
            .store_with("ours", &entry(T0, T0 + HOUR), WRITE_LOCK_WAIT, &mut || {
                calls += 1;
                go_style_write(&cache, &format!("go{calls}"));
            })
            .unwrap();
        assert_eq!(calls, MAX_MERGES);
        let file = cache.load();
        assert_eq!(file.registries.len(), MAX_MERGES as usize);
        assert!(file.registries.contains_key("ours"));
        assert!(!file.registries.contains_key(&format!("go{MAX_MERGES}")));
        assert_eq!(temp_files(tmp.path()), 0);
    }

    /// The same contents renamed into place (a new inode): nothing to lose, no merge again.
    #[test]
    fn same_contents_renamed_into_place_need_no_merge() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_path_buf()).with_clock(|| T0);
        go_style_write(&cache, "old");
        let calls = store_racing_one_go_write(&cache, "old");
        assert_eq!(calls, 1);
        assert_eq!(cache.load().registries.len(), 2);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::cache::testutil::strategy::*;
    use crate::cache::WRITE_LOCK_WAIT;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Entries stored one by one through the real file are all there, exactly, but for
        /// the expired ones (here: a zero expiry) that a later write pruned.
        #[test]
        fn store_then_load_keeps_every_entry(file in cache_file()) {
            let tmp = tempfile::tempdir().unwrap();
            let cache = Cache::new(tmp.path().join("ecr")).with_clock(|| ZERO_TIME);
            for (k, e) in &file.registries {
                cache.store(k, e.clone(), WRITE_LOCK_WAIT).unwrap();
            }
            let mut want = file.clone();
            let last = file.registries.keys().next_back().cloned();
            want.registries
                .retain(|k, e| Some(k) == last.as_ref() || !e.expires_at.is_zero());
            prop_assert_eq!(cache.load(), want);
        }
    }
}
