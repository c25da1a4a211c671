//! The cache keys (SPEC §6 "Keys"): `<region>-H(akid)-<account>` and `ecr-public-H(akid)`, and
//! the legacy Go ≤ 0.11 form read as a fallback.

use super::{CacheFile, Entry};
use crate::secret::Secret;
use base64::Engine as _;
use sha2::{Digest, Sha256};

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
/// is made of (it is built only when the current key misses, and never logged). Identity keys
/// (D17) have no legacy form.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    pub current: String,
    prefix: String,
    suffix: String,
    akid: Option<Secret<String>>,
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
            akid: Some(Secret::new(akid.to_owned())),
        }
    }

    pub fn public(akid: &str) -> Keys {
        Keys {
            current: format!("ecr-public-{}", hash_akid(akid)),
            prefix: "ecr-public-".to_owned(),
            suffix: String::new(),
            akid: Some(Secret::new(akid.to_owned())),
        }
    }

    /// `<region>-<part>-<account>` for an identity's key part (D17: `id1.<hex>`, never a shape
    /// Go writes, since Go's parts are base64), without a legacy form.
    pub fn private_identity(region: &str, part: &str, account: &str) -> Keys {
        Keys {
            current: format!("{region}-{part}-{account}"),
            prefix: String::new(),
            suffix: String::new(),
            akid: None,
        }
    }

    /// `ecr-public-<part>` for an identity's key part, without a legacy form.
    pub fn public_identity(part: &str) -> Keys {
        Keys {
            current: format!("ecr-public-{part}"),
            prefix: String::new(),
            suffix: String::new(),
            akid: None,
        }
    }

    /// The entry under the current key, else under the legacy key.
    pub fn find<'a>(&self, file: &'a CacheFile) -> Option<&'a Entry> {
        file.registries.get(&self.current).or_else(|| {
            let akid = self.akid.as_ref()?;
            let legacy = format!(
                "{}{}{}",
                self.prefix,
                legacy_akid(akid.expose()),
                self.suffix
            );
            file.registries.get(&legacy)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::testutil::*;

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
    fn identity_keys_have_no_legacy_form_and_no_go_shape() {
        let part = "id1.00ff";
        let k = Keys::private_identity("us-east-1", part, "123456789012");
        assert_eq!(k.current, "us-east-1-id1.00ff-123456789012");
        assert_eq!(Keys::public_identity(part).current, "ecr-public-id1.00ff");
        let mut f = CacheFile::default();
        f.registries
            .insert("us-east-1-id1.00ff-x".into(), entry(at(1), at(2)));
        assert!(k.find(&f).is_none());
        // Go's key parts are standard base64: never a '.'.
        assert!(!hash_akid("accessKey").contains('.'));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

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
}
