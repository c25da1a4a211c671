//! Reading the small files the helper trusts (cache, shared config, CA bundles, token files)
//! without ever blocking: a FIFO, a directory, an endless device or a procfs file planted at one
//! of those paths must not hang a credential request, and a huge file must not exhaust memory.
//!
//! Regular files and character devices are read; a device must reach its end within the byte
//! cap. So `/dev/null` reads as an empty file (the usual way to ignore `~/.aws/config`), while
//! `/dev/zero` and `/dev/urandom` are refused after `max` bytes, and a terminal with nothing to
//! read is refused at once (the open and the reads are non-blocking).

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Reads `path` if it is a regular file or a character device, never blocking.
///
/// * A regular file longer than `max` bytes is cut at `max`.
/// * A character device must end within `max` bytes (`/dev/null` gives an empty buffer); an
///   endless one fails with [`io::ErrorKind::FileTooLarge`], one with no data ready with
///   [`io::ErrorKind::WouldBlock`].
/// * Anything else (FIFO, directory, socket) fails with [`io::ErrorKind::InvalidInput`].
pub fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() {
        let mut buf = Vec::with_capacity(meta.len().min(max) as usize + 1);
        file.take(max).read_to_end(&mut buf)?;
        return Ok(buf);
    }
    if meta.file_type().is_char_device() {
        return read_device(file, max);
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "not a regular file or character device",
    ))
}

/// Reads a character device opened non-blocking to its end, refusing it past `max` bytes.
fn read_device(file: File, max: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            "a device that does not end within the size limit",
        ));
    }
    Ok(buf)
}

/// Whether `read_regular` refused the path for what it is (not a file, endless, or nothing to
/// read without blocking), as opposed to an ordinary failure such as a missing file.
pub fn is_refused(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::FileTooLarge | io::ErrorKind::WouldBlock
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn refuses_what_could_block() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        assert!(read_regular(&fifo, 10).is_err());
        assert!(read_regular(Path::new("/dev/zero"), 10).is_err());
        assert!(read_regular(dir.path(), 10).is_err());
        let f = dir.path().join("f");
        std::fs::write(&f, "hello world").unwrap();
        assert_eq!(read_regular(&f, 5).unwrap(), b"hello");
    }

    #[test]
    fn dev_null_reads_as_empty() {
        assert_eq!(read_regular(Path::new("/dev/null"), 10).unwrap(), b"");
        assert_eq!(read_regular(Path::new("/dev/null"), 0).unwrap(), b"");
    }

    #[test]
    fn endless_devices_are_refused_after_the_cap() {
        let started = std::time::Instant::now();
        for dev in ["/dev/zero", "/dev/urandom"] {
            let e = read_regular(Path::new(dev), 1 << 20).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::FileTooLarge, "{dev}");
            assert!(is_refused(&e), "{dev}");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn fifo_and_directory_are_refused_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        // A writer that holds the FIFO open but never writes: a blocking read would hang here.
        let _writer = File::options().read(true).write(true).open(&fifo).unwrap();
        for path in [fifo.as_path(), dir.path()] {
            let e = read_regular(path, 10).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{path:?}");
            assert!(is_refused(&e));
        }
        let missing = read_regular(&dir.path().join("missing"), 10).unwrap_err();
        assert!(!is_refused(&missing));
    }
}
