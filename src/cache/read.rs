//! Reading `cache.json` (SPEC §6 "Reading and writing"): whole, bounded by [`MAX_CACHE_BYTES`],
//! stamped just before the read so that a writer can tell whether another program replaced the
//! file since.

use super::{parse, Cache, CacheFile, ReadError};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Largest cache file read. Go reads any size; an entry takes about 300 bytes, so this is some
/// 200,000 registries, and parsing takes about 7 times the file size in memory (128 MB peak RSS
/// measured for an 18 MiB file). A larger file is not corrupt but unusable: not read, and never
/// replaced, so none of its entries is lost.
pub(super) const MAX_CACHE_BYTES: u64 = 64 << 20;

/// Identity of the file at a path: a writer's rename changes the inode, an in-place write the
/// size or times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    /// Seconds and nanoseconds, as `stat` gives them.
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    /// The stamp of what `path` names now (following symlinks, as the read does); `None` when
    /// nothing can be stat-ed there.
    pub(super) fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }
}

/// What `cache.json` held when read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Contents {
    Missing,
    /// There, but not a readable regular file (EACCES, a FIFO, a directory): treated as empty.
    Unreadable(io::ErrorKind),
    Bytes(Vec<u8>),
}

/// One read of `cache.json`: the stamp taken just before the read, and what was read.
#[derive(Debug)]
pub(super) struct Snapshot {
    pub(super) stamp: Option<Stamp>,
    pub(super) contents: Contents,
}

impl Cache {
    /// Reads `cache.json` whole, up to [`MAX_CACHE_BYTES`], stamped just before the read. A
    /// file that cannot be read is [`Contents::Unreadable`]; only one over the limit is an error.
    pub(super) fn read(&self) -> Result<Snapshot, ReadError> {
        let path = self.file_path();
        let stamp = Stamp::of(&path);
        if let Some(size) = stamp.map(|s| s.size).filter(|&n| n > MAX_CACHE_BYTES) {
            return Err(ReadError::TooLarge(size));
        }
        // one byte over the limit tells a file that grew since the stat
        let contents = match crate::fsutil::read_regular(&path, MAX_CACHE_BYTES + 1) {
            Ok(buf) if buf.len() as u64 > MAX_CACHE_BYTES => {
                return Err(ReadError::TooLarge(buf.len() as u64))
            }
            Ok(buf) => Contents::Bytes(buf),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Contents::Missing,
            Err(e) => Contents::Unreadable(e.kind()),
        };
        Ok(Snapshot { stamp, contents })
    }

    /// The cache in `contents`: empty unless it parses (corrupt files are logged).
    pub(super) fn parse_contents(&self, contents: &Contents) -> CacheFile {
        let Contents::Bytes(buf) = contents else {
            return CacheFile::default();
        };
        parse(buf).unwrap_or_else(|e| {
            crate::log::warn(
                "Could not load existing cache; treating it as empty",
                &[
                    ("path", &self.file_path().to_string_lossy()),
                    ("error", &e.to_string()),
                ],
            );
            CacheFile::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::testutil::*;
    use crate::cache::{WriteError, WRITE_LOCK_WAIT};
    use std::fs::File;

    /// A file over [`MAX_CACHE_BYTES`] is not corrupt: it is neither read nor replaced.
    #[test]
    fn oversized_file_is_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_path_buf());
        // sparse: no disk space used
        let f = File::create(cache.file_path()).unwrap();
        f.set_len(MAX_CACHE_BYTES + 1).unwrap();
        assert!(cache.load().registries.is_empty());
        let err = cache
            .store("k", entry(T0, T0 + HOUR), WRITE_LOCK_WAIT)
            .unwrap_err();
        assert!(
            matches!(err, WriteError::Unusable(ReadError::TooLarge(_))),
            "{err}"
        );
        let meta = std::fs::metadata(cache.file_path()).unwrap();
        assert_eq!(meta.len(), MAX_CACHE_BYTES + 1);
        assert_eq!(temp_files(tmp.path()), 0);
    }
}
