//! Live sampling of running Python processes on top of the `py-spy` library (behind the `sampler` feature).
//!
//! - `discover()` lists Python processes with what a user needs to pick one (version, user, attachability).
//! - `Session::start(opts)` attaches to a pid, or spawns a command and attaches to it, and samples on its own
//!   thread. It sends columnar `Batch`es over a bounded channel and appends them to a recording file.
//! - `Session::snapshot()` returns the profile so far while sampling goes on; `Session::exit()` says how the
//!   program ended, as numbers (`ProcessExit`), beside the end reason in words.
//! - `Session::finish()` returns the whole `Profile`; `recording::load` rebuilds the same profile from the file a
//!   crashed session left behind.
//!
//! Linux only: discovery and permission checks read /proc.

mod batch;
mod discover;
mod lifeguard;
mod procfs;
pub mod recording;
mod session;
mod spawn;
mod worker;

use std::path::PathBuf;
use std::time::Duration;

pub use batch::{apply_batch, create_live_profile, Batch, BatchSamples, SessionStats, ThreadInfo};
pub use discover::{
    check_attach, detect_free_threaded, discover, explain_ptrace_scope, inspect_process, read_ptrace_scope, ProcessInfo,
};
pub use procfs::{read_cmdline, read_state};
pub use session::{BatchStream, Session};
pub use spawn::ProcessExit;

/// What to sample.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Attach to a running process.
    Pid(i64),
    /// Start `argv` ourselves and sample it from its first moments ("Record"). Needs no ptrace rights: a child of
    /// ours is always readable by us.
    Command {
        argv: Vec<String>,
        cwd: Option<PathBuf>,
        /// File that receives the child's stdout (and stderr unless `error_output` is set); None inherits ours.
        output: Option<PathBuf>,
        /// File that receives the child's stderr on its own, so a UI can tell the two apart.
        error_output: Option<PathBuf>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct SessionOptions {
    pub target: Target,
    /// Samples per second, 1..=2000.
    pub rate_hz: u32,
    /// Stop the target's threads while reading them (py-spy's default). Exact stacks, but the target pauses for
    /// the read; false reads on the fly (lower overhead, occasionally torn stacks or failed reads).
    pub blocking: bool,
    /// Keep samples of threads that are waiting (sleep, I/O, locks). Off: only running threads are recorded.
    pub include_idle: bool,
    /// Only record the thread holding the GIL.
    pub gil_only: bool,
    /// Also sample Python processes started by the target (subprocess, multiprocessing), each under its own pid.
    pub subprocesses: bool,
    /// Stop by itself after this long (pauses excluded).
    pub duration: Option<Duration>,
    /// Native (C) frames. Must be false: it needs py-spy's `unwind` feature (libunwind), which we do not build.
    pub native: bool,
    /// Append-only JSON-lines recording (see `recording`); None records nothing on disk.
    pub recording_path: Option<PathBuf>,
    /// How often batches are cut, sent and written.
    pub batch_interval: Duration,
    /// Capacity of the batch channel. When it is full, batches are merged, never dropped and never waited for.
    pub channel_capacity: usize,
}

impl SessionOptions {
    pub fn new(target: Target) -> SessionOptions {
        SessionOptions {
            target,
            rate_hz: 100,
            blocking: true,
            include_idle: false,
            gil_only: false,
            subprocesses: false,
            duration: None,
            native: false,
            recording_path: None,
            batch_interval: Duration::from_millis(100),
            channel_capacity: 4,
        }
    }

    pub fn validate(&self) -> Result<(), SamplerError> {
        let bad = |m: String| Err(SamplerError::InvalidOption(m));
        if !(1..=2000).contains(&self.rate_hz) {
            return bad(format!("rate_hz must be between 1 and 2000, got {}", self.rate_hz));
        }
        if self.native {
            return bad("native stacks are not available: Emberscope builds py-spy without its `unwind` feature".into());
        }
        if self.channel_capacity == 0 {
            return bad("channel_capacity must be at least 1".into());
        }
        if self.batch_interval.is_zero() || self.batch_interval > Duration::from_secs(1) {
            // The recording is flushed once per batch; more than a second would break the "lose at most a second
            // on a crash" promise.
            return bad(format!("batch_interval must be in (0, 1s], got {:?}", self.batch_interval));
        }
        if let Target::Command { argv, .. } = &self.target {
            if argv.is_empty() || argv[0].is_empty() {
                return bad("the command to record is empty".into());
            }
        }
        if let Target::Pid(pid) = self.target {
            if pid <= 0 || pid > i32::MAX as i64 {
                return bad(format!("pid must be a positive 32-bit number, got {pid}"));
            }
        }
        Ok(())
    }
}

/// Everything `Session::start` can refuse, each with the facts a user needs to fix it.
#[derive(Debug, thiserror::Error)]
pub enum SamplerError {
    #[error("invalid sampler option: {0}")]
    InvalidOption(String),
    #[error("no process with pid {0}")]
    NoSuchProcess(i64),
    #[error("process {pid} ({exe}) is not a Python process: neither its executable nor its libraries are Python")]
    NotPython { pid: i64, exe: String },
    #[error("permission denied attaching to process {pid}: {detail}")]
    PermissionDenied { pid: i64, detail: String },
    #[error("process {pid} runs Python {version}, which py-spy cannot read (supported: 2.7 and 3.3 to 3.15)")]
    UnsupportedVersion { pid: i64, version: String },
    #[error(
        "process {pid} ({exe}) is a free-threaded (no-GIL) Python build; py-spy would read its memory with the wrong \
         layout, so Emberscope refuses to sample it. Use a regular build, or a tracing profiler"
    )]
    FreeThreaded { pid: i64, exe: String },
    #[error("could not start {command:?}: {source}")]
    Spawn { command: String, source: std::io::Error },
    #[error("{command:?} ended ({status}) before a Python interpreter could be found in it")]
    ExitedBeforeAttach { command: String, status: String },
    #[error("could not attach to process {pid}: {detail}")]
    Attach { pid: i64, detail: String },
    #[error("recording file {path}: {source}")]
    Recording { path: PathBuf, source: std::io::Error },
    #[error("sampler session failed: {0}")]
    Session(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_rate() {
        let mut o = SessionOptions::new(Target::Pid(1));
        assert!(o.validate().is_ok());
        o.rate_hz = 0;
        assert!(o.validate().unwrap_err().to_string().contains("between 1 and 2000"));
        o.rate_hz = 2001;
        assert!(o.validate().is_err());
        o.rate_hz = 2000;
        o.native = true;
        assert!(o.validate().unwrap_err().to_string().contains("unwind"));
    }
}
