//! Reading the small files the helper trusts (cache, shared config, CA bundles) without ever
//! blocking: a FIFO, a device or a procfs file planted at one of those paths must not hang a
//! credential request, and a huge file must not exhaust memory.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Reads `path` if it is a regular file of at most `max` bytes (longer files are cut at `max`).
/// The open never blocks (`O_NONBLOCK`) and anything but a regular file is refused.
pub fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut buf = Vec::with_capacity(meta.len().min(max) as usize + 1);
    file.take(max).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_could_block() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(read_regular(&fifo, 10).is_err());
        assert!(read_regular(Path::new("/dev/zero"), 10).is_err());
        assert!(read_regular(dir.path(), 10).is_err());
        let f = dir.path().join("f");
        std::fs::write(&f, "hello world").unwrap();
        assert_eq!(read_regular(&f, 5).unwrap(), b"hello");
    }
}
