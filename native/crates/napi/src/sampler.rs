//! Live sampler binding: `listPythonProcesses()` and `SamplingSession`.
//!
//! A session's batches travel core thread -> bounded channel -> pump thread (here) -> non-blocking thread-safe
//! function -> JS. The pump allows at most `MAX_IN_FLIGHT` batches queued on the JS side; while JS is slower than
//! that, the pump merges further batches into one (batches are deltas with global indexes, so merging is appending)
//! and sends it when JS catches up. Nothing is dropped, and neither the sampler nor the pump ever waits on JS.
//!
//! Error reasons are `"<code>: <message>"` (see lib.rs), with these sampler codes: `bad-request`,
//! `no-such-process`, `not-python`, `permission-denied`, `unsupported-python`, `free-threaded`, `spawn-failed`,
//! `attach-failed`, `io-error`, `internal`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use emberscope_core::sampler::{
    discover, read_cmdline, read_state, Batch, BatchStream, ProcessExit, ProcessInfo, SamplerError, Session, SessionOptions,
    SessionStats, Target,
};
use emberscope_core::Profile;
use napi::bindgen_prelude::{AsyncTask, Float64Array, Int32Array, Uint32Array, Uint8Array};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status, Task};
use napi_derive::napi;

use crate::profile_handle::ProfileHandle;
use crate::{coded_error, guard};

/// Batches queued on the JS side at most; past that the pump coalesces.
const MAX_IN_FLIGHT: usize = 2;

#[napi(object, object_from_js = false)]
pub struct JsPythonProcess {
    pub pid: f64,
    pub ppid: f64,
    pub command_line: String,
    pub exe: String,
    /// "3.11.7" (read by py-spy) or "3.11" (from file names) or "" when unknown.
    pub python_version: String,
    pub uid: f64,
    pub user: String,
    pub free_threaded: bool,
    pub can_attach: bool,
    pub reason: String,
}

impl From<ProcessInfo> for JsPythonProcess {
    fn from(p: ProcessInfo) -> Self {
        JsPythonProcess {
            pid: p.pid as f64,
            ppid: p.ppid as f64,
            command_line: p.command_line,
            exe: p.exe,
            python_version: p.python_version,
            uid: p.uid as f64,
            user: p.user,
            free_threaded: p.free_threaded,
            can_attach: p.can_attach,
            reason: p.reason,
        }
    }
}

/// Python processes on this machine (ours excluded), sorted by pid.
#[napi]
pub fn list_python_processes() -> napi::Result<Vec<JsPythonProcess>> {
    guard("listing Python processes", || Ok(discover().into_iter().map(JsPythonProcess::from).collect()))
}

/// argv of any process (empty when it is gone or hidden): what an attach is about, before it starts.
#[napi]
pub fn read_command_line(pid: u32) -> napi::Result<Vec<String>> {
    guard("reading a command line", || Ok(read_cmdline(pid as i64)))
}

/// The state letter of a process ('R', 'S', 'T' stopped, 't' traced, 'Z', …), or null when it is gone.
#[napi]
pub fn read_process_state(pid: u32) -> napi::Result<Option<String>> {
    guard("reading a process state", || Ok(read_state(pid as i64).map(String::from)))
}

/// Options of `SamplingSession.start`. Exactly one of `pid` and `command`.
#[napi(object)]
pub struct JsSessionOptions {
    pub pid: Option<u32>,
    /// argv of a program to start and record; `command[0]` is looked up on PATH.
    pub command: Option<Vec<String>>,
    pub cwd: Option<String>,
    /// File for the started program's stdout (and stderr unless `errorOutput` is set); default: inherited.
    pub output: Option<String>,
    /// File for the started program's stderr alone.
    pub error_output: Option<String>,
    /// 1..2000, default 100.
    pub rate_hz: Option<u32>,
    /// Pause the target while reading it (default true).
    pub blocking: Option<bool>,
    pub include_idle: Option<bool>,
    pub gil_only: Option<bool>,
    pub subprocesses: Option<bool>,
    pub duration_seconds: Option<f64>,
    /// Must be false or absent (no native unwinding in this build).
    pub native: Option<bool>,
    /// How often a batch is cut and sent, 1..1000 ms (default 100). The app asks for its event interval, so every
    /// batch becomes one event as is.
    pub batch_interval_ms: Option<u32>,
    /// Append-only recording file (JSON lines); recover it with the core's `recording::load`.
    pub recording_path: Option<String>,
}

impl TryFrom<JsSessionOptions> for SessionOptions {
    type Error = napi::Error;

    fn try_from(o: JsSessionOptions) -> napi::Result<SessionOptions> {
        let target = match (o.pid, o.command) {
            (Some(pid), None) => Target::Pid(pid as i64),
            (None, Some(argv)) => {
                Target::Command {
                    argv,
                    cwd: o.cwd.map(PathBuf::from),
                    output: o.output.map(PathBuf::from),
                    error_output: o.error_output.map(PathBuf::from),
                }
            }
            (Some(_), Some(_)) => return Err(coded_error("bad-request", "give either `pid` or `command`, not both")),
            (None, None) => {
                return Err(coded_error("bad-request", "give `pid` (attach) or `command` (record) to sample"))
            }
        };
        let mut opts = SessionOptions::new(target);
        opts.rate_hz = o.rate_hz.unwrap_or(opts.rate_hz);
        opts.blocking = o.blocking.unwrap_or(opts.blocking);
        opts.include_idle = o.include_idle.unwrap_or(false);
        opts.gil_only = o.gil_only.unwrap_or(false);
        opts.subprocesses = o.subprocesses.unwrap_or(false);
        opts.native = o.native.unwrap_or(false);
        opts.recording_path = o.recording_path.map(PathBuf::from);
        if let Some(ms) = o.batch_interval_ms {
            opts.batch_interval = Duration::from_millis(ms as u64);
        }
        if let Some(secs) = o.duration_seconds {
            if !(secs.is_finite() && secs > 0.0) {
                return Err(coded_error("bad-request", format!("durationSeconds must be > 0, got {secs}")));
            }
            opts.duration = Some(Duration::from_secs_f64(secs));
        }
        opts.validate().map_err(|e| sampler_error(&e))?;
        Ok(opts)
    }
}

fn sampler_error(e: &SamplerError) -> napi::Error {
    let code = match e {
        SamplerError::InvalidOption(_) => "bad-request",
        SamplerError::NoSuchProcess(_) => "no-such-process",
        SamplerError::NotPython { .. } => "not-python",
        SamplerError::PermissionDenied { .. } => "permission-denied",
        SamplerError::UnsupportedVersion { .. } => "unsupported-python",
        SamplerError::FreeThreaded { .. } => "free-threaded",
        SamplerError::Spawn { .. } | SamplerError::ExitedBeforeAttach { .. } => "spawn-failed",
        SamplerError::Attach { .. } => "attach-failed",
        SamplerError::Recording { .. } => "io-error",
        SamplerError::Session(_) => "internal",
    };
    coded_error(code, e)
}

#[napi(object, object_from_js = false)]
pub struct JsSessionStats {
    pub taken: f64,
    pub missed: f64,
    pub samples: f64,
    pub elapsed_ns: f64,
    pub achieved_hz: f64,
}

fn to_js_stats(s: &SessionStats) -> JsSessionStats {
    JsSessionStats {
        taken: s.taken as f64,
        missed: s.missed as f64,
        samples: s.samples as f64,
        elapsed_ns: s.elapsed_ns as f64,
        achieved_hz: s.achieved_hz,
    }
}

#[napi(object, object_from_js = false)]
pub struct JsThreadInfo {
    pub index: u32,
    pub pid: f64,
    pub tid: f64,
    pub name: String,
}

/// How a session ended: the reason in words, and when the sampled program exited, its code or signal as numbers.
#[napi(object, object_from_js = false)]
pub struct JsSessionEnd {
    /// "stopped", "duration limit reached (5.0 s)", "process exited (code 3)", ...
    pub reason: String,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
}

fn to_js_end(reason: String, exit: Option<ProcessExit>) -> JsSessionEnd {
    let exit = exit.unwrap_or_default();
    JsSessionEnd { reason, exit_code: exit.code, signal: exit.signal }
}

/// One batch as JS receives it: appends to the live profile's tables (see the core's `Batch`).
#[napi(object, object_from_js = false)]
pub struct JsBatch {
    pub first_string: u32,
    pub new_strings: Vec<String>,
    pub first_frame: u32,
    pub frame_func: Uint32Array,
    pub frame_file: Int32Array,
    pub frame_line: Uint32Array,
    pub frame_kind: Uint8Array,
    pub first_stack: u32,
    pub stack_prefix: Int32Array,
    pub stack_frame: Uint32Array,
    /// An index already announced means a rename.
    pub new_threads: Vec<JsThreadInfo>,
    pub sample_thread: Uint32Array,
    pub sample_stack: Int32Array,
    pub sample_time: Float64Array,
    pub sample_weight: Float64Array,
    pub sample_gil: Uint8Array,
    pub sample_idle: Uint8Array,
    pub stats: JsSessionStats,
    /// Set on the last batch: how the session ended.
    pub ended: Option<JsSessionEnd>,
}

fn to_js_batch(b: Batch) -> JsBatch {
    JsBatch {
        first_string: b.first_string,
        new_strings: b.new_strings,
        first_frame: b.first_frame,
        frame_func: Uint32Array::new(b.new_frames.func),
        frame_file: Int32Array::new(b.new_frames.file),
        frame_line: Uint32Array::new(b.new_frames.line),
        frame_kind: Uint8Array::new(b.new_frames.kind),
        first_stack: b.first_stack,
        stack_prefix: Int32Array::new(b.new_stacks.prefix),
        stack_frame: Uint32Array::new(b.new_stacks.frame),
        new_threads: b
            .new_threads
            .into_iter()
            .map(|t| JsThreadInfo { index: t.index, pid: t.pid as f64, tid: t.tid as f64, name: t.name })
            .collect(),
        sample_thread: Uint32Array::new(b.samples.thread_index),
        sample_stack: Int32Array::new(b.samples.stack),
        sample_time: Float64Array::new(b.samples.time_ns),
        sample_weight: Float64Array::new(b.samples.weight),
        sample_gil: Uint8Array::new(b.samples.gil),
        sample_idle: Uint8Array::new(b.samples.idle),
        stats: to_js_stats(&b.stats),
        ended: b.ended.map(|reason| to_js_end(reason, b.exit)),
    }
}

/// `onBatch(batch)`: called on the JS thread; no error-first argument.
type BatchCallback = ThreadsafeFunction<JsBatch, (), JsBatch, Status, false>;

/// A running live-sampling session. Setup errors reject `start` itself; after that, batches arrive through
/// `onBatch` until one carries `ended`.
#[napi]
pub struct SamplingSession {
    session: Arc<Mutex<Option<Session>>>,
    pump: Mutex<Option<JoinHandle<()>>>,
    pid: i64,
    python_version: String,
    command: Vec<String>,
}

#[napi]
impl SamplingSession {
    #[napi(factory, ts_args_type = "opts: JsSessionOptions, onBatch: (batch: JsBatch) => void")]
    pub fn start(opts: JsSessionOptions, on_batch: BatchCallback) -> napi::Result<SamplingSession> {
        guard("starting a sampling session", || {
            let opts = SessionOptions::try_from(opts)?;
            let mut session = Session::start(opts).map_err(|e| sampler_error(&e))?;
            let stream = session.take_batches().ok_or_else(|| coded_error("internal", "batch stream missing"))?;
            let pid = session.pid();
            let python_version = session.python_version().to_owned();
            let command = session.command().to_vec();
            let pump = std::thread::Builder::new()
                .name(format!("emberscope-batch-pump-{pid}"))
                .spawn(move || pump_batches(stream, on_batch))
                .map_err(|e| coded_error("internal", format!("could not start the batch pump: {e}")))?;
            Ok(SamplingSession {
                session: Arc::new(Mutex::new(Some(session))),
                pump: Mutex::new(Some(pump)),
                pid,
                python_version,
                command,
            })
        })
    }

    #[napi(getter)]
    pub fn pid(&self) -> f64 {
        self.pid as f64
    }

    #[napi(getter)]
    pub fn python_version(&self) -> String {
        self.python_version.clone()
    }

    /// argv of the sampled program (the command started, or the attached process's command line).
    #[napi(getter)]
    pub fn command(&self) -> Vec<String> {
        self.command.clone()
    }

    #[napi]
    pub fn pause(&self) -> napi::Result<()> {
        self.with_session("pausing a session", |s| s.pause())
    }

    #[napi]
    pub fn resume(&self) -> napi::Result<()> {
        self.with_session("resuming a session", |s| s.resume())
    }

    /// Asks the session to end; returns at once. The last batch (with `ended`) follows through `onBatch`.
    #[napi]
    pub fn stop(&self) -> napi::Result<()> {
        self.with_session("stopping a session", |s| s.stop())
    }

    #[napi]
    pub fn stats(&self) -> napi::Result<JsSessionStats> {
        self.with_session("reading session stats", |s| to_js_stats(&s.stats()))
    }

    /// How the session ended, or null while it runs.
    #[napi]
    pub fn ended(&self) -> napi::Result<Option<JsSessionEnd>> {
        self.with_session("reading how the session ended", |s| s.end_reason().map(|r| to_js_end(r, s.exit())))
    }

    /// The profile so far, while sampling goes on (the session is not ended). Costs a copy of what was sampled.
    #[napi]
    pub fn snapshot(&self) -> napi::Result<ProfileHandle> {
        self.with_session("copying a running session's profile", |s| ProfileHandle::new(s.snapshot()))
    }

    /// Stops (if still running) and resolves to the whole profile, on a worker thread.
    #[napi(ts_return_type = "Promise<ProfileHandle>")]
    pub fn finish(&self) -> napi::Result<AsyncTask<FinishTask>> {
        guard("finishing a session", || {
            let session = self
                .session
                .lock()
                .map_err(|_| coded_error("internal", "the session's state is poisoned"))?
                .take()
                .ok_or_else(|| coded_error("bad-request", "this session was already finished"))?;
            let pump = self.pump.lock().ok().and_then(|mut p| p.take());
            Ok(AsyncTask::new(FinishTask { session: Some(session), pump }))
        })
    }

    fn with_session<T>(&self, what: &str, f: impl FnOnce(&Session) -> T) -> napi::Result<T> {
        guard(what, || {
            let lock = self.session.lock().map_err(|_| coded_error("internal", "the session's state is poisoned"))?;
            let session = lock.as_ref().ok_or_else(|| coded_error("bad-request", "this session was already finished"))?;
            Ok(f(session))
        })
    }
}

pub struct FinishTask {
    session: Option<Session>,
    pump: Option<JoinHandle<()>>,
}

impl Task for FinishTask {
    type Output = Profile;
    type JsValue = ProfileHandle;

    fn compute(&mut self) -> napi::Result<Profile> {
        guard("finishing a sampling session", || {
            let session = self.session.take().ok_or_else(|| coded_error("internal", "finish ran twice"))?;
            let profile = session.finish().map_err(|e| sampler_error(&e))?;
            // The pump ends once it has handed the last batch to JS; it never waits on JS, so this join is short.
            if let Some(pump) = self.pump.take() {
                let _ = pump.join();
            }
            Ok(profile)
        })
    }

    fn resolve(&mut self, _env: Env, output: Profile) -> napi::Result<ProfileHandle> {
        Ok(ProfileHandle::new(output))
    }
}

/// Forwards batches to JS, coalescing while JS has `MAX_IN_FLIGHT` batches still to process.
fn pump_batches(stream: BatchStream, on_batch: BatchCallback) {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut pending: Option<Batch> = None;
    let mut ended = false;
    loop {
        if !ended {
            match stream.recv_timeout(Duration::from_millis(50)) {
                Ok(b) => match pending.as_mut() {
                    Some(p) => p.merge(b),
                    None => pending = Some(b),
                },
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => ended = true,
            }
        }
        if pending.is_some() && in_flight.load(Ordering::SeqCst) < MAX_IN_FLIGHT {
            let batch = pending.take().map(to_js_batch);
            if let Some(batch) = batch {
                in_flight.fetch_add(1, Ordering::SeqCst);
                let done = in_flight.clone();
                let status = on_batch.call_with_return_value(batch, ThreadsafeFunctionCallMode::NonBlocking, move |_, _| {
                    // Runs on the JS thread after onBatch returned (or threw): one slot is free again.
                    done.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                });
                if status != Status::Ok {
                    // The function is closing (env teardown): nobody is left to receive batches.
                    return;
                }
            }
        }
        if ended && pending.is_none() {
            return;
        }
        if ended {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
