//! Starting the program to record. It runs under a small `/bin/sh` waiter instead of as our direct child:
//! py-spy's blocking reads ptrace-seize the target and `waitpid` it (remoteprocess `ThreadLock::new`), and when the
//! target dies during such a read that `waitpid` reaps it. If we were its parent too, its exit status would be
//! gone before we could collect it. With the shell as parent, the tracer's wait and the parent's wait are separate,
//! and the shell reports the status to us. The target is still our descendant, so Yama's ptrace_scope=1 allows it.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::procfs::{find_child, is_running, list_descendants};
use super::SamplerError;

/// How a sampled program ended, as numbers: its exit code, or the signal that killed it; both None when unknown
/// (an attached process whose parent reaped it first). Travels as fields to JS; `reason()` is only for people.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessExit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

impl ProcessExit {
    /// From the launcher shell's `$?`: 128+N is death by signal N (a program exiting with such a code on purpose
    /// reads the same); negative means the status line never came.
    fn from_shell_status(status: i32) -> ProcessExit {
        match status {
            s if s > 128 => ProcessExit { code: None, signal: Some(s - 128) },
            s if s >= 0 => ProcessExit { code: Some(s), signal: None },
            _ => ProcessExit::default(),
        }
    }

    /// From a zombie's wait status (`/proc/PID/stat` field 52): low 7 bits the signal, else the code in bits 8-15.
    pub(crate) fn from_wait_status(w: i32) -> ProcessExit {
        if w & 0x7f != 0 {
            ProcessExit { code: None, signal: Some(w & 0x7f) }
        } else {
            ProcessExit { code: Some((w >> 8) & 0xff), signal: None }
        }
    }

    /// "process exited (code 3)", "process exited (signal 9)" or "process exited (status unknown)".
    pub fn reason(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("process exited (code {c})"),
            (None, Some(s)) => format!("process exited (signal {s})"),
            (None, None) => "process exited (status unknown)".into(),
        }
    }

    /// "exit code 3" / "signal 9", for a program that ended before it could be sampled.
    fn short(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => "status unknown".into(),
        }
    }
}

/// Runs "$@" in the foreground with fd 3 as its stdout, then prints its status. Foreground, not `cmd &`: a
/// non-interactive shell starts background commands with SIGINT ignored, which would disable KeyboardInterrupt in
/// the program. The program's pid is found as the shell's child in /proc.
const WAITER_SCRIPT: &str = r#""$@" 1>&3 3>&-; echo $?"#;

pub(crate) struct Spawned {
    shell: Child,
    pub pid: i64,
    status: Receiver<i32>,
    exit: Option<i32>,
    // Dropped after `terminate` (fields drop after `Drop::drop`), so it never fires on a normal end.
    _life_guard: super::lifeguard::LifeGuard,
}

impl Spawned {
    pub(crate) fn start(
        argv: &[String],
        cwd: Option<&PathBuf>,
        output: Option<&PathBuf>,
        error_output: Option<&PathBuf>,
    ) -> Result<Spawned, SamplerError> {
        let command = argv.join(" ");
        let fail = |source: std::io::Error| SamplerError::Spawn { command: command.clone(), source };
        find_program(&argv[0], cwd).map_err(fail)?;
        // fd 3 of the shell becomes the program's stdout; stderr is set on the shell and inherited.
        let open = |path: &PathBuf| OpenOptions::new().create(true).append(true).open(path);
        let (out, mut err): (File, Stdio) = match output {
            Some(path) => {
                let f = open(path).map_err(fail)?;
                let e = f.try_clone().map_err(fail)?;
                (f, Stdio::from(e))
            }
            None => (File::from(std::io::stdout().as_fd_owned().map_err(fail)?), Stdio::inherit()),
        };
        if let Some(path) = error_output {
            err = Stdio::from(open(path).map_err(fail)?);
        }
        let out_fd = out.as_raw_fd();
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", WAITER_SCRIPT, "emberscope-record"]).args(argv);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(err);
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        // SAFETY: dup2 and fcntl are async-signal-safe; `out` stays open in the parent until spawn returns.
        unsafe {
            cmd.pre_exec(move || {
                // dup2 onto itself would keep O_CLOEXEC (Rust opens files with it), so clear the flag instead.
                let ok = if out_fd == 3 { libc::fcntl(3, libc::F_SETFD, 0) } else { libc::dup2(out_fd, 3) };
                if ok < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        // Dies with us, program and all (lifeguard.rs).
        super::lifeguard::tie_to_our_life(&mut cmd);
        let mut shell = cmd.spawn().map_err(fail)?;
        let life_guard = match super::lifeguard::LifeGuard::start(shell.id()) {
            Ok(g) => g,
            Err(e) => {
                // SAFETY: kill(2) on the process group the shell just made (its pid), which it still leads.
                unsafe { libc::kill(-(shell.id() as libc::pid_t), libc::SIGKILL) };
                let _ = shell.wait();
                return Err(fail(e));
            }
        };
        drop(out);
        let stdout = shell.stdout.take().expect("piped stdout");
        let (status_tx, status_rx) = channel::<i32>();
        std::thread::Builder::new()
            .name("emberscope-record-waiter".into())
            .spawn(move || {
                if let Some(Ok(status)) = BufReader::new(stdout).lines().next() {
                    let _ = status_tx.send(status.trim().parse().unwrap_or(-1));
                }
            })
            .map_err(fail)?;
        let shell_pid = shell.id() as i64;
        let deadline = Instant::now() + Duration::from_secs(10);
        let pid = loop {
            if let Some(pid) = find_child(shell_pid) {
                break pid;
            }
            if let Ok(Some(_)) = shell.try_wait() {
                // The program ran and ended between two looks; its status line is there.
                let status = status_rx.recv_timeout(Duration::from_secs(1)).unwrap_or(-1);
                return Err(SamplerError::ExitedBeforeAttach { command, status: ProcessExit::from_shell_status(status).short() });
            }
            if Instant::now() > deadline {
                let _ = shell.kill();
                let _ = shell.wait();
                return Err(fail(std::io::Error::other("the launcher shell started no program within 10 s")));
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        Ok(Spawned { shell, pid, status: status_rx, exit: None, _life_guard: life_guard })
    }

    /// The shell's `$?` once the program has ended: the exit code, or 128+N for signal N.
    pub(crate) fn try_status(&mut self, wait: Duration) -> Option<i32> {
        if self.exit.is_none() {
            match self.status.recv_timeout(wait) {
                Ok(s) => self.exit = Some(s),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.exit = Some(-1),
            }
        }
        self.exit
    }

    /// How the program ended, once it has; None while it runs.
    pub(crate) fn exit(&mut self) -> Option<ProcessExit> {
        if self.try_status(Duration::ZERO).is_none() && is_running(self.pid) {
            return None;
        }
        // Gone or a zombie: the shell's status line follows within moments.
        Some(self.try_status(Duration::from_secs(2)).map_or(ProcessExit::default(), ProcessExit::from_shell_status))
    }

    /// SIGTERM, a second of grace, then SIGKILL; then reaps the shell. Processes the program started and left
    /// running (a server's workers) get a SIGTERM too, so stopping a recording leaves nothing behind.
    pub(crate) fn terminate(&mut self) {
        if self.try_status(Duration::ZERO).is_none() {
            // Listed while the program runs: once it is gone they are re-parented and no longer ours to find.
            let left_behind = list_descendants(self.pid);
            // SAFETY: kill(2) on the program's pid; it cannot be reused while the shell has not reaped it, and
            // the shell reaps it only in `wait`, after which the status line has been sent.
            unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGTERM) };
            if self.try_status(Duration::from_secs(1)).is_none() {
                unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGKILL) };
                self.try_status(Duration::from_secs(2));
            }
            for pid in left_behind.into_iter().filter(|&p| is_running(p)) {
                // SAFETY: kill(2) on a pid that was the program's descendant a moment ago and still runs.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
            }
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.shell.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.shell.kill();
        let _ = self.shell.wait();
    }

    /// The program ended on its own, before an interpreter was found: its status, in words.
    pub(crate) fn ended_early(&mut self) -> Option<String> {
        self.try_status(Duration::ZERO).map(|s| ProcessExit::from_shell_status(s).short())
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Checks up front that argv[0] names an executable, so "not found" is a spawn error and not an exit code 127.
fn find_program(program: &str, cwd: Option<&PathBuf>) -> std::io::Result<PathBuf> {
    let is_exec = |p: &Path| p.metadata().is_ok_and(|m| m.is_file() && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0);
    if program.contains('/') {
        let p = match cwd {
            Some(dir) if !program.starts_with('/') => dir.join(program),
            _ => PathBuf::from(program),
        };
        return if is_exec(&p) { Ok(p) } else { Err(not_found(program)) };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| is_exec(p)).ok_or_else(|| not_found(program))
}

fn not_found(program: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotFound, format!("{program}: no such executable (looked on PATH)"))
}

trait DupStdout {
    fn as_fd_owned(&self) -> std::io::Result<std::os::fd::OwnedFd>;
}

impl DupStdout for std::io::Stdout {
    fn as_fd_owned(&self) -> std::io::Result<std::os::fd::OwnedFd> {
        use std::os::fd::AsFd;
        self.as_fd().try_clone_to_owned()
    }
}
