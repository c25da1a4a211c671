//! `flock` locks in the cache directory (SPEC §6 "Locking", D4): the per-registry fetch locks
//! the helper polls with [`Cache::try_lock`], and `.lock-cache`, which every write of
//! `cache.json` holds.

use super::{Cache, WriteError};
use std::fs::File;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

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

impl Cache {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::testutil::*;

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
