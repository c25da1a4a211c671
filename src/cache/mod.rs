//! The drop-in cache, `<dir>/cache.json` (SPEC §6): keys, validity, file format, locks and
//! atomic writes. Format and keys are the Go helper's, so either program reads the other's file.
//!
//! - `entry`: one cached authorization and its freshness rules (D6, D7);
//! - `keys`: the current and legacy cache keys of an identity;
//! - `format`: parse and byte-exact serialize of Go's file;
//! - `read`: the bounded, stamped read of `cache.json`;
//! - `lock`: the `flock` fetch locks and the write lock;
//! - `store`: the atomic, merging write;
//! - `prune`: expired and surplus entries dropped on each write (D17);
//! - `memo`: the instance-metadata memo beside the cache (D17).
//!
//! This module holds the [`Cache`] handle with its load/store API, and the errors.

mod entry;
mod format;
mod keys;
mod lock;
mod memo;
mod prune;
mod read;
mod store;
#[cfg(test)]
mod testutil;

pub use entry::Entry;
pub use format::{parse, serialize, CorruptCache, CACHE_VERSION};
pub use keys::{hash_akid, legacy_akid, Keys};
pub use lock::{LockGuard, TryLock};
pub use memo::{Memo, Resolution, MAX_MEMO_PLACES, MEMO_FILE};
pub use prune::MAX_ENTRIES;

use crate::go::time::GoTime;
use read::{Contents, Snapshot, MAX_CACHE_BYTES};
use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::Duration;

/// How long a writer waits for `.lock-cache` before giving up on the write.
pub const WRITE_LOCK_WAIT: Duration = Duration::from_secs(2);

/// The cache file's contents. `BTreeMap<String, _>` orders keys bytewise, as Go does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheFile {
    pub registries: BTreeMap<String, Entry>,
}

/// Why the cache could not be written. The answer is given anyway.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot create cache directory {0}: {1}")]
    Mkdir(PathBuf, io::Error),
    #[error("cache lock not acquired within {0:?}")]
    LockTimeout(Duration),
    #[error("cannot lock cache: {0}")]
    Lock(io::Error),
    #[error("cannot write cache file: {0}")]
    Io(#[from] io::Error),
    #[error("{0}; not rewritten")]
    Unusable(ReadError),
}

/// Why `cache.json` could not be read. Either way the cache is skipped for this call; the file
/// is not corrupt, so it is never replaced because of this.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cache file is {0} bytes, over the {MAX_CACHE_BYTES} byte limit")]
    TooLarge(u64),
    #[error("cannot read cache file: {0}")]
    Io(io::Error),
}

/// The cache directory and its files.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    /// The time entries are pruned at when the file is written ([`prune`]).
    clock: fn() -> GoTime,
}

impl Cache {
    pub fn new(dir: PathBuf) -> Cache {
        Cache {
            dir,
            clock: GoTime::now,
        }
    }

    /// The same cache, pruning at the times `clock` gives (tests).
    #[cfg(test)]
    pub fn with_clock(self, clock: fn() -> GoTime) -> Cache {
        Cache { clock, ..self }
    }

    pub fn file_path(&self) -> PathBuf {
        self.dir.join("cache.json")
    }

    /// Reads the cache. A missing file is empty; a corrupt, unreadable or oversized one is
    /// logged and treated as empty (the next write replaces a corrupt or unreadable one).
    pub fn load(&self) -> CacheFile {
        match self.read() {
            Ok(Snapshot {
                contents: Contents::Unreadable(kind),
                ..
            }) => {
                self.warn_unusable(&ReadError::Io(kind.into()));
                CacheFile::default()
            }
            Ok(snapshot) => self.parse_contents(&snapshot.contents),
            Err(e) => {
                self.warn_unusable(&e);
                CacheFile::default()
            }
        }
    }

    fn warn_unusable(&self, e: &ReadError) {
        crate::log::warn(
            "Cache file unreadable; continuing without it",
            &[
                ("path", &self.file_path().to_string_lossy()),
                ("error", &e.to_string()),
            ],
        );
    }

    fn ensure_dir(&self) -> Result<(), WriteError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| WriteError::Mkdir(self.dir.clone(), e))
    }

    /// Adds `entry` under `key`: under `.lock-cache`, re-read, merge, write a temp file (0600,
    /// exclusive, no symlink follow), fsync, rename over `cache.json`. A file too large to read
    /// is left alone ([`WriteError::Unusable`]).
    pub fn store(&self, key: &str, entry: Entry, lock_wait: Duration) -> Result<(), WriteError> {
        self.store_with(key, &entry, lock_wait, &mut || {})
    }
}
