//! The drop-in cache, `<dir>/cache.json` (SPEC §6): keys, validity, file format, locks and
//! atomic writes. Format and keys are the Go helper's, so either program reads the other's file.

use crate::go::time::GoTime;
use crate::secret::Secret;
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const CACHE_VERSION: &str = "1.0";
/// D7: an entry is stale this long after it was requested, whatever its expiry.
const MAX_FRESH_AGE: Duration = Duration::from_secs(6 * 3600);
/// D7: an entry requested further in the future than this (clock skew) is stale.
const MAX_FUTURE_SKEW: Duration = Duration::from_secs(5 * 60);
/// Largest cache file read. Go reads any size; an entry takes about 300 bytes, so this is some
/// 200,000 registries, and parsing takes about 7 times the file size in memory (128 MB peak RSS
/// measured for an 18 MiB file). A larger file is not corrupt but unusable: not read, and never
/// replaced, so none of its entries is lost.
const MAX_CACHE_BYTES: u64 = 64 << 20;
/// How many times one `store` merges its entry into `cache.json`: again each time another writer
/// (Go writes without our lock) replaced the file between our read and our rename.
const MAX_MERGES: u32 = 8;
/// How long a writer waits for `.lock-cache` before giving up on the write.
pub const WRITE_LOCK_WAIT: Duration = Duration::from_secs(2);

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

/// The cache file's contents. `BTreeMap<String, _>` orders keys bytewise, as Go does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheFile {
    pub registries: BTreeMap<String, Entry>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CorruptCache {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("unexpected structure: {0}")]
    Shape(&'static str),
    #[error("unsupported cache version")]
    Version,
}

/// `H(x)`: padded standard base64 of SHA-256(x).
pub fn hash_akid(akid: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(akid.as_bytes()))
}

/// `L(x)`: base64 of x followed by MD5("") — the Go ≤ 0.11 key, read only, never logged.
pub fn legacy_akid(akid: &str) -> String {
    const MD5_EMPTY: [u8; 16] = [
        0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42,
        0x7e,
    ];
    let mut bytes = akid.as_bytes().to_vec();
    bytes.extend_from_slice(&MD5_EMPTY);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The cache keys of one registry for one identity: the current key, and what the legacy one
/// is made of (it is built only when the current key misses, and never logged).
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    pub current: String,
    prefix: String,
    suffix: String,
    akid: Secret<String>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl Keys {
    pub fn private(region: &str, akid: &str, account: &str) -> Keys {
        Keys {
            current: format!("{region}-{}-{account}", hash_akid(akid)),
            prefix: format!("{region}-"),
            suffix: format!("-{account}"),
            akid: Secret::new(akid.to_owned()),
        }
    }

    pub fn public(akid: &str) -> Keys {
        Keys {
            current: format!("ecr-public-{}", hash_akid(akid)),
            prefix: "ecr-public-".to_owned(),
            suffix: String::new(),
            akid: Secret::new(akid.to_owned()),
        }
    }

    /// The entry under the current key, else under the legacy key.
    pub fn find<'a>(&self, file: &'a CacheFile) -> Option<&'a Entry> {
        file.registries.get(&self.current).or_else(|| {
            let legacy = format!(
                "{}{}{}",
                self.prefix,
                legacy_akid(self.akid.expose()),
                self.suffix
            );
            file.registries.get(&legacy)
        })
    }
}

fn field_str<'a>(
    obj: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<&'a str, CorruptCache> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(CorruptCache::Shape("entry field is not a string")),
    }
}

fn field_time(obj: &serde_json::Map<String, Value>, key: &str) -> Result<GoTime, CorruptCache> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(GoTime::ZERO),
        Some(Value::String(s)) => {
            GoTime::parse_rfc3339(s).ok_or(CorruptCache::Shape("entry time is not RFC 3339"))
        }
        Some(_) => Err(CorruptCache::Shape("entry time is not a string")),
    }
}

/// Parses a cache file. Anything Go would fail on, or that would make it misbehave, is corrupt.
pub fn parse(bytes: &[u8]) -> Result<CacheFile, CorruptCache> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| CorruptCache::Json(e.to_string()))?;
    let Value::Object(top) = value else {
        return Err(CorruptCache::Shape("top level is not an object"));
    };
    if top.keys().any(|k| k != "Registries" && k != "Version") {
        return Err(CorruptCache::Shape("unknown top-level field"));
    }
    if top.get("Version").and_then(Value::as_str) != Some(CACHE_VERSION) {
        return Err(CorruptCache::Version);
    }
    let Some(Value::Object(registries)) = top.get("Registries") else {
        return Err(CorruptCache::Shape("Registries is not an object"));
    };
    let mut out = CacheFile::default();
    for (key, value) in registries {
        let Value::Object(obj) = value else {
            return Err(CorruptCache::Shape("entry is not an object"));
        };
        let service = match field_str(obj, "Service")? {
            "" => "ecr",
            s => s,
        };
        out.registries.insert(
            key.clone(),
            Entry {
                authorization_token: Secret::new(field_str(obj, "AuthorizationToken")?.to_owned()),
                requested_at: field_time(obj, "RequestedAt")?,
                expires_at: field_time(obj, "ExpiresAt")?,
                proxy_endpoint: field_str(obj, "ProxyEndpoint")?.to_owned(),
                service: service.to_owned(),
            },
        );
    }
    Ok(out)
}

/// Serializes as Go's `json.MarshalIndent(cache, "", "  ")`: byte-identical output.
pub fn serialize(file: &CacheFile) -> String {
    use crate::go::json::push_str;
    let mut out = String::from("{\n  \"Registries\": {");
    for (i, (key, e)) in file.registries.iter().enumerate() {
        out.push_str(if i == 0 { "\n    " } else { ",\n    " });
        push_str(&mut out, key);
        out.push_str(": {\n      \"AuthorizationToken\": ");
        push_str(&mut out, e.authorization_token.expose());
        out.push_str(",\n      \"RequestedAt\": ");
        push_str(&mut out, &e.requested_at.to_rfc3339());
        out.push_str(",\n      \"ExpiresAt\": ");
        push_str(&mut out, &e.expires_at.to_rfc3339());
        out.push_str(",\n      \"ProxyEndpoint\": ");
        push_str(&mut out, &e.proxy_endpoint);
        out.push_str(",\n      \"Service\": ");
        push_str(&mut out, &e.service);
        out.push_str("\n    }");
    }
    if !file.registries.is_empty() {
        out.push_str("\n  ");
    }
    out.push_str("},\n  \"Version\": \"1.0\"\n}");
    out
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

/// Identity of the file at a path: a writer's rename changes the inode, an in-place write the
/// size or times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
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
    fn of(path: &Path) -> Option<Stamp> {
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
enum Contents {
    Missing,
    /// There, but not a readable regular file (EACCES, a FIFO, a directory): treated as empty.
    Unreadable(io::ErrorKind),
    Bytes(Vec<u8>),
}

/// One read of `cache.json`: the stamp taken just before the read, and what was read.
#[derive(Debug)]
struct Snapshot {
    stamp: Option<Stamp>,
    contents: Contents,
}

/// An exclusive `flock` held until dropped.
#[derive(Debug)]
pub struct LockGuard {
    _file: Option<File>,
}

impl LockGuard {
    /// Stands for a lock on a filesystem without lock support: run unlocked, as Go does.
    fn unsupported() -> LockGuard {
        LockGuard { _file: None }
    }
}

/// The result of one non-blocking lock attempt.
#[derive(Debug)]
pub enum TryLock {
    Acquired(LockGuard),
    Busy,
    Failed(io::Error),
}

/// The cache directory and its files.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(dir: PathBuf) -> Cache {
        Cache { dir }
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

    /// Reads `cache.json` whole, up to [`MAX_CACHE_BYTES`], stamped just before the read. A
    /// file that cannot be read is [`Contents::Unreadable`]; only one over the limit is an error.
    fn read(&self) -> Result<Snapshot, ReadError> {
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
    fn parse_contents(&self, contents: &Contents) -> CacheFile {
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

    fn ensure_dir(&self) -> Result<(), WriteError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| WriteError::Mkdir(self.dir.clone(), e))
    }

    /// One non-blocking attempt at the lock file `<dir>/<name>`.
    pub fn try_lock(&self, name: &str) -> TryLock {
        if let Err(WriteError::Mkdir(_, e)) = self.ensure_dir() {
            return TryLock::Failed(e);
        }
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(self.dir.join(name))
        {
            Ok(f) => f,
            Err(e) => return TryLock::Failed(e),
        };
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a file descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return TryLock::Acquired(LockGuard { _file: Some(file) });
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EWOULDBLOCK) | Some(libc::EINTR) => TryLock::Busy,
            Some(libc::ENOLCK) | Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => {
                TryLock::Acquired(LockGuard::unsupported())
            }
            _ => TryLock::Failed(err),
        }
    }

    /// Takes `<dir>/<name>`, polling until `wait` has passed.
    pub fn lock_blocking(&self, name: &str, wait: Duration) -> Result<LockGuard, WriteError> {
        let start = Instant::now();
        loop {
            match self.try_lock(name) {
                TryLock::Acquired(g) => return Ok(g),
                TryLock::Failed(e) => return Err(WriteError::Lock(e)),
                TryLock::Busy if start.elapsed() >= wait => {
                    return Err(WriteError::LockTimeout(wait))
                }
                TryLock::Busy => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }

    /// Adds `entry` under `key`: under `.lock-cache`, re-read, merge, write a temp file (0600,
    /// exclusive, no symlink follow), fsync, rename over `cache.json`. A file too large to read
    /// is left alone ([`WriteError::Unusable`]).
    pub fn store(&self, key: &str, entry: Entry, lock_wait: Duration) -> Result<(), WriteError> {
        self.store_with(key, &entry, lock_wait, &mut || {})
    }

    /// [`Cache::store`], calling `before_check` once per merge, after the temp file is synced and
    /// just before `cache.json` is checked for another writer (where tests play that writer).
    fn store_with(
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

    fn create_temp(&self) -> io::Result<(PathBuf, File)> {
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
fn rewrite(file: &mut File, bytes: &[u8]) -> io::Result<()> {
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

    const T0: GoTime = GoTime::from_unix_secs(1_700_000_000);
    const ZERO_TIME: GoTime = GoTime::ZERO;
    const NS: Duration = Duration::from_nanos(1);
    const SEC: Duration = Duration::from_secs(1);
    const MINUTE: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);

    /// The time `n` nanoseconds after the Unix epoch.
    fn at(n: i128) -> GoTime {
        GoTime::from_unix_nanos(n)
    }

    fn entry(requested: GoTime, expires: GoTime) -> Entry {
        Entry {
            authorization_token: Secret::new("QVdTOnB3".into()),
            requested_at: requested,
            expires_at: expires,
            proxy_endpoint: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
            service: "ecr".into(),
        }
    }

    #[test]
    fn key_hashes_match_spec() {
        assert_eq!(
            hash_akid("accessKey"),
            "xOV45/s/9aT8cbO8tDicjEV1KKkfpLdKrQs0ipPGgGc="
        );
        assert_eq!(
            legacy_akid("accessKey"),
            "YWNjZXNzS2V51B2M2Y8AsgTpgAmY7PhCfg=="
        );
        let k = Keys::private("us-east-1", "accessKey", "123456789012");
        assert_eq!(
            k.current,
            "us-east-1-xOV45/s/9aT8cbO8tDicjEV1KKkfpLdKrQs0ipPGgGc=-123456789012"
        );
        assert_eq!(
            Keys::public("accessKey").current,
            "ecr-public-xOV45/s/9aT8cbO8tDicjEV1KKkfpLdKrQs0ipPGgGc="
        );
    }

    #[test]
    fn legacy_key_is_read_after_current() {
        let k = Keys::private("us-east-1", "accessKey", "123456789012");
        let mut f = CacheFile::default();
        f.registries.insert(
            "us-east-1-YWNjZXNzS2V51B2M2Y8AsgTpgAmY7PhCfg==-123456789012".into(),
            entry(at(1), at(2)),
        );
        assert_eq!(k.find(&f).unwrap().requested_at, at(1));
        f.registries.insert(k.current.clone(), entry(at(3), at(4)));
        assert_eq!(k.find(&f).unwrap().requested_at, at(3));
    }

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
    fn serializes_like_go_marshal_indent() {
        let mut f = CacheFile::default();
        assert_eq!(
            serialize(&f),
            "{\n  \"Registries\": {},\n  \"Version\": \"1.0\"\n}"
        );
        f.registries.insert(
            "b".into(),
            entry(
                GoTime::parse_rfc3339("2021-03-01T14:31:17.62578Z").unwrap(),
                GoTime::parse_rfc3339("2021-03-02T02:31:17.608Z").unwrap(),
            ),
        );
        let mut public = entry(at(0), at(0));
        public.service = "ecr-public".into();
        public.proxy_endpoint = "https://public.ecr.aws".into();
        public.authorization_token = Secret::new("<&>".into());
        f.registries.insert("a".into(), public);
        let want = r#"{
  "Registries": {
    "a": {
      "AuthorizationToken": "\u003c\u0026\u003e",
      "RequestedAt": "1970-01-01T00:00:00Z",
      "ExpiresAt": "1970-01-01T00:00:00Z",
      "ProxyEndpoint": "https://public.ecr.aws",
      "Service": "ecr-public"
    },
    "b": {
      "AuthorizationToken": "QVdTOnB3",
      "RequestedAt": "2021-03-01T14:31:17.62578Z",
      "ExpiresAt": "2021-03-02T02:31:17.608Z",
      "ProxyEndpoint": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
      "Service": "ecr"
    }
  },
  "Version": "1.0"
}"#;
        assert_eq!(serialize(&f), want);
        assert_eq!(parse(want.as_bytes()).unwrap(), f);
    }

    #[test]
    fn parses_go_written_file() {
        let go = r#"{"Registries":{"k":{"AuthorizationToken":"QVdTOnB3","RequestedAt":"2021-03-01T15:31:17.625780278+01:00","ExpiresAt":"2021-03-02T02:31:17.608Z","ProxyEndpoint":"https://000000000000.dkr.ecr.eu-west-1.amazonaws.com","Extra":1}},"Version":"1.0"}"#;
        let f = parse(go.as_bytes()).unwrap();
        let e = &f.registries["k"];
        assert_eq!(e.service, "ecr");
        assert_eq!(
            e.requested_at.to_rfc3339(),
            "2021-03-01T14:31:17.625780278Z"
        );
    }

    #[test]
    fn corrupt_files() {
        for bad in [
            "",
            "null",
            "{",
            "[]",
            "{\"Registries\":{},\"Version\":\"2.0\"}",
            "{\"Registries\":{}}",
            "{\"Registries\":null,\"Version\":\"1.0\"}",
            "{\"Registries\":{\"k\":null},\"Version\":\"1.0\"}",
            "{\"Registries\":{\"k\":{\"ExpiresAt\":5}},\"Version\":\"1.0\"}",
            "{\"Registries\":{\"k\":{\"ExpiresAt\":\"yesterday\"}},\"Version\":\"1.0\"}",
            "{\"Registries\":{\"k\":{\"AuthorizationToken\":[]}},\"Version\":\"1.0\"}",
            "{\"Registries\":{},\"Version\":\"1.0\",\"Other\":1}",
            "{\"Registries\":{},\"Version\":1.0}",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn store_merges_and_sets_modes() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().join("nested/ecr"));
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
        let cache = Cache::new(tmp.path().to_path_buf());
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
    fn expires_before_requested_is_never_fresh_once_expired() {
        // Written by a machine whose clock is ahead: Go's half-life rule alone would still call
        // this fresh 45 s before the writer's RequestedAt, after the token expired.
        let e = entry(T0, T0 - MINUTE);
        assert!(!e.is_fresh(T0 - 45 * SEC));
        assert!(e.is_fresh(T0 - 2 * MINUTE));
    }

    #[test]
    fn corrupt_file_is_replaced_on_write() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_path_buf());
        std::fs::write(cache.file_path(), "{garbage").unwrap();
        assert!(cache.load().registries.is_empty());
        cache
            .store("k", entry(T0, T0 + HOUR), WRITE_LOCK_WAIT)
            .unwrap();
        assert_eq!(cache.load().registries.len(), 1);
    }

    /// How many `.config.json.tmp*` files are in `dir`.
    fn temp_files(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with(".config.json.tmp")
            })
            .count()
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
        let cache = Cache::new(tmp.path().to_path_buf());
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
        let back = cache.load();
        assert_eq!(back.registries.len(), 60_001);
        file.registries.insert("new".into(), entry(T0, T0 + HOUR));
        assert_eq!(back, file);
    }

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

    /// Regression (issue 11): a Go helper that renames its file between our read and our rename
    /// lost its entry. Now the file is checked just before the rename and merged again.
    #[test]
    fn concurrent_rename_before_ours_is_merged_again() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_path_buf());
        go_style_write(&cache, "old");
        let mut calls = 0;
        cache
            .store_with("ours", &entry(T0, T0 + HOUR), WRITE_LOCK_WAIT, &mut || {
                calls += 1;
                if calls == 1 {
                    go_style_write(&cache, "go");
                }
            })
            .unwrap();
        assert_eq!(calls, 2, "one merge again after the concurrent write");
        let keys: Vec<_> = cache.load().registries.into_keys().collect();
        assert_eq!(keys, ["go", "old", "ours"]);
    }

    /// A writer that replaces the file before every check cannot hold ours off: after
    /// [`MAX_MERGES`] merges ours is written anyway, with every entry seen so far.
    #[test]
    fn merges_again_a_bounded_number_of_times() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_path_buf());
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
        let cache = Cache::new(tmp.path().to_path_buf());
        go_style_write(&cache, "old");
        let mut calls = 0;
        cache
            .store_with("ours", &entry(T0, T0 + HOUR), WRITE_LOCK_WAIT, &mut || {
                calls += 1;
                if calls == 1 {
                    go_style_write(&cache, "old");
                }
            })
            .unwrap();
        assert_eq!(calls, 1);
        assert_eq!(cache.load().registries.len(), 2);
    }

    #[test]
    fn write_lock_times_out_when_held() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_path_buf());
        let TryLock::Acquired(_held) = cache.try_lock(".lock-cache") else {
            panic!("lock not acquired")
        };
        // flock locks belong to the open file description, so a second open conflicts
        let err = cache
            .store("k", entry(T0, T0 + HOUR), Duration::from_millis(50))
            .unwrap_err();
        assert!(matches!(err, WriteError::LockTimeout(_)), "{err}");
    }
}

/// Property tests: `parse(serialize(x)) == x` for any cache whose times are in Go's range, the
/// output is valid JSON with Go's escaping, the compact form Go may read parses the same, and
/// `store`/`load` keep every entry.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// 9999-12-31T23:59:59.999999999Z
    const MAX_TIME: GoTime = GoTime::MAX_WRITABLE;
    const ZERO_TIME: GoTime = GoTime::ZERO;
    const MINUTE: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);

    /// Any text, weighted toward what JSON escaping must get right.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,24}",
            "[\\x00-\\x7f]{0,24}",
            "[<>&\"\\\\/\\x00-\\x1f\\x7f\u{80}\u{2028}\u{2029}\u{fffd}a-z]{0,16}",
        ]
    }

    fn time() -> impl Strategy<Value = GoTime> {
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

    fn entry() -> impl Strategy<Value = Entry> {
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

    fn cache_file() -> impl Strategy<Value = CacheFile> {
        proptest::collection::btree_map(text(), entry(), 0..6)
            .prop_map(|registries| CacheFile { registries })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn serialize_parse_round_trip(file in cache_file()) {
            let text = serialize(&file);
            prop_assert_eq!(parse(text.as_bytes()), Ok(file.clone()), "{}", text);
            // valid JSON that decodes to the same strings (Go's escaping is lossless)
            let v: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&v["Version"], "1.0");
            let regs = v["Registries"].as_object().unwrap();
            prop_assert_eq!(regs.len(), file.registries.len());
            for (key, e) in &file.registries {
                let got = &regs[key.as_str()];
                let token = e.authorization_token.expose().as_str();
                prop_assert_eq!(&got["AuthorizationToken"], token);
                prop_assert_eq!(&got["ProxyEndpoint"], e.proxy_endpoint.as_str());
                prop_assert_eq!(&got["Service"], e.service.as_str());
            }
            // HTML-safe and control-free, as Go writes it
            prop_assert!(!text.contains(['<', '>', '&', '\u{2028}', '\u{2029}']), "{}", text);
            prop_assert!(!text.chars().any(|c| c < ' ' && c != '\n'), "{}", text);
            // keys in bytewise order, `Registries` before `Version`, no trailing newline
            let layout = text.starts_with("{\n  \"Registries\": {") && text.ends_with("\n}");
            prop_assert!(layout, "{}", text);
        }

        #[test]
        fn go_compact_form_with_offsets_parses_the_same(
            file in cache_file(),
            offset_min in -1439i32..=1439,
        ) {
            // what Go's json.Marshal (no indent) would write, with times in another zone
            let shift = |t: GoTime| GoTime::from_unix_nanos(
                t.unix_nanos() + i128::from(offset_min) * 60 * 1_000_000_000,
            );
            let zoned = |t: GoTime| {
                let local = shift(t).to_rfc3339();
                let sign = if offset_min < 0 { '-' } else { '+' };
                let m = offset_min.unsigned_abs();
                format!("{}{sign}{:02}:{:02}", local.trim_end_matches('Z'), m / 60, m % 60)
            };
            let mut regs = serde_json::Map::new();
            for (k, e) in &file.registries {
                let in_range = |t: GoTime| (ZERO_TIME..=MAX_TIME).contains(&shift(t));
                let time = |t: GoTime| {
                    if in_range(t) {
                        zoned(t)
                    } else {
                        t.to_rfc3339()
                    }
                };
                regs.insert(k.clone(), serde_json::json!({
                    "AuthorizationToken": e.authorization_token.expose(),
                    "RequestedAt": time(e.requested_at),
                    "ExpiresAt": time(e.expires_at),
                    "ProxyEndpoint": e.proxy_endpoint,
                    "Service": e.service,
                    "Unknown": [1, {"x": null}],
                }));
            }
            let text = serde_json::json!({"Version": "1.0", "Registries": regs}).to_string();
            prop_assert_eq!(parse(text.as_bytes()), Ok(file), "{}", text);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(file) = parse(&bytes) {
                prop_assert_eq!(parse(serialize(&file).as_bytes()), Ok(file));
            }
        }

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

        #[test]
        fn keys_have_go_shape(
            region in "[a-z0-9-]{1,16}",
            akid in "\\PC{0,32}",
            account in "[0-9]{12}",
        ) {
            let k = Keys::private(&region, &akid, &account);
            let h = hash_akid(&akid);
            prop_assert_eq!(h.len(), 44);
            prop_assert!(h.ends_with('='));
            prop_assert_eq!(k.current, format!("{region}-{h}-{account}"));
            prop_assert_eq!(Keys::public(&akid).current, format!("ecr-public-{h}"));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Entries stored one by one through the real file are all there, exactly.
        #[test]
        fn store_then_load_keeps_every_entry(file in cache_file()) {
            let tmp = tempfile::tempdir().unwrap();
            let cache = Cache::new(tmp.path().join("ecr"));
            for (k, e) in &file.registries {
                cache.store(k, e.clone(), WRITE_LOCK_WAIT).unwrap();
            }
            prop_assert_eq!(cache.load(), file);
        }
    }

    /// Regression (the same bug seen from the cache): an entry time outside years 0000–9999,
    /// read from a file (`9999-12-31T23:59:59-00:01` is valid RFC 3339) or taken from an API
    /// `expiresAt`, makes `serialize` write a file that `parse` (and Go) reject: every entry is
    /// lost at the next read. Fixed by clamping in `GoTime::to_rfc3339`.
    #[test]
    fn times_outside_go_range_keep_the_file_readable() {
        let text = concat!(
            r#"{"Registries":{"a":{"ExpiresAt":"9999-12-31T23:59:59-00:01"},"#,
            r#""b":{"AuthorizationToken":"QVdTOnB3"}},"Version":"1.0"}"#
        );
        let mut file = parse(text.as_bytes()).unwrap();
        file.registries.insert(
            "c".into(),
            Entry {
                authorization_token: Secret::new("QVdTOnB3".into()),
                requested_at: GoTime::from_unix_secs(1_700_000_000),
                expires_at: GoTime::from_unix_secs(1_000_000_000_000),
                proxy_endpoint: String::new(),
                service: "ecr".into(),
            },
        );
        let out = serialize(&file);
        let back = parse(out.as_bytes()).unwrap_or_else(|e| panic!("{e}:\n{out}"));
        assert_eq!(back.registries.len(), 3);
        assert!(back.registries["c"].is_fresh(GoTime::from_unix_secs(1_700_000_001)));
    }
}
