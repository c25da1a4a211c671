//! Fault injection against the real binary and the test ECR API (moto): processes SIGKILLed in
//! the middle of cache writes, a full disk and a read-only cache directory, lock files held by
//! dead and live processes, symlinks planted where the helper writes, and a 200-process load.
//!
//! Invariants checked throughout: `get` answers (credentials, or exactly the not-found line) within
//! its time bound, never writes stderr, `cache.json` is always absent or a file Go can read, and
//! no write ever lands outside the cache directory.
//!
//! Each test skips loudly without a Python that has moto (`require_server!`), and the mount tests
//! skip loudly when not root or when `mount` is not permitted. The two process storms take a
//! shared lock so that they do not run at the same time.

use crate::common;

use common::Env;
use docker_credential_ecr_login::cache::Keys;
use docker_credential_ecr_login::go::time::GoTime;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const NOT_FOUND: &str = "credentials not found in native keychain\n";
const ACCOUNT: &str = "123456789012";
const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// The process storms ((a) and (e)) run one at a time: the machine may have two cores.
static STORM: Mutex<()> = Mutex::new(());

fn storm_lock() -> std::sync::MutexGuard<'static, ()> {
    STORM.lock().unwrap_or_else(|e| e.into_inner())
}

/// `NNNNNNNNNNNN.dkr.ecr.us-east-1.amazonaws.com` for test registry `i`.
fn account(i: u64) -> String {
    format!("{:012}", 200_000_000_000u64 + i)
}

fn host(account: &str) -> String {
    format!("{account}.dkr.ecr.us-east-1.amazonaws.com")
}

/// The `get` answer moto's token gives for `account` asked as `server_url`.
fn answer(server_url: &str, account: &str) -> String {
    format!(
        "{{\"ServerURL\":\"{server_url}\",\"Username\":\"AWS\",\"Secret\":\"{account}-auth-token\"}}\n"
    )
}

/// `us-east-1-H(AKIDEXAMPLE)-<account>`.
fn key_for(account: &str) -> String {
    Keys::private("us-east-1", common::TEST_AKID, account).current
}

/// UTC RFC 3339, whole seconds, `offset_secs` from now.
fn rfc3339(offset_secs: i64) -> String {
    common::rfc3339_from_now(offset_secs)
}

/// A Go-format cache file: (account, token, requested offset, expires offset) per entry.
fn cache_text(entries: &[(&str, &str, i64, i64)]) -> String {
    let regs: Vec<String> = entries
        .iter()
        .map(|(acct, tok, req, exp)| {
            format!(
                "\"{}\":{{\"AuthorizationToken\":\"{tok}\",\"RequestedAt\":\"{}\",\"ExpiresAt\":\"{}\",\"ProxyEndpoint\":\"https://{}\",\"Service\":\"ecr\"}}",
                key_for(acct),
                rfc3339(*req),
                rfc3339(*exp),
                host(acct)
            )
        })
        .collect();
    format!(
        "{{\"Registries\":{{{}}},\"Version\":\"1.0\"}}",
        regs.join(",")
    )
}

/// base64("AWS:cached-secret")
const CACHED_TOKEN: &str = "QVdTOmNhY2hlZC1zZWNyZXQ=";

fn cached_answer(server_url: &str) -> String {
    format!(
        "{{\"ServerURL\":\"{server_url}\",\"Username\":\"AWS\",\"Secret\":\"cached-secret\"}}\n"
    )
}

/// `YYYY-MM-DDTHH:MM:SS[.1-9 digits](Z|±hh:mm)`, the only time form Go's `time.Time` reads.
fn is_rfc3339(s: &str) -> bool {
    GoTime::parse_rfc3339(s).is_some()
}

/// Checks a cache file the way Go's helper reads it (exact keys, `Version` "1.0", string fields,
/// RFC 3339 times) and returns its registry keys. `Ok(None)` when there is no file.
fn go_readable_cache(path: &Path) -> Result<Option<Vec<String>>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let show = || String::from_utf8_lossy(&bytes).into_owned();
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("not JSON ({e}): {:?}", show()))?;
    let top = v
        .as_object()
        .ok_or_else(|| format!("not an object: {:?}", show()))?;
    if top.len() != 2 || top.get("Version") != Some(&Value::from("1.0")) {
        return Err(format!("bad top level: {:?}", show()));
    }
    let regs = top
        .get("Registries")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("no Registries object: {:?}", show()))?;
    for (k, e) in regs {
        let e = e
            .as_object()
            .ok_or_else(|| format!("entry {k} not an object"))?;
        for f in ["AuthorizationToken", "ProxyEndpoint", "Service"] {
            if !e.get(f).is_some_and(Value::is_string) {
                return Err(format!("entry {k}: {f} missing or not a string"));
            }
        }
        for f in ["RequestedAt", "ExpiresAt"] {
            match e.get(f).and_then(Value::as_str) {
                Some(t) if is_rfc3339(t) => {}
                other => return Err(format!("entry {k}: {f} = {other:?} is not RFC 3339")),
            }
        }
    }
    Ok(Some(regs.keys().cloned().collect()))
}

/// Names in `dir` starting with `prefix`.
fn files_starting(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// xorshift64*, seeded from the clock (the seed is printed so that a failure can be replayed
/// with `FAULTS_SEED`).
struct Rng(u64);

impl Rng {
    fn from_env_or_clock(what: &str) -> Rng {
        let seed = std::env::var("FAULTS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("{what}: FAULTS_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Runs `get` for `input` without the harness's waiter (so that the child can be killed by its
/// `Child` handle, which never signals a reused pid).
fn spawn_get(env: &Env, input: &str) -> Child {
    let mut child = env
        .command(&["get"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the helper");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    child
}

// ---------------------------------------------------------------------------------------------
// (a) SIGKILL during cache writes
// ---------------------------------------------------------------------------------------------

/// 200 `get`s for 200 registries, 12 at a time, each SIGKILLed after a random delay (0–50 ms, or
/// up to 6x a measured cold `get` + 100 ms for half of them, since 12 at once on a small machine
/// are slower: kills land before, during and after the cache write), while a watcher reads `cache.json` every millisecond. The file must always be
/// absent or Go-readable, a following `get` must work, and at most one `.config.json.tmp*` per
/// killed process may remain.
#[test]
fn sigkill_during_cache_writes_leaves_a_readable_cache() {
    let server = require_server!();
    let _storm = storm_lock();
    let env = Env::with_server(&server);
    let cache = env.cache_file();

    // Calibrate: one cold get's duration.
    let first = env.run(&["get"], host(&account(999)).as_bytes());
    assert_eq!(
        first.stdout_str(),
        answer(&host(&account(999)), &account(999)),
        "{first}"
    );
    let cold_ms = first.elapsed.as_millis().max(20) as u64;

    const PROCESSES: u64 = 200;
    const PARALLEL: u64 = 12;
    let mut rng = Rng::from_env_or_clock("sigkill_during_cache_writes");
    let seeds: Vec<u64> = (0..PARALLEL).map(|_| rng.next() | 1).collect();

    let stop = std::sync::atomic::AtomicBool::new(false);
    let (mut reads, mut bad) = (0u64, Vec::new());
    let (mut finished, mut killed) = (Vec::new(), 0u64);
    std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut reads = 0u64;
            let mut bad = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Err(e) = go_readable_cache(&cache) {
                    bad.push(e);
                }
                reads += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            (reads, bad)
        });
        let workers: Vec<_> = seeds
            .iter()
            .enumerate()
            .map(|(w, &seed)| {
                let env = &env;
                s.spawn(move || {
                    let mut rng = Rng(seed);
                    let (mut finished, mut killed) = (Vec::new(), 0u64);
                    for i in (w as u64..PROCESSES).step_by(PARALLEL as usize) {
                        let acct = account(i);
                        let max_ms = if i % 2 == 0 { 50 } else { cold_ms * 6 + 100 };
                        let delay = Duration::from_micros(rng.below(max_ms * 1000));
                        let mut child = spawn_get(env, &host(&acct));
                        std::thread::sleep(delay);
                        // SIGKILL through the Child handle: never a reused pid, and a no-op
                        // when the process has already exited.
                        child.kill().expect("SIGKILL the helper");
                        let out = child.wait_with_output().expect("wait");
                        if out.status.code().is_none() {
                            killed += 1;
                            continue;
                        }
                        // A run that finished on its own answered correctly.
                        assert_eq!(
                            String::from_utf8_lossy(&out.stdout),
                            answer(&host(&acct), &acct)
                        );
                        assert!(out.stderr.is_empty());
                        finished.push(acct);
                    }
                    (finished, killed)
                })
            })
            .collect();
        for w in workers {
            let (f, k) = w.join().expect("worker");
            finished.extend(f);
            killed += k;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (reads, bad) = watcher.join().expect("watcher");
    });
    assert!(
        bad.is_empty(),
        "cache.json was unreadable {} times: {:?}",
        bad.len(),
        &bad[..bad.len().min(3)]
    );

    let keys = go_readable_cache(&cache).unwrap().unwrap_or_default();
    let tmp = files_starting(&env.cache_dir(), ".config.json.tmp");
    eprintln!(
        "sigkill: {PROCESSES} gets (cold get {cold_ms} ms), {killed} killed, {} finished; \
         {reads} watcher reads all Go-readable; {} entries survive; {} .config.json.tmp* left: {tmp:?}",
        finished.len(),
        keys.len(),
        tmp.len()
    );
    // No lost update: every run that finished on its own left its entry.
    for acct in &finished {
        assert!(
            keys.contains(&key_for(acct)),
            "entry of finished {acct} lost"
        );
    }
    // A killed process leaves at most its own temp file (nothing cleans them up yet).
    assert!(
        tmp.len() as u64 <= killed,
        "{} temp files for {killed} kills",
        tmp.len()
    );

    // The cache still works: a hit for a surviving entry, a fetch for a new registry, and the
    // new entry is added to whatever survived.
    server.reset();
    let out = env.run(&["get"], host(&account(999)).as_bytes());
    assert_eq!(
        out.stdout_str(),
        answer(&host(&account(999)), &account(999)),
        "{out}"
    );
    let out = env.run(&["get"], host(&account(5000)).as_bytes());
    assert_eq!(
        out.stdout_str(),
        answer(&host(&account(5000)), &account(5000)),
        "{out}"
    );
    let after = go_readable_cache(&cache).unwrap().unwrap();
    assert!(after.contains(&key_for(&account(5000))));
    assert!(
        keys.iter().all(|k| after.contains(k)),
        "entries lost after the storm"
    );
    assert_eq!(
        server.calls(),
        (1, 0),
        "account 999 was served from the cache"
    );
}

// ---------------------------------------------------------------------------------------------
// (b) full disk, no inodes, read-only cache directory
// ---------------------------------------------------------------------------------------------

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A mount made by a test; lazily unmounted on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount(args: &[&str], target: &Path) -> Result<Mount, String> {
    if !is_root() {
        return Err("not root".into());
    }
    let out = Command::new("mount")
        .args(args)
        .arg(target)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if out.status.success() {
        Ok(Mount(target.to_path_buf()))
    } else {
        Err(format!(
            "mount {} {}: {}",
            args.join(" "),
            target.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn skip_loudly(test: &str, reason: &str) {
    eprintln!("SKIPPED: {test}: {reason}");
}

/// Fills the filesystem holding `dir` (ENOSPC), returning how many bytes fit.
fn fill(dir: &Path) -> u64 {
    let mut f = std::fs::File::create(dir.join("filler")).expect("create filler");
    let chunk = vec![0x5au8; 4096];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    let _ = f.sync_all();
    // small files too, until even an empty file cannot be created or grow
    for i in 0.. {
        match std::fs::write(dir.join(format!("f{i}")), b"x") {
            Ok(()) if i < 10_000 => {}
            _ => break,
        }
    }
    written
}

#[test]
fn full_disk_still_answers_and_keeps_the_old_cache() {
    let server = require_server!();
    let env = Env::with_server(&server).with("AWS_ECR_LOG_LEVEL", "debug");
    let dir = env.cache_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let _mnt = match mount(&["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"], &dir) {
        Ok(m) => m,
        Err(e) => return skip_loudly("full_disk_still_answers_and_keeps_the_old_cache", &e),
    };
    // A good cache first, then no space at all.
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
    let before = std::fs::read(env.cache_file()).unwrap();
    let bytes = fill(&dir);
    eprintln!("full disk: tmpfs 64k filled with {bytes} bytes");

    server.reset();
    // a hit still answers (no write needed)
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
    // a miss fetches and answers; the write fails quietly
    let other = host(&account(1));
    let out = env.run(&["get"], other.as_bytes());
    assert_eq!(out.stdout_str(), answer(&other, &account(1)), "{out}");
    assert!(out.stderr.is_empty(), "{out}");
    assert_eq!(server.calls(), (1, 0));
    // the old cache is intact and no temp file is left behind
    assert_eq!(std::fs::read(env.cache_file()).unwrap(), before);
    assert!(files_starting(&dir, ".config.json.tmp").is_empty());
    // and a second miss fetches again (nothing was cached), still answering
    let out = env.run(&["get"], other.as_bytes());
    assert_eq!(out.stdout_str(), answer(&other, &account(1)), "{out}");
    assert_eq!(server.calls(), (2, 0));
}

#[test]
fn no_inodes_left_still_answers() {
    let server = require_server!();
    let env = Env::with_server(&server);
    let dir = env.cache_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let _mnt = match mount(
        &[
            "-t",
            "tmpfs",
            "-o",
            "size=1m,nr_inodes=8,mode=0700",
            "tmpfs",
        ],
        &dir,
    ) {
        Ok(m) => m,
        Err(e) => return skip_loudly("no_inodes_left_still_answers", &e),
    };
    fill(&dir);
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
    assert!(out.stderr.is_empty(), "{out}");
    assert!(!env.cache_file().exists());
}

#[test]
fn read_only_cache_dir_still_answers() {
    let server = require_server!();
    let env = Env::with_server(&server);
    let dir = env.cache_dir();
    // a fresh entry for HOST, written normally
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
    let before = std::fs::read(env.cache_file()).unwrap();
    let locks_before = files_starting(&dir, ".lock-");
    let _bind = match mount(&["--bind", dir.to_str().unwrap()], &dir) {
        Ok(m) => m,
        Err(e) => return skip_loudly("read_only_cache_dir_still_answers", &e),
    };
    if let Err(e) = mount(&["-o", "remount,bind,ro"], &dir).map(std::mem::forget) {
        return skip_loudly("read_only_cache_dir_still_answers", &e);
    }
    // (the ro remount is undone by the lazy umount of the bind mount)
    assert!(
        std::fs::write(dir.join("probe"), b"x").is_err(),
        "mount is not read-only"
    );

    server.reset();
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "hit: {out}");
    let other = host(&account(2));
    let out = env.run(&["get"], other.as_bytes());
    assert_eq!(out.stdout_str(), answer(&other, &account(2)), "miss: {out}");
    assert!(out.stderr.is_empty(), "{out}");
    assert_eq!(server.calls(), (1, 0));
    assert_eq!(std::fs::read(env.cache_file()).unwrap(), before);
    assert_eq!(files_starting(&dir, ".lock-"), locks_before);

    // a cache directory that cannot be created below the read-only one
    let env2 = Env::with_server(&server).with("AWS_ECR_CACHE_DIR", dir.join("sub/ecr"));
    let out = env2.run(&["get"], other.as_bytes());
    assert_eq!(out.stdout_str(), answer(&other, &account(2)), "{out}");
}

// ---------------------------------------------------------------------------------------------
// (c) locks held by dead and live processes
// ---------------------------------------------------------------------------------------------

/// `flock --no-fork <path> sleep 600`: one process that holds an exclusive flock on `path` until
/// killed. Killed (SIGKILL) on drop.
struct Holder(Child);

impl Holder {
    fn start(path: &Path) -> Holder {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let child = Command::new("flock")
            .arg("--no-fork")
            .arg(path)
            .args(["sleep", "600"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run flock (util-linux)");
        let holder = Holder(child);
        let t = Instant::now();
        while !Holder::is_locked(path) {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "flock never took {}",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        holder
    }

    fn is_locked(path: &Path) -> bool {
        Command::new("flock")
            .args(["--nonblock", "--conflict-exit-code", "99"])
            .arg(path)
            .arg("true")
            .status()
            .is_ok_and(|s| s.code() == Some(99))
    }

    fn kill(mut self) {
        self.0.kill().expect("SIGKILL the lock holder");
        let _ = self.0.wait();
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have_flock() -> bool {
    Command::new("flock")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn lock_of_a_killed_process_is_no_obstacle() {
    let server = require_server!();
    if !have_flock() {
        return skip_loudly(
            "lock_of_a_killed_process_is_no_obstacle",
            "no flock command",
        );
    }
    let env = Env::with_server(&server).with("AWS_ECR_TIMEOUT", "10");
    let lock = env.cache_dir().join(format!(".lock-us-east-1-{ACCOUNT}"));
    let holder = Holder::start(&lock);
    holder.kill();
    assert!(lock.exists(), "the lock file stays behind");
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
    assert!(
        out.elapsed < Duration::from_secs(5),
        "slow after a dead holder: {out}"
    );
    eprintln!(
        "fetch lock of a SIGKILLed holder: answered after {:?}",
        out.elapsed
    );
    assert_eq!(server.calls(), (1, 0));

    // the same for the cache-write lock
    let env = Env::with_server(&server).with("AWS_ECR_TIMEOUT", "10");
    Holder::start(&env.cache_dir().join(".lock-cache")).kill();
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
    assert!(out.elapsed < Duration::from_secs(5), "{out}");
    assert!(
        go_readable_cache(&env.cache_file()).unwrap().is_some(),
        "cache written"
    );
}

#[test]
fn fetch_lock_held_by_a_live_process_is_bounded_by_the_timeout() {
    let server = require_server!();
    if !have_flock() {
        return skip_loudly(
            "fetch_lock_held_by_a_live_process_is_bounded_by_the_timeout",
            "no flock command",
        );
    }
    let timeout = Duration::from_secs(2);
    let slack = Duration::from_millis(1500);
    let env = Env::with_server(&server).with("AWS_ECR_TIMEOUT", "2");
    let _holder = Holder::start(&env.cache_dir().join(format!(".lock-us-east-1-{ACCOUNT}")));

    // no cache entry: waits for the lock until the deadline, then not-found; no API call
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), NOT_FOUND, "{out}");
    assert_eq!(out.code, 1);
    assert!(out.stderr.is_empty(), "{out}");
    assert!(
        out.elapsed >= timeout - Duration::from_millis(200),
        "gave up early: {out}"
    );
    assert!(out.elapsed < timeout + slack, "not bounded: {out}");
    eprintln!(
        "live fetch lock, no entry: not-found after {:?}",
        out.elapsed
    );

    // a stale (D7: requested 7 h ago) but unexpired entry: the fallback answers at the deadline
    std::fs::write(
        env.cache_file(),
        cache_text(&[(ACCOUNT, CACHED_TOKEN, -7 * 3600, 5 * 3600)]),
    )
    .unwrap();
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), cached_answer(HOST), "{out}");
    assert!(out.elapsed < timeout + slack, "{out}");
    eprintln!(
        "live fetch lock, stale entry: fallback after {:?}",
        out.elapsed
    );

    // a fresh entry: a hit takes no lock at all
    std::fs::write(
        env.cache_file(),
        cache_text(&[(ACCOUNT, CACHED_TOKEN, -60, 12 * 3600)]),
    )
    .unwrap();
    // (a hit that waited for the lock would answer at the 2 s deadline)
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), cached_answer(HOST), "{out}");
    assert!(out.elapsed < timeout - Duration::from_millis(300), "{out}");
    assert_eq!(
        server.calls(),
        (0, 0),
        "never called the API while the lock was held"
    );

    // other registries are not blocked by this one's lock: blocked, this get (no entry) would
    // answer not-found at the deadline, so the fresh answer is the proof; no wall-clock bound,
    // since an API call on a loaded CI machine can take longer than a second
    let other = host(&account(3));
    let out = env.run(&["get"], other.as_bytes());
    assert_eq!(out.stdout_str(), answer(&other, &account(3)), "{out}");
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn cache_write_lock_held_by_a_live_process_skips_the_write_in_time() {
    let server = require_server!();
    if !have_flock() {
        return skip_loudly(
            "cache_write_lock_held_by_a_live_process_skips_the_write_in_time",
            "no flock command",
        );
    }
    for (timeout, at_least, at_most) in [
        // the write waits its own 2 s, then answers without caching
        (
            "5",
            Duration::from_millis(1900),
            Duration::from_millis(6000),
        ),
        // ... but never past the total bound
        ("1", Duration::ZERO, Duration::from_millis(2500)),
    ] {
        let env = Env::with_server(&server).with("AWS_ECR_TIMEOUT", timeout);
        let _holder = Holder::start(&env.cache_dir().join(".lock-cache"));
        let out = env.run(&["get"], HOST.as_bytes());
        eprintln!(
            "live .lock-cache, AWS_ECR_TIMEOUT={timeout}: {} after {:?}",
            out.code, out.elapsed
        );
        assert!(
            out.elapsed >= at_least && out.elapsed < at_most,
            "timeout {timeout}: {out}"
        );
        assert!(out.stderr.is_empty(), "{out}");
        if timeout == "5" {
            assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
            assert!(!env.cache_file().exists(), "written without the lock");
        } else {
            // the fetch itself may or may not fit in 1 s on a loaded machine
            assert!(
                out.stdout_str() == answer(HOST, ACCOUNT) || out.stdout_str() == NOT_FOUND,
                "{out}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (d) symlinks planted where the helper reads and writes
// ---------------------------------------------------------------------------------------------

struct Victim {
    path: PathBuf,
    content: Vec<u8>,
    mode: u32,
    mtime: SystemTime,
}

impl Victim {
    /// A file outside the cache directory that must never change.
    fn new(env: &Env, name: &str) -> Victim {
        use std::os::unix::fs::PermissionsExt;
        let path = env.dir().join(name);
        let content = format!("precious {name}\n").into_bytes();
        std::fs::write(&path, &content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        Victim {
            mode: meta.permissions().mode(),
            mtime: meta.modified().unwrap(),
            path,
            content,
        }
    }

    fn assert_untouched(&self, what: &str) {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(&self.path).unwrap();
        assert_eq!(
            std::fs::read(&self.path).unwrap(),
            self.content,
            "{what}: victim content changed"
        );
        assert_eq!(
            meta.permissions().mode(),
            self.mode,
            "{what}: victim mode changed"
        );
        assert_eq!(
            meta.modified().unwrap(),
            self.mtime,
            "{what}: victim modified"
        );
    }
}

fn symlink(target: &Path, link: &Path) {
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

fn is_symlink(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

#[test]
fn symlinked_cache_file_is_replaced_not_followed() {
    let server = require_server!();
    // cache.json -> victim: read through (it is not a cache), then replaced by rename
    let env = Env::with_server(&server);
    let victim = Victim::new(&env, "victim-cache");
    symlink(&victim.path, &env.cache_file());
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
    victim.assert_untouched("cache.json symlink");
    assert!(
        !is_symlink(&env.cache_file()),
        "cache.json should now be a regular file"
    );
    assert!(go_readable_cache(&env.cache_file()).unwrap().is_some());

    // a dangling cache.json symlink: its target is never created
    let env = Env::with_server(&server);
    let target = env.dir().join("created-through-cache-link");
    symlink(&target, &env.cache_file());
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
    assert!(
        !target.exists(),
        "wrote through a dangling cache.json symlink"
    );

    // cache.json hard-linked to the victim: rename swaps the name, the victim's inode is intact
    let env = Env::with_server(&server);
    let victim = Victim::new(&env, "victim-hardlink");
    std::fs::create_dir_all(env.cache_dir()).unwrap();
    std::fs::hard_link(&victim.path, env.cache_file()).unwrap();
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
    victim.assert_untouched("cache.json hard link");
}

#[test]
fn symlinked_lock_files_are_never_followed() {
    let server = require_server!();
    let env = Env::with_server(&server);
    let victim = Victim::new(&env, "victim-lock");
    let fetch_lock = env.cache_dir().join(format!(".lock-us-east-1-{ACCOUNT}"));
    symlink(&victim.path, &fetch_lock);
    symlink(&victim.path, &env.cache_dir().join(".lock-cache"));
    let dangling = env.dir().join("created-through-lock-link");
    let other_lock = env
        .cache_dir()
        .join(format!(".lock-us-east-1-{}", account(4)));
    symlink(&dangling, &other_lock);

    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
    let other = host(&account(4));
    let out = env.run(&["get"], other.as_bytes());
    assert_eq!(out.stdout_str(), answer(&other, &account(4)), "{out}");
    victim.assert_untouched("lock symlinks");
    assert!(
        !dangling.exists(),
        "created a file through a dangling lock symlink"
    );
    assert!(is_symlink(&fetch_lock) && is_symlink(&other_lock));
    // With .lock-cache unusable nothing is written (never unlocked); the answers still came.
    eprintln!(
        "symlinked .lock-cache: cache.json {}",
        if env.cache_file().exists() {
            "written"
        } else {
            "not written (write lock unusable)"
        }
    );
}

#[test]
fn symlinked_log_files_are_never_followed() {
    let server = require_server!();
    let env = Env::with_server(&server).with("AWS_ECR_LOG_LEVEL", "debug");
    let log_dir = env.cache_dir().join("log");
    let victim = Victim::new(&env, "victim-log");
    symlink(&victim.path, &log_dir.join("ecr-login.log"));
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
    assert!(out.stderr.is_empty(), "{out}");
    victim.assert_untouched("ecr-login.log symlink");

    // a dangling log symlink: never created
    let env = Env::with_server(&server).with("AWS_ECR_LOG_LEVEL", "debug");
    let target = env.dir().join("created-through-log-link");
    symlink(&target, &env.cache_dir().join("log/ecr-login.log"));
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
    assert!(!target.exists(), "log written through a dangling symlink");

    // rotation at 5 MiB onto a planted ecr-login.log.1 symlink: the link is replaced
    let env = Env::with_server(&server).with("AWS_ECR_LOG_LEVEL", "debug");
    let victim = Victim::new(&env, "victim-rotated");
    let log_dir = env.cache_dir().join("log");
    std::fs::create_dir_all(&log_dir).unwrap();
    std::fs::write(log_dir.join("ecr-login.log"), vec![b'.'; 5 << 20]).unwrap();
    symlink(&victim.path, &log_dir.join("ecr-login.log.1"));
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
    victim.assert_untouched("ecr-login.log.1 symlink");
    assert!(
        !is_symlink(&log_dir.join("ecr-login.log.1")),
        "rotation should replace the link"
    );
    let log = std::fs::read_to_string(log_dir.join("ecr-login.log")).unwrap();
    assert!(
        log.len() < 1 << 20 && log.contains("level="),
        "fresh log after rotation"
    );
}

// ---------------------------------------------------------------------------------------------
// (e) load
// ---------------------------------------------------------------------------------------------

/// 200 concurrent `get`s over 20 registries (10 each), three times: cold, all entries stale
/// (D7: requested 7 h ago), and cold again. Each round makes exactly one API call per registry,
/// leaves every entry in the cache and answers every process within the time bound.
#[test]
fn load_200_processes_20_registries_one_call_each() {
    let server = require_server!();
    let _storm = storm_lock();
    // a slow API makes the waiters pile up on the fetch locks
    server.set_mode("ok", None, Some(0.2));
    const BOUND_SECS: u64 = 15;
    let env = Env::with_server(&server).with("AWS_ECR_TIMEOUT", BOUND_SECS.to_string());
    let accounts: Vec<String> = (100..120).map(account).collect();
    for round in ["cold", "stale", "cold again"] {
        match round {
            "stale" => {
                let stale: Vec<(&str, &str, i64, i64)> = accounts
                    .iter()
                    .map(|a| (a.as_str(), CACHED_TOKEN, -7 * 3600, 5 * 3600))
                    .collect();
                std::fs::write(env.cache_file(), cache_text(&stale)).unwrap();
            }
            _ => {
                let _ = std::fs::remove_file(env.cache_file());
            }
        }
        server.reset();
        let t = Instant::now();
        let running: Vec<_> = (0..200)
            .map(|i| {
                let acct = &accounts[i % accounts.len()];
                (acct, env.spawn(&["get"], host(acct).as_bytes()))
            })
            .collect();
        let mut slowest = Duration::ZERO;
        for (acct, r) in running {
            let out = r.wait();
            assert_eq!(
                out.stdout_str(),
                answer(&host(acct), acct),
                "{round}: {out}"
            );
            assert!(out.stderr.is_empty(), "{round}: {out}");
            slowest = slowest.max(out.elapsed);
        }
        let wall = t.elapsed();
        assert!(
            slowest < Duration::from_secs(BOUND_SECS),
            "{round}: slowest {slowest:?}"
        );
        let mut ids: Vec<String> = server
            .requests()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["registryIds"][0].as_str().unwrap_or("?").to_owned())
            .collect();
        ids.sort();
        let mut want = accounts.clone();
        want.sort();
        assert_eq!(ids, want, "{round}: one API call per registry");
        let keys = go_readable_cache(&env.cache_file()).unwrap().unwrap();
        for a in &accounts {
            assert!(keys.contains(&key_for(a)), "{round}: entry for {a} missing");
        }
        eprintln!(
            "load {round}: 200 processes, 20 registries, {} API calls, slowest {slowest:?}, wall {wall:?}",
            ids.len()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// an API answer the cache format cannot hold
// ---------------------------------------------------------------------------------------------

/// An `expiresAt` past year 9999 (a broken endpoint or proxy; ECR itself sends now + 12 h) must
/// not make `cache.json` unreadable: Go's `time.Time` cannot write or read a 5-digit year, and
/// an unreadable file loses every other entry at the next write. (Found by the cache round-trip
/// property; fixed by clamping in `GoTime::to_rfc3339`.)
#[test]
fn api_expiry_past_year_9999_keeps_the_cache_readable() {
    let server = require_server!(common::ServerOpts {
        ttl: Some(400_000_000_000.0),
        ..Default::default()
    });
    let env = Env::with_server(&server);
    std::fs::create_dir_all(env.cache_dir()).unwrap();
    std::fs::write(
        env.cache_file(),
        cache_text(&[(&account(7), CACHED_TOKEN, -60, 12 * 3600)]),
    )
    .unwrap();
    let out = env.run(&["get"], HOST.as_bytes());
    assert_eq!(out.stdout_str(), answer(HOST, ACCOUNT), "{out}");
    let keys = go_readable_cache(&env.cache_file())
        .unwrap_or_else(|e| panic!("cache.json is no longer Go-readable: {e}"))
        .unwrap();
    assert!(
        keys.contains(&key_for(&account(7))),
        "the other entry was lost"
    );
    assert!(keys.contains(&key_for(ACCOUNT)));
}
