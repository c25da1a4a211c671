//! The profile step of the chain: the selected profile walked as aws-config's profile provider
//! walks it (`profile/credentials/repr.rs`, `resolve_chain`), with the roles
//! [`crate::aws::factory`] assumes itself.
//!
//! * A profile with `role_arn` (and no `web_identity_token_file`) is a role; its source is the
//!   `source_profile` (itself: its own base credentials) or the `credential_source`.
//! * After the first profile, static keys win over anything else in a profile.
//! * Otherwise the base is, in order: `credential_source`, `web_identity_token_file` (with
//!   `role_arn`), SSO, `login_session`, `credential_process`, static keys.
//! * The selected profile's role is assumed by the factory when it has a `duration_seconds` or
//!   its source profile runs a `credential_process`; its source is then a new SDK chain rooted at
//!   the source profile (where static keys do not come first).
//!
//! A selected profile without credentials (or none at all) lets the chain go on, as in the SDK;
//! anything the SDK would reject, and anything unusual it might accept, is undetermined.

use super::sources::{container, imds_place, sso_expiry, sso_session_section, web_identity_file};
use super::{hex_sha256, Identity, Inputs, Undetermined};
use crate::aws::profile::{self, Properties, SharedFiles};
use std::path::Path;

/// The longest `source_profile` chain followed.
const MAX_HOPS: usize = 16;

/// What the profile step gives.
pub(super) enum Step {
    /// The profile names the identity.
    Found(Identity),
    /// The profile has no credentials: the chain goes on.
    NotLoaded,
    /// The SDK would fail, or the case is not mirrored here.
    Invalid(Undetermined),
}

/// The identity of the selected profile.
pub(super) fn selected_profile(inputs: &Inputs, files: &SharedFiles) -> Step {
    Walk::new(inputs, files, true).profile(&inputs.profile)
}

fn invalid(profile: &str, why: &'static str) -> Step {
    Step::Invalid(Undetermined::Profile {
        profile: profile.to_owned(),
        why,
    })
}

/// One SDK profile chain.
struct Walk<'a> {
    inputs: &'a Inputs,
    files: &'a SharedFiles,
    /// The profiles seen so far; the first is the chain's root.
    visited: Vec<String>,
    /// Whether the root's role may be one the factory assumes itself.
    own_roles: bool,
}

impl<'a> Walk<'a> {
    fn new(inputs: &'a Inputs, files: &'a SharedFiles, own_roles: bool) -> Walk<'a> {
        Walk {
            inputs,
            files,
            visited: Vec::new(),
            own_roles,
        }
    }

    fn profile(&mut self, name: &str) -> Step {
        if self.visited.iter().any(|v| v == name) {
            return invalid(name, "a source_profile loop");
        }
        if self.visited.len() >= MAX_HOPS {
            return invalid(name, "too long a source_profile chain");
        }
        let root = self.visited.is_empty();
        self.visited.push(name.to_owned());
        let props = self.files.properties(name);
        if !root {
            if let Some(akid) = static_key(&props) {
                return Step::Found(Identity::StaticKey { akid });
            }
        }
        match props.get("role_arn") {
            Some(arn) if !props.contains_key("web_identity_token_file") => {
                self.role(name, &props, arn, root)
            }
            _ => self.base(name, &props, root),
        }
    }

    /// A role profile: the role wrapped around its source's identity.
    fn role(&mut self, name: &str, props: &Properties, role_arn: &str, root: bool) -> Step {
        let duration_seconds = props
            .get("duration_seconds")
            .and_then(|s| s.trim().parse::<u64>().ok());
        let own = root && self.own_roles && self.factory_assumes(props, duration_seconds);
        let source = match (props.get("source_profile"), props.get("credential_source")) {
            (Some(source), _) if own => {
                match Walk::new(self.inputs, self.files, false).profile(source) {
                    Step::NotLoaded => invalid(source, "a source profile without credentials"),
                    step => step,
                }
            }
            (Some(_), Some(_)) => invalid(name, "both source_profile and credential_source"),
            (None, None) => invalid(name, "role_arn without a source"),
            (Some(source), None) if source != name => self.profile(source),
            // A self reference or a credential_source: the profile's own base credentials.
            _ => self.base(name, props, false),
        };
        let source = match source {
            Step::Found(id) => id,
            other => return other,
        };
        Step::Found(Identity::AssumeRole {
            profile: name.to_owned(),
            role_arn: role_arn.to_owned(),
            external_id: props.get("external_id").cloned(),
            session_name: props.get("role_session_name").cloned(),
            duration_seconds,
            source: Box::new(source),
        })
    }

    /// Whether [`crate::aws::factory`] assumes the selected profile's role itself (its
    /// `own_role`): a `duration_seconds`, or a source profile it runs the `credential_process`
    /// of, and a source.
    fn factory_assumes(&self, props: &Properties, duration_seconds: Option<u64>) -> bool {
        let process = props
            .get("source_profile")
            .is_some_and(|s| runs_process(&self.files.properties(s)));
        (duration_seconds.is_some() || process)
            && (props.contains_key("source_profile") || props.contains_key("credential_source"))
    }

    /// A profile's base credentials, in aws-config's order.
    fn base(&mut self, name: &str, props: &Properties, root: bool) -> Step {
        if let Some(source) = props.get("credential_source") {
            return self.named_source(name, source);
        }
        if let Some(file) = props.get("web_identity_token_file") {
            return match props.get("role_arn") {
                Some(arn) => Step::Found(web_identity_file(
                    arn,
                    props.get("role_session_name"),
                    Path::new(file),
                )),
                None => invalid(name, "web_identity_token_file without role_arn"),
            };
        }
        if SSO_KEYS.iter().any(|k| props.contains_key(*k)) {
            return self.sso(name, props);
        }
        if props.contains_key("login_session") {
            return invalid(name, "login_session is not named locally");
        }
        if let Some(command) = props.get("credential_process") {
            return Step::Found(Identity::Process {
                profile: name.to_owned(),
                command_sha256: hex_sha256(command.as_bytes()),
            });
        }
        match static_key(props) {
            Some(akid) => Step::Found(Identity::StaticKey { akid }),
            None if root && !STATIC_KEYS.iter().any(|k| props.contains_key(*k)) => Step::NotLoaded,
            None => invalid(name, "no usable credentials"),
        }
    }

    /// A `credential_source`.
    fn named_source(&self, name: &str, source: &str) -> Step {
        match source {
            "EcsContainer" => container(&self.inputs.env).map_or_else(
                || {
                    invalid(
                        name,
                        "credential_source EcsContainer without container credentials",
                    )
                },
                Step::Found,
            ),
            "Ec2InstanceMetadata" if self.inputs.env.imds_disabled => {
                Step::Invalid(Undetermined::ImdsDisabled)
            }
            "Ec2InstanceMetadata" => Step::Found(Identity::Instance {
                place: imds_place(
                    &self.inputs.env,
                    &self.files.properties(&self.inputs.profile),
                ),
            }),
            // `Environment`: there are no environment keys here (they come first).
            _ => invalid(name, "an unusable credential_source"),
        }
    }

    /// An SSO profile, legacy (`sso_start_url` in the profile) or with `sso_session`.
    fn sso(&self, name: &str, props: &Properties) -> Step {
        let session = props.get("sso_session");
        let own = |k: &str| props.get(k).cloned();
        let (start_url, region) = match session {
            Some(_) if props.contains_key("sso_start_url") || props.contains_key("sso_region") => {
                return invalid(name, "sso_start_url or sso_region beside sso_session");
            }
            Some(session) => {
                let section = sso_session_section(self.files.config.expose(), session);
                let get = |k: &str| section.get(k).cloned();
                (get("sso_start_url"), get("sso_region"))
            }
            None => (own("sso_start_url"), own("sso_region")),
        };
        let (Some(start_url), Some(_), Some(account), Some(role)) = (
            start_url,
            region,
            own("sso_account_id"),
            own("sso_role_name"),
        ) else {
            return invalid(name, "an incomplete SSO configuration");
        };
        let id = session.unwrap_or(&start_url);
        let expires = sso_expiry(self.inputs.home.as_deref(), id);
        Step::Found(Identity::Sso {
            session: session.cloned(),
            start_url,
            account,
            role,
            expires,
        })
    }
}

const SSO_KEYS: [&str; 5] = [
    "sso_account_id",
    "sso_region",
    "sso_role_name",
    "sso_start_url",
    "sso_session",
];

const STATIC_KEYS: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// The access key id when both static keys are set (aws-config's `static_creds_from_profile`).
fn static_key(props: &Properties) -> Option<String> {
    props.get("aws_secret_access_key")?;
    props.get("aws_access_key_id").cloned()
}

/// Whether the factory runs this source profile's `credential_process` itself (its
/// `process_provider` for a source): a command and nothing that would take precedence. As
/// there, static keys beside the command do not prevent it (`static_access_key` is `None` for a
/// profile with a `credential_process`), although the SDK would prefer them.
fn runs_process(props: &Properties) -> bool {
    let other = [
        "role_arn",
        "credential_source",
        "web_identity_token_file",
        "login_session",
    ];
    props
        .get("credential_process")
        .is_some_and(|c| !c.is_empty())
        && !other.iter().any(|k| props.contains_key(*k))
        && !props.keys().any(|k| k.starts_with("sso_"))
        && profile::static_access_key(props).is_none()
}
