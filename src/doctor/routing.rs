//! Whether the clients' config files send a registry to this helper: the docker CLI looks
//! `credHelpers` up by `host[:port]` exactly and otherwise uses `credsStore`; containers/image
//! reads the same keys from its auth files. A `credHelpers` key naming the same host in another
//! form (`host:443`, `https://host`, `host/path`) is never matched for `host`: flagged.

use super::report::Check;
use crate::configure::paths::{self, HELPER};
use serde_json::{Map, Value};
use std::path::PathBuf;

/// One client config file as read.
pub struct ClientFile {
    pub path: PathBuf,
    /// `Ok(None)`: the file does not exist.
    pub doc: Result<Option<Map<String, Value>>, String>,
}

impl ClientFile {
    pub fn read(path: PathBuf) -> ClientFile {
        let doc = match crate::fsutil::read_regular(&path, 4 << 20) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => Ok(Some(map)),
                Ok(_) => Err("not a JSON object".to_owned()),
                Err(e) => Err(e.to_string()),
            },
        };
        ClientFile { path, doc }
    }

    fn map(&self) -> Option<&Map<String, Value>> {
        self.doc.as_ref().ok()?.as_ref()
    }

    fn helpers(&self) -> impl Iterator<Item = (&String, &str)> {
        self.map()
            .and_then(|m| m.get("credHelpers"))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k, v.as_str()?)))
    }

    /// The helper that serves `key` here, and whether through `credsStore`.
    fn route(&self, key: &str) -> Option<(&str, bool)> {
        if let Some((_, h)) = self.helpers().find(|(k, _)| *k == key) {
            return Some((h, false));
        }
        let store = self.map()?.get("credsStore")?.as_str()?;
        Some((store, true))
    }
}

/// The docker config file, then the containers auth files that exist.
pub fn files(home: Option<&std::path::Path>) -> Vec<ClientFile> {
    let docker = paths::docker_config(home).map(ClientFile::read);
    let containers = paths::containers_files(home)
        .into_iter()
        .map(ClientFile::read)
        .filter(|f| !matches!(f.doc, Ok(None)));
    docker.into_iter().chain(containers).collect()
}

/// The registries routed to this helper by `credHelpers` (docker keys, in file order, once
/// each).
pub fn configured(files: &[ClientFile]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (k, h) in files.iter().flat_map(|f| f.helpers()) {
        if h == HELPER && !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    keys
}

/// Which files were read (a missing docker file is fine when another routes).
pub fn check_files(files: &[ClientFile]) -> Check {
    let mut read = Vec::new();
    for f in files {
        match &f.doc {
            Ok(Some(_)) => read.push(f.path.display().to_string()),
            Ok(None) => read.push(format!("{} (missing)", f.path.display())),
            Err(e) => {
                return Check::fail(
                    "docker config",
                    format!("{}: {e}", f.path.display()),
                    "repair the JSON (clients ignore the whole file)",
                )
            }
        }
    }
    if read.is_empty() {
        return Check::fail(
            "docker config",
            "no home and no DOCKER_CONFIG".to_owned(),
            "set HOME or DOCKER_CONFIG",
        );
    }
    Check::ok("docker config", read.join(", "))
}

/// `credHelpers` keys that name `key`'s host in another form, which clients never look up for
/// `key`: a URL form (`https://host`, `host/path`) always, another port (`host:443`) when
/// `key` itself is not routed here (then it is a registry of its own that images may name).
fn misfiled(files: &[ClientFile], key: &str, routed: bool) -> Vec<Check> {
    let host = crate::registry::extract_host(key).unwrap_or(key);
    let mut out = Vec::new();
    for f in files {
        for (k, h) in f.helpers() {
            let same_host = crate::registry::extract_host(paths::docker_key(k)) == Some(host);
            let plain = paths::docker_key(k) == k;
            if k != key && h == HELPER && same_host && !(plain && routed) {
                out.push(Check::fail(
                    "routing",
                    format!(
                        "{}: credHelpers key \"{k}\" is never looked up for {key}",
                        f.path.display()
                    ),
                    &format!("use the key \"{key}\": docker-credential-ecr-login configure {key}"),
                ));
            }
        }
    }
    out
}

/// Whether some file routes `key` (a docker key) to this helper, and the keys that look like
/// it but are never matched.
pub fn check_route(files: &[ClientFile], key: &str) -> Vec<Check> {
    let routed = files.iter().find_map(|f| Some((f, f.route(key)?)));
    let mut out = misfiled(files, key, matches!(routed, Some((_, (HELPER, _)))));
    out.insert(
        0,
        match routed {
            Some((f, (HELPER, store))) => Check::ok(
                "routing",
                format!(
                    "{} sends {key} to {HELPER} ({})",
                    f.path.display(),
                    if store { "credsStore" } else { "credHelpers" }
                ),
            ),
            Some((f, (other, _))) => Check::fail(
                "routing",
                format!(
                    "{} sends {key} to docker-credential-{other}",
                    f.path.display()
                ),
                &format!("docker-credential-ecr-login configure --force {key}"),
            ),
            None => Check::fail(
                "routing",
                format!("no credHelpers entry or credsStore sends {key} to {HELPER}"),
                &format!("docker-credential-ecr-login configure {key}"),
            ),
        },
    );
    out
}
