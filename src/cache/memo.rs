//! The instance-metadata memo (issue 12, D17): `<cache dir>/.imds-identity`, which access key
//! id instance metadata gave at a place (a digest of the IMDS settings and of where the
//! process runs, made by the helper), so that a warm `get` with an instance role finds its
//! cache entry without asking instance metadata.
//!
//! It holds no secret: per place, the access key id, its expiry and when it was resolved.
//! The file is read without following a symlink and bounded; anything that is not a memo of
//! this version (corrupt, truncated, another program's) reads as empty. It is written as the
//! cache is: a 0600 temp file (`O_EXCL|O_NOFOLLOW`, named like the cache's so a killed
//! writer's leftover is cleaned up with those), synced, renamed into place. Writers take no
//! lock: a lost update only costs another instance-metadata resolution. At most
//! [`MAX_MEMO_PLACES`] places are kept; the caller says which entries are still usable.

use super::Cache;
use crate::go::time::GoTime;
use serde_json::Value;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

/// The memo's file name in the cache directory.
pub const MEMO_FILE: &str = ".imds-identity";
/// The `Version` a memo must have.
const MEMO_VERSION: &str = "imds1";
/// Largest memo read (an entry takes about 200 bytes).
const MAX_MEMO_BYTES: u64 = 64 << 10;
/// The most places a memo keeps (the most recently resolved ones).
pub const MAX_MEMO_PLACES: usize = 64;

/// One resolution of instance credentials: no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub akid: String,
    /// When the credentials expire.
    pub expires: GoTime,
    /// When they were resolved.
    pub resolved: GoTime,
}

/// The memo's entries by place (at most one per place; a few dozen at most, so a list).
pub type Memo = Vec<(String, Resolution)>;

/// The memo in `bytes`; empty unless it is a memo of this version. Malformed entries are
/// skipped.
pub fn parse_memo(bytes: &[u8]) -> Memo {
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(bytes) else {
        return Memo::new();
    };
    let Some(Value::Object(places)) = doc
        .get("Version")
        .filter(|v| *v == MEMO_VERSION)
        .and(doc.get("Places"))
    else {
        return Memo::new();
    };
    let time = |e: &Value, k: &str| e.get(k)?.as_str().and_then(GoTime::parse_rfc3339);
    let mut memo = Memo::new();
    for (place, e) in places {
        let akid = e.get("AccessKeyId").and_then(Value::as_str).unwrap_or("");
        let (Some(expires), Some(resolved)) = (time(e, "Expiration"), time(e, "ResolvedAt")) else {
            continue;
        };
        if !akid.is_empty() {
            let akid = akid.to_owned();
            memo.push((
                place.clone(),
                Resolution {
                    akid,
                    expires,
                    resolved,
                },
            ));
        }
    }
    memo
}

/// The memo's bytes (compact JSON, places in the memo's order).
pub fn serialize_memo(memo: &Memo) -> String {
    use crate::go::json::push_str;
    let mut out = String::from("{\"Places\":{");
    for (i, (place, r)) in memo.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(&mut out, place);
        out.push_str(":{\"AccessKeyId\":");
        push_str(&mut out, &r.akid);
        out.push_str(",\"Expiration\":");
        push_str(&mut out, &r.expires.clamp_writable().to_rfc3339());
        out.push_str(",\"ResolvedAt\":");
        push_str(&mut out, &r.resolved.clamp_writable().to_rfc3339());
        out.push('}');
    }
    out.push_str("},\"Version\":");
    push_str(&mut out, MEMO_VERSION);
    out.push('}');
    out
}

impl Cache {
    pub fn memo_path(&self) -> PathBuf {
        self.dir.join(MEMO_FILE)
    }

    /// The memo; empty when it is missing, unreadable, a symlink or not a memo.
    pub fn memo_load(&self) -> Memo {
        let read = || -> io::Result<Vec<u8>> {
            let file = std::fs::File::options()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
                .open(self.memo_path())?;
            if !file.metadata()?.is_file() {
                return Err(io::ErrorKind::InvalidInput.into());
            }
            let mut buf = Vec::new();
            file.take(MAX_MEMO_BYTES).read_to_end(&mut buf)?;
            Ok(buf)
        };
        read().map(|b| parse_memo(&b)).unwrap_or_default()
    }

    /// Records `resolution` for `place`, keeping the other places for which `keep` holds, the
    /// most recently resolved [`MAX_MEMO_PLACES`] in all.
    pub fn memo_store(
        &self,
        place: &str,
        resolution: Resolution,
        keep: &dyn Fn(&Resolution) -> bool,
    ) -> io::Result<()> {
        self.ensure_dir()
            .map_err(|e| io::Error::other(e.to_string()))?;
        let mut memo = self.memo_load();
        memo.retain(|(p, r)| p != place && keep(r));
        while memo.len() >= MAX_MEMO_PLACES {
            let oldest = (0..memo.len()).min_by_key(|&i| memo[i].1.resolved);
            memo.remove(oldest.unwrap_or(0));
        }
        memo.push((place.to_owned(), resolution));
        let (tmp_path, mut tmp) = self.create_temp()?;
        let written = super::store::rewrite(&mut tmp, serialize_memo(&memo).as_bytes())
            .and_then(|()| std::fs::rename(&tmp_path, self.memo_path()));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp_path);
        }
        written
    }
}

#[cfg(test)]
mod tests;
