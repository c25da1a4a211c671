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
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
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

/// The memo's entries by place.
pub type Memo = BTreeMap<String, Resolution>;

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
    places
        .iter()
        .filter_map(|(place, e)| {
            let akid = e.get("AccessKeyId")?.as_str().filter(|a| !a.is_empty())?;
            Some((
                place.clone(),
                Resolution {
                    akid: akid.to_owned(),
                    expires: time(e, "Expiration")?,
                    resolved: time(e, "ResolvedAt")?,
                },
            ))
        })
        .collect()
}

/// The memo's bytes.
pub fn serialize_memo(memo: &Memo) -> String {
    let places: Map<String, Value> = memo
        .iter()
        .map(|(place, r)| {
            let entry = json!({
                "AccessKeyId": r.akid,
                "Expiration": r.expires.clamp_writable().to_rfc3339(),
                "ResolvedAt": r.resolved.clamp_writable().to_rfc3339(),
            });
            (place.clone(), entry)
        })
        .collect();
    json!({ "Places": places, "Version": MEMO_VERSION }).to_string()
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
        keep: impl Fn(&Resolution) -> bool,
    ) -> io::Result<()> {
        self.ensure_dir()
            .map_err(|e| io::Error::other(e.to_string()))?;
        let mut memo = self.memo_load();
        memo.retain(|p, r| p != place && keep(r));
        if memo.len() >= MAX_MEMO_PLACES {
            let mut by_age: Vec<(GoTime, String)> =
                memo.iter().map(|(p, r)| (r.resolved, p.clone())).collect();
            by_age.sort();
            let excess = memo.len() + 1 - MAX_MEMO_PLACES;
            for (_, p) in by_age.into_iter().take(excess) {
                memo.remove(&p);
            }
        }
        memo.insert(place.to_owned(), resolution);
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
