//! The GitLab OIDC example job (`oidc-pull-job` in examples/gitlab-runner/.gitlab-ci.yml) end to
//! end against moto's STS and ECR (issue 12): its variables, `before_script` and `script` are
//! taken from the file (PyYAML resolves its anchors) and run in one `sh -e`, as the runner
//! does, with the variables its `id_tokens:` names set to a JWT, as GitLab sets them. `docker`
//! is a stub whose `pull` asks the credential helper named in the job's docker config, as the
//! CLI does; the helper is the real binary. No glue: the token goes from the variable to STS.

use crate::common;
use crate::identity_cache::{env_for, jwt, sts_calls, SECRET};

use common::Env;
use std::path::{Path, PathBuf};

const JOB: &str = "oidc-pull-job";

/// Prints the job as one shell script; its first line is `# <id_tokens as JSON>`.
const EXTRACT: &str = r##"
import json, shlex, sys, yaml
ci = yaml.safe_load(open(sys.argv[1]))
job = ci[sys.argv[2]]
print("# " + json.dumps(job.get("id_tokens") or {}))
print("set -e")
for scope in (ci.get("variables") or {}, job.get("variables") or {}):
    for k, v in scope.items():
        print(f"export {k}={shlex.quote(str(v))}")
for line in job.get("before_script", []) + job["script"]:
    print(line)
"##;

/// `docker info` succeeds; `docker pull REF` asks the helper that the job's docker config names
/// for REF's host (`docker-credential-<name> get`), and records its answer.
const DOCKER_STUB: &str = r#"#!/bin/sh
case "$1" in
info) exit 0 ;;
pull)
    host=${2%%/*}
    cfg="${DOCKER_CONFIG:-$HOME/.docker}/config.json"
    helper=$(sed -n "s/.*\"$host\":\"\([a-z-]*\)\".*/\1/p" "$cfg")
    [ -n "$helper" ] || { echo "no credHelpers entry for $host in $cfg" >&2; exit 1; }
    printf '%s' "$host" | "docker-credential-$helper" get >"$HOME/pulled.json"
    ;;
*) echo "docker stub: $*" >&2; exit 1 ;;
esac
"#;

/// The job's script and the variables its `id_tokens:` declares, with their audiences.
fn extract(env: &Env) -> (PathBuf, serde_json::Value) {
    let python = match common::python_status() {
        Ok(p) => p.clone(),
        Err(e) => panic!("no Python: {e}"),
    };
    let ci = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gitlab-runner/.gitlab-ci.yml");
    let out = std::process::Command::new(python)
        .args(["-c", EXTRACT])
        .arg(&ci)
        .arg(JOB)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = text.lines().next().unwrap().trim_start_matches("# ");
    let script = env.dir().join("job.sh");
    std::fs::write(&script, &text).unwrap();
    (script, serde_json::from_str(first).unwrap())
}

/// Stubs first on `PATH`: `docker`, and the helper under its installed name.
fn install_stubs(env: &Env) -> String {
    use std::os::unix::fs::PermissionsExt;
    let bin = env.dir().join("stubs");
    std::fs::create_dir_all(&bin).unwrap();
    let docker = bin.join("docker");
    std::fs::write(&docker, DOCKER_STUB).unwrap();
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(
        common::helper_bin(),
        bin.join("docker-credential-ecr-login"),
    )
    .unwrap();
    format!("{}:/usr/bin:/bin", bin.display())
}

/// Runs the job once with `token` in its ID token variable; returns what `docker pull` got.
fn run_job(job: &mut Env, script: &Path, var: &str, token: &str) -> serde_json::Value {
    let _ = std::fs::remove_file(job.dir().join("pulled.json"));
    job.set(var, token);
    let out = job.run(&[script.to_str().unwrap()], b"");
    assert_eq!(out.code, 0, "{out}");
    let pulled = std::fs::read_to_string(job.dir().join("pulled.json")).unwrap();
    serde_json::from_str(&pulled).unwrap()
}

#[test]
fn gitlab_oidc_job_pulls_with_the_id_token_and_no_glue() {
    let server = require_server!();
    let env = env_for(&server);
    let path = install_stubs(&env);
    let (script, id_tokens) = extract(&env);
    let tokens = id_tokens.as_object().expect("id_tokens");
    assert_eq!(tokens.len(), 1, "{id_tokens}");
    let (var, spec) = tokens.iter().next().unwrap();
    assert_eq!(spec["aud"], "sts.amazonaws.com");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(
        text.contains(&format!("AWS_ECR_WEB_IDENTITY_TOKEN_ENV={var}")),
        "{text}"
    );
    assert!(
        !text.contains("AWS_WEB_IDENTITY_TOKEN_FILE"),
        "no token file glue"
    );

    let first = jwt("project_path:team/app:ref_type:branch:ref:main", 3600);
    let mut job = env.with("PATH", &path).bin("/bin/sh");
    let pulled = run_job(&mut job, &script, var, &first);
    assert_eq!(pulled["Secret"], SECRET, "{pulled}");
    let sts = sts_calls(&server);
    assert_eq!(sts.len(), 1, "{sts:?}");
    assert_eq!(sts[0]["action"], "AssumeRoleWithWebIdentity");
    assert_eq!(sts[0]["WebIdentityToken"], first.as_str());
    assert_eq!(
        sts[0]["RoleArn"],
        "arn:aws:iam::123456789012:role/gitlab-ci-ecr-pull"
    );
    assert_eq!(server.calls(), (1, 0));

    // The same token again (a cache dir on a runner volume): no STS or ECR call.
    server.reset();
    run_job(&mut job, &script, var, &first);
    assert_eq!((sts_calls(&server).len(), server.calls()), (0, (0, 0)));

    // The next pipeline's token: its own STS and ECR call.
    let next = jwt("project_path:team/app:ref_type:branch:ref:next", 3600);
    run_job(&mut job, &script, var, &next);
    let sts = sts_calls(&server);
    assert_eq!((sts.len(), server.calls()), (1, (1, 0)), "{sts:?}");
    assert_eq!(sts[0]["WebIdentityToken"], next.as_str());
}
