//! The identity the credential chain would use, computed locally (issue 12, SPEC §14 D17).
//!
//! Go keys every cache entry by the hash of the resolved access key id, so temporary credentials
//! (roles, web identity, SSO, container and instance credentials) miss on every call. This module
//! names the *source* of the credentials instead, cheaply enough for every warm `get`: no
//! runtime, no SDK, no network; it only reads small files (the shared config through
//! [`SharedFiles`], token files and the SSO token cache) with [`crate::fsutil::read_regular`].
//!
//! [`resolve`] mirrors the chain as [`crate::aws::factory`] drives it:
//! 1. environment keys (with Go's aliases): [`Identity::StaticKey`];
//! 2. the selected profile, as aws-config's profile provider walks it (`role_arn` with
//!    `source_profile`/`credential_source`, where a source profile's static keys win; else
//!    `credential_source`, `web_identity_token_file`, SSO, `login_session`,
//!    `credential_process`, static keys), including the roles the factory assumes itself (a
//!    `duration_seconds`, or a source profile's `credential_process`), whose source is a new
//!    chain rooted at the source profile;
//! 3. environment web identity (`AWS_ROLE_ARN` with `AWS_WEB_IDENTITY_TOKEN_FILE`, or with the
//!    token in the variable named by [`TOKEN_ENV_VAR`]; Go tries this before the profile);
//! 4. container credentials; 5. instance metadata.
//!
//! A profile without credentials (or no profile) falls through to 3, as in the SDK. Anything the
//! SDK would reject, or that cannot be told locally (an unreadable token file, a missing source
//! profile, a loop, `login_session`), is [`Identity::Unknown`]: the caller then has no identity
//! key and goes through the SDK as before.
//!
//! Keys ([`Identity::key_part`]): static keys keep Go's `H(akid)`, so both helpers share those
//! entries; every other identity is `id1.<lower-hex SHA-256 of a canonical, length-prefixed
//! description>`. Go's key parts are base64 (never a `.`), so they cannot collide. The
//! description holds only names, ARNs, URLs and SHA-256 hashes of tokens, never a token.
//! [`Identity::valid_until`] bounds how long a cached answer may be given: a web identity
//! token's `exp` (read unverified from the JWT payload), the SSO token cache's `expiresAt`.
//!
//! Instance metadata credentials are [`Identity::Instance`], named by their place (the IMDS
//! settings and where the process runs): as a role's source that is enough, since the role is
//! the principal; alone, the caller keys them by the access key id remembered from the last
//! resolution at that place, so that a replaced instance profile is seen.

mod chain;
mod env;
mod sources;
#[cfg(test)]
mod tests;

use crate::aws::profile::SharedFiles;
use crate::config::Config;
use crate::go::time::GoTime;
use crate::secret::Secret;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

pub use env::EnvSources;
pub use sources::{jwt_expiry, TOKEN_ENV_VAR};

/// The source of the credentials the chain would use. Holds no secret: tokens appear only as
/// SHA-256 hashes (lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Static keys, from the environment or a profile.
    StaticKey { akid: String },
    /// A role assumed with the credentials of `source`.
    AssumeRole {
        profile: String,
        role_arn: String,
        external_id: Option<String>,
        session_name: Option<String>,
        duration_seconds: Option<u64>,
        source: Box<Identity>,
    },
    /// `AssumeRoleWithWebIdentity` with a token from a file or an environment variable.
    WebIdentity {
        role_arn: String,
        session_name: Option<String>,
        token_sha256: String,
        /// The token's `exp`, when it is a JWT that has one.
        expires: Option<GoTime>,
    },
    /// IAM Identity Center: the session (or, for legacy profiles, the start URL), account, role.
    Sso {
        session: Option<String>,
        start_url: String,
        account: String,
        role: String,
        /// The cached SSO token's `expiresAt`; [`GoTime::ZERO`] when there is none to read.
        expires: GoTime,
    },
    /// ECS/EKS container credentials.
    Container {
        endpoint: String,
        auth_sha256: Option<String>,
    },
    /// A profile's `credential_process`: the command line is the identity.
    Process {
        profile: String,
        command_sha256: String,
    },
    /// The instance metadata service at a place ([`sources::imds_place`]: the IMDS settings
    /// and where the process runs). Alone it has no key part: the helper keys it by the access
    /// key id its memo remembers; as a role's source, the place names it.
    Instance { place: String },
    /// Not known locally; the SDK decides.
    Unknown(Undetermined),
}

/// Why an identity cannot be computed locally.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Undetermined {
    #[error("the shared config files were refused")]
    FilesRefused,
    #[error("only one of the environment's access key id and secret key is set")]
    PartialEnvKeys,
    #[error("cannot read the token file {0}")]
    TokenFile(PathBuf),
    #[error("{TOKEN_ENV_VAR} names a variable that is unset or empty")]
    TokenVarEmpty,
    #[error("profile {profile}: {why}")]
    Profile { profile: String, why: &'static str },
    #[error("the instance metadata service is disabled")]
    ImdsDisabled,
}

/// The first part of every identity key that is not Go's.
const KEY_PREFIX: &str = "id1.";

impl Identity {
    /// The identity's part of a cache key: Go's `H(akid)` for static keys, `id1.<hex>` for the
    /// others; `None` for [`Identity::Instance`] and [`Identity::Unknown`].
    pub fn key_part(&self) -> Option<String> {
        match self {
            Identity::StaticKey { akid } => Some(crate::cache::hash_akid(akid)),
            Identity::Instance { .. } | Identity::Unknown(_) => None,
            _ => {
                let mut canon = Vec::new();
                self.describe(&mut canon)?;
                Some(format!("{KEY_PREFIX}{}", hex_sha256(&canon)))
            }
        }
    }

    /// Until when a cached answer may be given (the earliest bound along a role chain); `None`
    /// when the identity does not bound it.
    pub fn valid_until(&self) -> Option<GoTime> {
        match self {
            Identity::WebIdentity { expires, .. } => *expires,
            Identity::Sso { expires, .. } => Some(*expires),
            Identity::AssumeRole { source, .. } => source.valid_until(),
            _ => None,
        }
    }

    /// Whether a cached answer may still be given at `now`.
    pub fn usable_at(&self, now: GoTime) -> bool {
        self.valid_until().is_none_or(|until| now < until)
    }

    /// A short name of the kind, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Identity::StaticKey { .. } => "static keys",
            Identity::AssumeRole { .. } => "assumed role",
            Identity::WebIdentity { .. } => "web identity",
            Identity::Sso { .. } => "SSO",
            Identity::Container { .. } => "container credentials",
            Identity::Process { .. } => "credential_process",
            Identity::Instance { .. } => "instance metadata",
            Identity::Unknown(_) => "unknown",
        }
    }

    /// The tag and fields of the canonical description, and a role's source; `None` for
    /// identities without one.
    fn fields(&self) -> Option<(Vec<String>, Option<&Identity>)> {
        let opt = |v: &Option<String>| v.as_deref().map_or("-".to_owned(), |v| format!("+{v}"));
        let s = |v: &str| v.to_owned();
        Some(match self {
            Identity::StaticKey { akid } => (vec![s("static"), s(akid)], None),
            Identity::AssumeRole { source, .. } => (self.role_fields(), Some(&**source)),
            Identity::WebIdentity {
                role_arn,
                session_name,
                token_sha256,
                ..
            } => (
                vec![s("web"), s(role_arn), opt(session_name), s(token_sha256)],
                None,
            ),
            Identity::Sso {
                session,
                start_url,
                account,
                role,
                ..
            } => (
                vec![s("sso"), opt(session), s(start_url), s(account), s(role)],
                None,
            ),
            Identity::Container {
                endpoint,
                auth_sha256,
            } => (vec![s("container"), s(endpoint), opt(auth_sha256)], None),
            Identity::Process {
                profile,
                command_sha256,
            } => (vec![s("process"), s(profile), s(command_sha256)], None),
            Identity::Instance { place } => (vec![s("imds"), s(place)], None),
            Identity::Unknown(_) => return None,
        })
    }

    /// The fields of an [`Identity::AssumeRole`] (empty for other kinds).
    fn role_fields(&self) -> Vec<String> {
        let Identity::AssumeRole {
            profile,
            role_arn,
            external_id,
            session_name,
            duration_seconds,
            ..
        } = self
        else {
            return Vec::new();
        };
        let opt = |v: Option<String>| v.map_or("-".to_owned(), |v| format!("+{v}"));
        vec![
            "role".to_owned(),
            profile.clone(),
            role_arn.clone(),
            opt(external_id.clone()),
            opt(session_name.clone()),
            opt(duration_seconds.map(|d| d.to_string())),
        ]
    }

    /// Appends the canonical description: length-prefixed fields, a role's source last, so no
    /// two identities describe alike.
    fn describe(&self, out: &mut Vec<u8>) -> Option<()> {
        let (fields, source) = self.fields()?;
        for field in fields {
            out.extend_from_slice(format!("{}:", field.len()).as_bytes());
            out.extend_from_slice(field.as_bytes());
        }
        source.map_or(Some(()), |source| source.describe(out))
    }
}

/// Lower-case hex SHA-256.
fn hex_sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Everything [`resolve`] reads besides the shared files.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The selected profile.
    pub profile: String,
    /// Where `.aws/sso/cache` is.
    pub home: Option<PathBuf>,
    /// The access key id of complete environment keys (with Go's aliases).
    pub env_akid: Option<String>,
    pub env: EnvSources,
}

impl Inputs {
    pub fn new(cfg: &Config) -> Inputs {
        Inputs {
            profile: cfg.profile.clone(),
            home: cfg.home.clone(),
            env_akid: cfg.env_keys.as_ref().map(|k| k.access_key_id.clone()),
            env: EnvSources::from_env(),
        }
    }
}

/// The identity for `cfg`. Environment keys come first in the chain and need neither the
/// environment scan of [`EnvSources`] nor the shared files, so the warm static-key `get` reads
/// only the cache.
pub fn resolve_config<'f>(cfg: &Config, files: impl FnOnce() -> &'f SharedFiles) -> Identity {
    match &cfg.env_keys {
        Some(keys) => Identity::StaticKey {
            akid: keys.access_key_id.clone(),
        },
        None => resolve(&Inputs::new(cfg), files()),
    }
}

/// The identity of `role_arn` assumed with a web identity token given to the call (a kubelet
/// pod's): the same as that role and token configured in the environment.
pub fn federated(role_arn: &str, session_name: &str, token: &Secret<String>) -> Identity {
    let session_name = session_name.to_owned();
    sources::web_identity(role_arn, Some(&session_name), token.expose().as_bytes())
}

/// The `profile` of an [`Identity::AssumeRole`] that a rule of the registries configuration
/// assumes (issue 16): no profile of the shared files has this name (it has a space and
/// brackets), so such a role never shares a key with a profile's.
pub const CONFIGURED_ROLE: &str = "[ecr-login registries configuration]";

/// `role` assumed on top of `source` (a rule of the registries configuration); an unknown
/// source stays unknown.
pub fn assumed(role: &crate::aws::assume::RoleSpec, source: Identity) -> Identity {
    if let Identity::Unknown(_) = source {
        return source;
    }
    Identity::AssumeRole {
        profile: CONFIGURED_ROLE.to_owned(),
        role_arn: role.role_arn.clone(),
        external_id: role.external_id.clone(),
        session_name: role.session_name.clone(),
        duration_seconds: role.duration_seconds,
        source: Box::new(source),
    }
}

/// The identity the credential chain would use (see the module documentation).
pub fn resolve(inputs: &Inputs, files: &SharedFiles) -> Identity {
    if let Some(akid) = &inputs.env_akid {
        return Identity::StaticKey { akid: akid.clone() };
    }
    if inputs.env.any_env_key {
        return Identity::Unknown(Undetermined::PartialEnvKeys);
    }
    if files.refused.is_some() {
        return Identity::Unknown(Undetermined::FilesRefused);
    }
    match chain::selected_profile(inputs, files) {
        chain::Step::Found(id) => return id,
        chain::Step::Invalid(why) => return Identity::Unknown(why),
        chain::Step::NotLoaded => {}
    }
    if let Some(id) = sources::env_web_identity(&inputs.env) {
        return id;
    }
    if let Some(id) = sources::container(&inputs.env) {
        return id;
    }
    if inputs.env.imds_disabled {
        Identity::Unknown(Undetermined::ImdsDisabled)
    } else {
        let place = sources::imds_place(&inputs.env, &files.properties(&inputs.profile));
        Identity::Instance { place }
    }
}
