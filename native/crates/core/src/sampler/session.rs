//! A sampling session: setup checks on the caller's thread, then one thread that owns the `PythonSpy`s, samples on
//! a jittered schedule and cuts batches. See `worker.rs` for the loop.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use py_spy::config::LockingStrategy;
use py_spy::{Config, PythonSpy};

use super::batch::{create_live_profile, SessionStats};
use super::discover::{check_attach, detect_free_threaded, looks_like_python, PERMISSION_HELP};
use super::procfs::{exists, parse_status_field, read_cmdline, read_exe_and_maps, read_ppid, read_status};
use super::recording::{finalize_profile, Header, RecordingWriter, RECORDING_VERSION};
use super::spawn::{ProcessExit, Spawned};
use super::worker::{run_worker, Worker};
use super::{Batch, SamplerError, SessionOptions, Target};
use crate::model::Profile;

/// State the session thread shares with its owner.
pub(crate) struct Shared {
    pub stop: AtomicBool,
    pub paused: AtomicBool,
    pub stats: Mutex<SessionStats>,
    /// The profile so far: every batch the thread cut, applied. `Session::snapshot` copies it while sampling goes
    /// on; the thread takes it at the end for `finish`.
    pub live: Mutex<Profile>,
    /// Set once, when the thread has ended: the reason.
    pub ended: Mutex<Option<String>>,
    /// Set with `ended` when the sampled program exited: how.
    pub exit: Mutex<Option<ProcessExit>>,
    pub ended_cv: Condvar,
    /// The merged batches the channel had no room for when the session ended; `BatchStream` yields them last.
    pub leftover: Mutex<Option<Batch>>,
}

impl Shared {
    fn new(name: &str) -> Shared {
        Shared {
            stop: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            stats: Mutex::default(),
            live: Mutex::new(create_live_profile(name)),
            ended: Mutex::default(),
            exit: Mutex::default(),
            ended_cv: Condvar::new(),
            leftover: Mutex::default(),
        }
    }
}

/// The batch stream of a session. Yields every batch in order, then (once the session has ended and the channel
/// is drained) whatever the channel had no room for at the end, so a slow consumer loses nothing and the sampler
/// never waits for it.
pub struct BatchStream {
    rx: Receiver<Batch>,
    shared: Arc<Shared>,
}

impl BatchStream {
    /// Waits up to `timeout`. `Err(Timeout)` while the session runs; `Err(Disconnected)` after the last batch.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Batch, RecvTimeoutError> {
        match self.rx.recv_timeout(timeout) {
            Err(RecvTimeoutError::Disconnected) => self.take_leftover().ok_or(RecvTimeoutError::Disconnected),
            other => other,
        }
    }

    /// Never waits; None when nothing is ready now (or ever again).
    pub fn try_recv(&self) -> Option<Batch> {
        match self.rx.try_recv() {
            Ok(b) => Some(b),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => self.take_leftover(),
        }
    }

    fn take_leftover(&self) -> Option<Batch> {
        self.shared.leftover.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Iterator for BatchStream {
    type Item = Batch;
    /// Blocks until the next batch; None after the last one.
    fn next(&mut self) -> Option<Batch> {
        match self.rx.recv() {
            Ok(b) => Some(b),
            Err(_) => self.take_leftover(),
        }
    }
}

pub struct Session {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Profile>>,
    worker_thread: Option<std::thread::Thread>,
    batches: Option<Receiver<Batch>>,
    pid: i64,
    python_version: String,
    command: Vec<String>,
    header: Header,
    recording_path: Option<PathBuf>,
}

impl Session {
    /// Checks everything that can be checked, attaches, and only then starts the sampling thread; every setup
    /// failure is returned from here.
    pub fn start(opts: SessionOptions) -> Result<Session, SamplerError> {
        opts.validate()?;
        let mut config = build_config(&opts);
        let mut blocking_note = None;
        if let Target::Pid(pid) = opts.target {
            if opts.blocking && read_ppid(pid) == Some(std::process::id() as i64) {
                // Blocking reads ptrace-seize the target and waitpid for its stop. If the target is our own child,
                // our process's other waiters (libuv's SIGCHLD handler in Node/Electron) can consume that stop and
                // the read would hang forever. Programs we start ourselves run under a launcher (spawn.rs) instead.
                config.blocking = LockingStrategy::NonBlocking;
                blocking_note = Some("false (the target is our own child process; see session.rs)".to_owned());
            }
        }
        let (child, pid, command) = match &opts.target {
            Target::Pid(pid) => {
                check_target(*pid)?;
                (None, *pid, read_cmdline(*pid))
            }
            Target::Command { argv, cwd, output, error_output } => {
                let child = Spawned::start(argv, cwd.as_ref(), output.as_ref(), error_output.as_ref())?;
                (Some(child), 0, argv.clone())
            }
        };
        let command_line = command.join(" ");
        let (spy, child) = match child {
            None => (attach_spy(pid, &config)?, None),
            Some(child) => attach_spawned(child, &config, &command_line)?,
        };
        let pid = spy.pid as i64;
        let v = &spy.version;
        let python_version = format!("{}.{}.{}{}", v.major, v.minor, v.patch, v.release_flags);

        let start_wall = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let mut header = Header {
            emberscope_recording: RECORDING_VERSION,
            name: format!("{} (pid {pid})", short_command(&command_line)),
            start_unix_ns: start_wall,
            meta: session_meta(&opts, pid, &command_line, &python_version),
        };
        if let Some(note) = blocking_note {
            header.meta.insert("blocking".into(), note);
        }
        let recorder = match &opts.recording_path {
            None => None,
            Some(path) => match RecordingWriter::create(path, &header) {
                Ok(w) => Some(w),
                // Dropping `child` terminates a program we started.
                Err(source) => return Err(SamplerError::Recording { path: path.clone(), source }),
            },
        };

        let (tx, rx) = sync_channel(opts.channel_capacity);
        let shared = Arc::new(Shared::new(&header.name));
        let worker = Worker::new(opts.clone(), spy, config, child, header.clone(), recorder, tx, shared.clone());
        let thread = std::thread::Builder::new()
            .name(format!("emberscope-sampler-{pid}"))
            .spawn(move || run_worker(worker))
            .map_err(|e| SamplerError::Session(format!("could not start the sampling thread: {e}")))?;
        Ok(Session {
            shared,
            worker_thread: Some(thread.thread().clone()),
            thread: Some(thread),
            batches: Some(rx),
            pid,
            python_version,
            command,
            header,
            recording_path: opts.recording_path.clone(),
        })
    }

    /// The batch stream; can be taken once (by whoever forwards batches to the UI).
    pub fn take_batches(&mut self) -> Option<BatchStream> {
        let rx = self.batches.take()?;
        Some(BatchStream { rx, shared: self.shared.clone() })
    }

    pub fn pid(&self) -> i64 {
        self.pid
    }

    pub fn python_version(&self) -> &str {
        &self.python_version
    }

    /// argv of the sampled program: the command started, or the attached process's /proc cmdline.
    pub fn command(&self) -> &[String] {
        &self.command
    }

    pub fn recording_path(&self) -> Option<&PathBuf> {
        self.recording_path.as_ref()
    }

    pub fn pause(&self) {
        self.shared.paused.store(true, Ordering::SeqCst);
    }

    pub fn resume(&self) {
        self.shared.paused.store(false, Ordering::SeqCst);
        self.wake();
    }

    /// Asks the thread to end; returns at once. A spawned command is terminated (SIGTERM, then SIGKILL).
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.wake();
    }

    pub fn stats(&self) -> SessionStats {
        *self.shared.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Why the session ended, or None while it runs.
    pub fn end_reason(&self) -> Option<String> {
        self.shared.ended.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How the sampled program ended (code or signal), once the session ended because it exited.
    pub fn exit(&self) -> Option<ProcessExit> {
        *self.shared.exit.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The profile so far, without ending the session: every batch cut until now (what the batch stream has
    /// carried or is about to carry), with the session's meta. A window that joins a running session starts
    /// from this and applies later batches, skipping what it already holds.
    pub fn snapshot(&self) -> Profile {
        let mut p = self.shared.live.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let stats = self.stats();
        let ended = self.end_reason();
        finalize_profile(&mut p, &self.header, &stats, ended.as_deref());
        if ended.is_none() {
            p.meta.retain(|(k, _)| k != "end_reason");
        }
        p
    }

    /// Waits until the session ends by itself (target exit, duration limit) or `timeout` passes.
    pub fn wait_ended(&self, timeout: Duration) -> Option<String> {
        let guard = self.shared.ended.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = self
            .shared
            .ended_cv
            .wait_timeout_while(guard, timeout, |ended| ended.is_none())
            .unwrap_or_else(|e| e.into_inner());
        guard.clone()
    }

    /// Stops the session if it still runs and returns every sample taken, as one profile.
    pub fn finish(mut self) -> Result<Profile, SamplerError> {
        self.stop();
        let thread = self.thread.take().ok_or_else(|| SamplerError::Session("session already finished".into()))?;
        thread.join().map_err(|panic| {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            SamplerError::Session(format!("the sampling thread panicked: {msg}"))
        })
    }

    fn wake(&self) {
        if let Some(t) = &self.worker_thread {
            t.unpark();
        }
    }
}

impl Drop for Session {
    /// A dropped session still stops its thread (and a spawned child) instead of sampling forever.
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.stop();
            let _ = thread.join();
        }
    }
}

fn build_config(opts: &SessionOptions) -> Config {
    Config {
        blocking: if opts.blocking { LockingStrategy::Lock } else { LockingStrategy::NonBlocking },
        native: false,
        sampling_rate: opts.rate_hz as u64,
        include_idle: opts.include_idle,
        gil_only: opts.gil_only,
        // We follow children ourselves (one spy per pid on our one thread) rather than through py-spy's Sampler,
        // which spawns a thread per process and owns the schedule.
        subprocesses: false,
        ..Config::default()
    }
}

/// The checks that give a precise error before py-spy gives a vague one.
fn check_target(pid: i64) -> Result<(), SamplerError> {
    let Some(status) = read_status(pid) else {
        return Err(SamplerError::NoSuchProcess(pid));
    };
    let (exe, maps) = read_exe_and_maps(pid);
    let uid = parse_status_field(&status, "Uid:").unwrap_or(u32::MAX);
    if maps.is_none() || exe.is_empty() {
        // Without the maps we cannot even tell whether it is Python: that is a permission problem first.
        let (ok, reason) = check_attach(pid, uid);
        if !ok {
            return Err(SamplerError::PermissionDenied { pid, detail: reason });
        }
    }
    if !looks_like_python(&exe, &read_cmdline(pid), maps.as_deref()) {
        return Err(SamplerError::NotPython { pid, exe });
    }
    if detect_free_threaded(&exe, maps.as_deref()) {
        return Err(SamplerError::FreeThreaded { pid, exe });
    }
    let (ok, reason) = check_attach(pid, uid);
    if !ok {
        return Err(SamplerError::PermissionDenied { pid, detail: reason });
    }
    Ok(())
}

fn attach_spy(pid: i64, config: &Config) -> Result<PythonSpy, SamplerError> {
    // A few retries: a process that just started may not have initialized its interpreter yet.
    let spy = PythonSpy::retry_new(pid as py_spy::Pid, config, 10).map_err(|e| classify_spy_error(pid, &e))?;
    check_version(pid, &spy)?;
    Ok(spy)
}

fn check_version(pid: i64, spy: &PythonSpy) -> Result<(), SamplerError> {
    let v = &spy.version;
    let supported = (v.major == 2 && (3..=7).contains(&v.minor)) || (v.major == 3 && (3..=15).contains(&v.minor));
    if supported {
        Ok(())
    } else {
        Err(SamplerError::UnsupportedVersion { pid, version: format!("{}.{}.{}", v.major, v.minor, v.patch) })
    }
}

fn classify_spy_error(pid: i64, e: &anyhow::Error) -> SamplerError {
    let detail = format!("{e:#}");
    if !exists(pid) {
        return SamplerError::NoSuchProcess(pid);
    }
    if let Some(i) = detail.find("Unsupported version") {
        return SamplerError::UnsupportedVersion { pid, version: detail[i..].to_owned() };
    }
    if detail.contains("Operation not permitted") || detail.contains("Permission denied") {
        return SamplerError::PermissionDenied { pid, detail: format!("{detail}; {PERMISSION_HELP}") };
    }
    SamplerError::Attach { pid, detail }
}

/// Attaches to a program we just started. py-spy needs the interpreter to exist in memory, which takes a few ms
/// after exec; we poll until then. The interpreter exists before it imports `site` and long before the script's
/// first statement runs, so the recording covers the script from its first line (test_live_cli.py checks it).
/// Starting the program stopped would not help: before the interpreter initializes there is nothing to read.
fn attach_spawned(mut child: Spawned, config: &Config, command: &str) -> Result<(PythonSpy, Option<Spawned>), SamplerError> {
    let pid = child.pid;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last_error = None;
    loop {
        if let Some(status) = child.ended_early() {
            return Err(SamplerError::ExitedBeforeAttach { command: command.into(), status });
        }
        let (exe, maps) = read_exe_and_maps(pid);
        // Until exec has happened the program is a copy of the launcher shell; try py-spy once it looks like Python.
        if looks_like_python(&exe, &[], maps.as_deref()) {
            if detect_free_threaded(&exe, maps.as_deref()) {
                return Err(SamplerError::FreeThreaded { pid, exe });
            }
            match PythonSpy::retry_new(pid as py_spy::Pid, config, 2) {
                Ok(spy) => {
                    check_version(pid, &spy)?;
                    return Ok((spy, Some(child)));
                }
                Err(e) => last_error = Some(format!("{e:#}")),
            }
        }
        if Instant::now() > deadline {
            let exe_now = if exe.is_empty() { argv0(command) } else { exe };
            return Err(match last_error {
                None => SamplerError::NotPython { pid, exe: exe_now },
                Some(detail) => SamplerError::Attach { pid, detail },
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn argv0(command: &str) -> String {
    command.split_whitespace().next().unwrap_or("").to_owned()
}

fn short_command(command: &str) -> String {
    let mut parts = command.split_whitespace().map(|p| p.rsplit('/').next().unwrap_or(p));
    let first: Vec<&str> = parts.by_ref().take(2).collect();
    first.join(" ")
}

fn session_meta(opts: &SessionOptions, pid: i64, command: &str, version: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("tool".into(), "emberscope sampler (py-spy)".into());
    m.insert("pid".into(), pid.to_string());
    m.insert("command".into(), command.to_owned());
    m.insert("python_version".into(), version.to_owned());
    m.insert("rate_hz".into(), opts.rate_hz.to_string());
    m.insert("mode".into(), if matches!(opts.target, Target::Pid(_)) { "attach" } else { "record" }.into());
    m.insert("blocking".into(), opts.blocking.to_string());
    m.insert("include_idle".into(), opts.include_idle.to_string());
    m.insert("gil_only".into(), opts.gil_only.to_string());
    m.insert("subprocesses".into(), opts.subprocesses.to_string());
    m
}
