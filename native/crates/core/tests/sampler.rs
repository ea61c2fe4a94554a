//! Live sampling against real Python processes (test/python/targets). Needs ptrace rights over our own children,
//! which every user has; the unprivileged test additionally needs root (to drop to `nobody`) and skips otherwise.
//! Run: cargo test -p emberscope-core --features sampler --test sampler

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{RwLock, RwLockReadGuard};
use std::time::Duration;

use emberscope_core::model::Profile;
use emberscope_core::sampler::{discover, recording, SamplerError, Session, SessionOptions, Target};

fn targets_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../test/python/targets").canonicalize().unwrap()
}

/// The real interpreter, not a pyenv shim (a shim is a shell script for its first milliseconds).
fn python() -> String {
    if let Ok(p) = std::env::var("EMBERSCOPE_PYTHON") {
        return p;
    }
    let out = Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A test that cannot run here says why. cargo's harness has no runtime skip, so the test returns (and cargo counts
/// it passed); the reason goes to stderr and to the file EMBERSCOPE_SKIP_LOG names, from which test/run-all.sh moves
/// it to the skipped count and lists it.
fn skip(test: &str, why: &str) {
    eprintln!("skipped: {test}: {why}");
    if let Ok(path) = std::env::var("EMBERSCOPE_SKIP_LOG") {
        use std::io::Write;
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(&path).expect("EMBERSCOPE_SKIP_LOG");
        writeln!(log, "{test}: {why}").expect("EMBERSCOPE_SKIP_LOG");
    }
}

/// The machine has 2 cores and most targets spin: the rate test takes this for writing so it runs alone, every
/// other test holds it for reading while its targets run.
static MACHINE: RwLock<()> = RwLock::new(());

fn share_machine() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(|e| e.into_inner())
}

/// A target process in its own process group; dropping the guard kills the whole group (children included).
struct Guard {
    child: Child,
    _machine: Option<RwLockReadGuard<'static, ()>>,
    /// Lines the target printed before "ready" (e.g. "child 123").
    lines: Vec<String>,
}

impl Guard {
    fn pid(&self) -> i64 {
        self.child.id() as i64
    }
    fn child_pid(&self) -> i64 {
        self.lines.iter().find_map(|l| l.strip_prefix("child ")?.parse().ok()).expect("target printed no child pid")
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

fn spawn_guarded(mut cmd: Command, machine: Option<RwLockReadGuard<'static, ()>>) -> Guard {
    cmd.stdout(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().expect("spawn target");
    let stdout = child.stdout.take().unwrap();
    let mut guard = Guard { child, _machine: machine, lines: Vec::new() };
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.starts_with("ready") {
            return guard;
        }
        guard.lines.push(line);
    }
    panic!("target exited before printing ready: {:?}", guard.lines);
}

fn spawn_target(script: &str, args: &[&str]) -> Guard {
    let machine = share_machine();
    let mut cmd = Command::new(python());
    cmd.arg(targets_dir().join(script)).args(args);
    spawn_guarded(cmd, Some(machine))
}

fn attach_opts(pid: i64) -> SessionOptions {
    let mut o = SessionOptions::new(Target::Pid(pid));
    o.rate_hz = 200;
    o
}

fn run_for(opts: SessionOptions, how_long: Duration) -> Profile {
    let session = Session::start(opts).expect("start session");
    std::thread::sleep(how_long);
    session.finish().expect("finish")
}

/// Self sample counts by function name, all threads.
fn count_self(p: &Profile) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for t in &p.threads {
        for &s in &t.samples.stack {
            if s >= 0 {
                let leaf = p.stacks.frame[s as usize];
                *m.entry(p.frame_name(leaf).to_owned()).or_default() += 1;
            }
        }
    }
    m
}

/// Functions on any sampled stack of a thread.
fn functions_of(p: &Profile, thread: usize) -> HashSet<String> {
    let mut out = HashSet::new();
    for &s in &p.threads[thread].samples.stack {
        for f in p.stack_frames(s) {
            out.insert(p.frame_name(f).to_owned());
        }
    }
    out
}

fn top_self(p: &Profile) -> String {
    count_self(p).into_iter().max_by_key(|(_, n)| *n).map(|(name, _)| name).unwrap_or_default()
}

fn meta<'a>(p: &'a Profile, key: &str) -> &'a str {
    p.meta.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str())
}

#[test]
fn finds_hot_loop_as_top_self_function() {
    let target = spawn_target("cpu_hot.py", &["30"]);
    let p = run_for(attach_opts(target.pid()), Duration::from_millis(1500));
    assert_eq!(p.format, "emberscope-live");
    assert_eq!(top_self(&p), "hot_loop", "self counts: {:?}", count_self(&p));
    let samples: usize = p.threads.iter().map(|t| t.samples.len()).sum();
    assert!(samples > 50, "only {samples} samples in 1.5 s at 200 Hz");
    assert_eq!(meta(&p, "end_reason"), "stopped");
    // Our own child is read without ptrace stops (a blocking read could hang on our process's own waitpid).
    assert!(meta(&p, "blocking").starts_with("false (the target is our own child"), "{:?}", p.meta);
    assert!(meta(&p, "python_version").starts_with("3."), "{:?}", p.meta);
    // Times are ns since the session start and never go backwards.
    let t = &p.threads[0].samples.time;
    assert!(t.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn keeps_threads_apart_with_their_own_hot_functions() {
    let target = spawn_target("threads_hot.py", &["30"]);
    let p = run_for(attach_opts(target.pid()), Duration::from_millis(2000));
    for hot in ["hot_alpha", "hot_beta", "hot_gamma"] {
        let owners: Vec<&str> = (0..p.threads.len())
            .filter(|&i| functions_of(&p, i).contains(hot))
            .map(|i| p.threads[i].name.as_str())
            .collect();
        assert_eq!(owners.len(), 1, "{hot} should be on exactly one thread, found on {owners:?}");
        assert_eq!(owners[0], format!("worker-{hot}"), "thread names come from threading");
    }
    let tids: HashSet<i64> = p.threads.iter().map(|t| t.tid).collect();
    assert_eq!(tids.len(), p.threads.len(), "one Thread per (pid, tid)");
}

#[test]
fn records_a_command_to_the_end_with_its_exit_code_and_a_recording_file() {
    let _machine = share_machine();
    let dir = tempdir("record");
    let rec = dir.join("session.jsonl");
    let script = targets_dir().join("exit_after.py");
    let mut opts = SessionOptions::new(Target::Command {
        argv: vec![python(), script.display().to_string(), "1.5".into(), "7".into()],
        cwd: Some(targets_dir()),
        output: Some(dir.join("output.log")),
        error_output: Some(dir.join("errors.log")),
    });
    opts.rate_hz = 200;
    opts.recording_path = Some(rec.clone());
    let mut session = Session::start(opts).expect("record");
    let batches = session.take_batches().unwrap();
    let reason = session.wait_ended(Duration::from_secs(20)).expect("session should end when the command exits");
    assert_eq!(reason, "process exited (code 7)");
    let p = session.finish().unwrap();
    assert_eq!(meta(&p, "end_reason"), "process exited (code 7)");
    assert_eq!(meta(&p, "mode"), "record");
    // Recorded programs run under the launcher shell, so blocking (ptrace-stopped) reads are safe and used.
    assert_eq!(meta(&p, "blocking"), "true");
    assert_eq!(top_self(&p), "work_until_exit");
    assert!(std::fs::read_to_string(dir.join("output.log")).unwrap().starts_with("ready"));
    // stderr went to its own file, so a UI can tint it.
    assert_eq!(std::fs::read_to_string(dir.join("errors.log")).unwrap(), "exiting with 7\n");

    // The batches on the channel rebuild exactly the profile finish() returned...
    let mut from_batches = emberscope_core::sampler::create_live_profile("");
    let mut last = None;
    for b in batches {
        emberscope_core::sampler::apply_batch(&mut from_batches, &b).unwrap();
        last = Some(b);
    }
    assert_eq!(last.unwrap().ended.as_deref(), Some("process exited (code 7)"));
    assert!(from_batches.threads == p.threads, "batch samples differ from finish()");
    assert!(from_batches.stacks == p.stacks && from_batches.strings == p.strings, "batch tables differ");
    // ...and so does the recording file.
    let loaded = recording::load(&rec).unwrap();
    assert!(loaded == p, "recording differs: meta {:?} vs {:?}, start {} vs {}", loaded.meta, p.meta, loaded.start_ns, p.start_ns);
}

#[test]
fn samples_subprocess_and_multiprocessing_children_under_their_own_pids() {
    for (script, child_hot) in [("spawn_subprocess.py", "hot_loop"), ("spawn_multiprocessing.py", "mp_child_hot")] {
        let target = spawn_target(script, &["30"]);
        let mut opts = attach_opts(target.pid());
        opts.subprocesses = true;
        let p = run_for(opts, Duration::from_millis(2500));
        let child = target.child_pid();
        let child_threads: Vec<usize> = (0..p.threads.len()).filter(|&i| p.threads[i].pid == child).collect();
        assert!(!child_threads.is_empty(), "{script}: no thread of child {child} in {:?}", pids_of(&p));
        assert!(
            child_threads.iter().any(|&i| functions_of(&p, i).contains(child_hot)),
            "{script}: child {child} never seen in {child_hot}"
        );
    }
}

fn pids_of(p: &Profile) -> Vec<(i64, i64, String)> {
    p.threads.iter().map(|t| (t.pid, t.tid, t.name.clone())).collect()
}

#[test]
fn without_subprocesses_only_the_target_pid_is_sampled() {
    let target = spawn_target("spawn_subprocess.py", &["30"]);
    let mut opts = attach_opts(target.pid());
    opts.include_idle = true; // the parent only waits; idle samples make it visible at all
    let p = run_for(opts, Duration::from_millis(800));
    assert!(p.threads.iter().all(|t| t.pid == target.pid()), "{:?}", pids_of(&p));
}

#[test]
fn ends_cleanly_and_keeps_samples_when_the_target_is_killed() {
    let target = spawn_target("cpu_hot.py", &["30"]);
    let session = Session::start(attach_opts(target.pid())).unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let before = session.stats().samples;
    unsafe { libc::kill(target.pid() as i32, libc::SIGKILL) };
    let reason = session.wait_ended(Duration::from_secs(10)).expect("session should end after the kill");
    // The guard (this process) is the parent and has not reaped it yet: the sampler reads the signal from the
    // zombie's /proc/PID/stat, as it would for a foreign process.
    assert_eq!(reason, "process exited (signal 9)");
    let p = session.finish().unwrap();
    let kept: usize = p.threads.iter().map(|t| t.samples.len()).sum();
    assert!(before > 0 && kept as u64 >= before, "kept {kept} of {before}");
    assert_eq!(top_self(&p), "hot_loop");
}

#[test]
fn idle_threads_are_recorded_only_with_include_idle() {
    let target = spawn_target("idle_sleep.py", &["30"]);
    let without = run_for(attach_opts(target.pid()), Duration::from_millis(700));
    let mut opts = attach_opts(target.pid());
    opts.include_idle = true;
    let with = run_for(opts, Duration::from_millis(700));
    let n = |p: &Profile| p.threads.iter().map(|t| t.samples.len()).sum::<usize>();
    assert!(n(&without) < 10, "an idle target gave {} samples without include_idle", n(&without));
    assert!(n(&with) > 50, "include_idle gave only {} samples", n(&with));
    assert!(functions_of(&with, 0).contains("idle_wait"));
}

#[test]
fn refuses_a_process_that_is_not_python() {
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let err = Session::start(attach_opts(sleeper.id() as i64)).err().expect("sleep is not Python");
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert!(matches!(err, SamplerError::NotPython { .. }), "{err}");
    assert!(err.to_string().contains("not a Python process"), "{err}");
}

#[test]
fn refuses_a_pid_that_does_not_exist() {
    // Pids above pid_max are never handed out.
    let pid_max: i64 = std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap().trim().parse().unwrap();
    let err = Session::start(attach_opts(pid_max + 1)).err().expect("no such pid");
    assert!(matches!(err, SamplerError::NoSuchProcess(_)), "{err}");
}

#[test]
fn refuses_a_command_that_is_not_python() {
    let opts = SessionOptions::new(Target::Command { argv: vec!["true".into()], cwd: None, output: None, error_output: None });
    let err = Session::start(opts).err().expect("`true` is not Python");
    assert!(matches!(err, SamplerError::ExitedBeforeAttach { .. }), "{err}");
}

#[test]
fn rejects_bad_rates_before_touching_the_process() {
    let mut opts = attach_opts(1);
    opts.rate_hz = 5000;
    let err = Session::start(opts).err().unwrap();
    assert!(matches!(err, SamplerError::InvalidOption(_)), "{err}");
}

#[test]
fn explains_permission_denied_to_an_unprivileged_user() {
    if unsafe { libc::geteuid() } != 0 || Command::new("setpriv").arg("--version").output().is_err() {
        return skip("explains_permission_denied_to_an_unprivileged_user", "needs root and setpriv to drop to nobody");
    }
    let target = spawn_target("cpu_hot.py", &["30"]);
    // The probe is this very test binary, re-run as nobody on its ignored `attach_probe_as_child` entry (an
    // example binary would not be built by `cargo test --test sampler`). examples/attach_probe.rs is the same probe
    // for manual use.
    let out = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "attach_probe_as_child", "--nocapture", "--test-threads=1"])
        .env("EMBERSCOPE_PROBE_PID", target.pid().to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("permission denied attaching"), "{text}");
    for hint in ["CAP_SYS_PTRACE", "root", "programs Emberscope starts itself"] {
        assert!(text.contains(hint), "message lacks {hint:?}: {text}");
    }
    // And discovery, run as nobody, lists the target as not attachable.
    assert!(text.contains(&format!("listed {} can_attach=false", target.pid())), "{text}");
}

/// Not a test on its own: `explains_permission_denied_to_an_unprivileged_user` runs it as `nobody`.
#[test]
#[ignore = "helper process for explains_permission_denied_to_an_unprivileged_user"]
fn attach_probe_as_child() {
    let pid: i64 = std::env::var("EMBERSCOPE_PROBE_PID").expect("EMBERSCOPE_PROBE_PID").parse().unwrap();
    for p in discover().iter().filter(|p| p.pid == pid) {
        println!("listed {} can_attach={} reason={}", p.pid, p.can_attach, p.reason);
    }
    match Session::start(attach_opts(pid)) {
        Ok(_) => println!("attached to {pid} (unexpected)"),
        Err(e) => println!("error: {e}"),
    }
}

#[test]
fn discovery_lists_our_python_target() {
    let target = spawn_target("cpu_hot.py", &["30"]);
    let found = discover();
    let me = found.iter().find(|p| p.pid == target.pid()).expect("target in discover()");
    assert!(me.command_line.contains("cpu_hot.py"));
    assert!(me.can_attach, "{}", me.reason);
    assert!(me.python_version.starts_with("3."), "{}", me.python_version);
    assert!(!me.free_threaded);
    assert!(!me.user.is_empty() && !me.user.starts_with("uid "), "user name not resolved: {}", me.user);
}

#[test]
fn pause_stops_sampling_and_resume_continues() {
    let target = spawn_target("cpu_hot.py", &["30"]);
    let session = Session::start(attach_opts(target.pid())).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    session.pause();
    // Let the pause take (a sample in flight may still land): the count holds still for 200 ms, within 5 s. A pause
    // that does not stop sampling never gets there at 100 Hz and fails below.
    let mut paused_at = session.stats().samples;
    let settle_until = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let now = session.stats().samples;
        if now == paused_at || std::time::Instant::now() > settle_until {
            break;
        }
        paused_at = now;
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(session.stats().samples, paused_at, "samples grew while paused");
    session.resume();
    std::thread::sleep(Duration::from_millis(500));
    assert!(session.stats().samples > paused_at);
    drop(session.finish().unwrap());
}

#[test]
fn achieves_most_of_the_requested_rate() {
    let _alone = MACHINE.write().unwrap_or_else(|e| e.into_inner());
    let mut cmd = Command::new(python());
    cmd.arg(targets_dir().join("cpu_hot.py")).arg("30");
    let target = spawn_guarded(cmd, None);
    let mut opts = attach_opts(target.pid());
    opts.rate_hz = 100;
    opts.duration = Some(Duration::from_secs(2));
    let session = Session::start(opts).unwrap();
    let reason = session.wait_ended(Duration::from_secs(10)).unwrap();
    assert!(reason.starts_with("duration limit reached"), "{reason}");
    let stats = session.stats();
    let p = session.finish().unwrap();
    // Loose on purpose (a loaded CI box); the bench measures precisely.
    assert!(stats.taken >= 180, "took {} samples in 2 s at 100 Hz ({:?})", stats.taken, stats);
    assert!(stats.achieved_hz >= 90.0, "{stats:?}");
    assert_eq!(meta(&p, "samples_taken"), stats.taken.to_string());
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("emberscope-sampler-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Data, not text: how a recorded program ended travels as numbers (`Session::exit`, `Batch::exit`), and
/// `snapshot()` hands out the profile so far while sampling goes on, growing between two calls.
#[test]
fn reports_exit_as_numbers_and_snapshots_a_running_session() {
    let _machine = share_machine();
    let script = targets_dir().join("exit_after.py");
    let mut opts = SessionOptions::new(Target::Command {
        argv: vec![python(), script.display().to_string(), "1.5".into(), "7".into()],
        cwd: Some(targets_dir()),
        output: Some(tempdir("exit-fields").join("output.log")),
        error_output: None,
    });
    opts.rate_hz = 200;
    let mut session = Session::start(opts).expect("record");
    let batches = session.take_batches().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let first = session.snapshot();
    std::thread::sleep(Duration::from_millis(400));
    let second = session.snapshot();
    let rows = |p: &Profile| p.threads.iter().map(|t| t.samples.len()).sum::<usize>();
    assert!(rows(&first) > 0 && rows(&second) > rows(&first), "snapshots {} then {}", rows(&first), rows(&second));
    assert!(first.meta.iter().all(|(k, _)| k != "end_reason"), "a running session has no end reason yet");
    assert_eq!(meta(&second, "mode"), "record");
    assert_eq!(session.exit(), None, "the program still runs");
    assert_eq!(session.wait_ended(Duration::from_secs(20)).as_deref(), Some("process exited (code 7)"));
    assert_eq!(session.exit(), Some(emberscope_core::sampler::ProcessExit { code: Some(7), signal: None }));
    let last = batches.last().expect("batches");
    assert_eq!(last.exit, Some(emberscope_core::sampler::ProcessExit { code: Some(7), signal: None }));
    let whole = session.finish().unwrap();
    assert!(rows(&whole) >= rows(&second));
}
