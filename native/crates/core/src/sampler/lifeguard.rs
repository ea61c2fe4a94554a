//! Ties a program that `record` started to Emberscope's life: when Emberscope dies, however it dies (SIGKILL, a
//! crash, `process.exit`), the program and everything it started die too.
//!
//! Two parts, because neither is enough alone:
//! - The launcher shell (spawn.rs) gets its own process group, so the program and its children can be killed as
//!   one, and `PR_SET_PDEATHSIG(SIGKILL)`, so the shell dies with us. But the death signal is not inherited across
//!   fork, so the program itself (the shell's child) would live on.
//! - A guard: a second tiny shell in that process group, blocked reading a pipe whose only writer is this process
//!   (close-on-exec, so no child holds it). The kernel closes the pipe when we die; the guard's read returns and it
//!   kills the whole group. On a normal end the guard is killed first, so it never fires.
//!
//! The death signal fires when the *thread* that spawned the shell ends. Sessions start on the JS main thread
//! (napi `SamplingSession.start`), which lives as long as the process; starting one from a thread that ends earlier
//! would kill the shell then.

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

/// Makes the command (the launcher shell) the leader of a new process group and kills it when we die.
pub(crate) fn tie_to_our_life(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: setpgid, prctl, getppid and _exit are async-signal-safe; nothing here allocates.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setpgid(0, 0) < 0 || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // We may have died between fork and prctl: then the death signal was never armed.
            if libc::getppid() != parent {
                libc::_exit(137);
            }
            Ok(())
        });
    }
}

/// The guard process of one launched program (see the module docs). Dropping it disarms it.
pub(crate) struct LifeGuard {
    guard: Child,
    // Held, never written: its closing (our death) is the signal.
    _writer: File,
}

impl LifeGuard {
    /// Starts the guard in process group `pgid` (the launcher shell's pid).
    pub(crate) fn start(pgid: u32) -> std::io::Result<LifeGuard> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills two new descriptors, which we own from here on.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: both fds were just created by pipe2 and are owned by nothing else.
        let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
        let pgid_arg = pgid.to_string();
        let mut cmd = Command::new("/bin/sh");
        // EOF (or anything) on stdin means we are gone; `-PGID` signals the whole group, the guard included.
        cmd.args(["-c", r#"read x; kill -s KILL -- "-$1""#, "emberscope-guard", &pgid_arg]);
        cmd.stdin(Stdio::from(reader)).stdout(Stdio::null()).stderr(Stdio::null());
        let pgid = pgid as libc::pid_t;
        // SAFETY: setpgid is async-signal-safe. Joining the program's group keeps the guard out of the terminal's
        // foreground group, so a Ctrl-C meant for Emberscope does not end the guard.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setpgid(0, pgid) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let guard = cmd.spawn()?;
        Ok(LifeGuard { guard, _writer: writer })
    }
}

impl Drop for LifeGuard {
    fn drop(&mut self) {
        // Kill the guard before the pipe closes (fields drop after this), or it would kill the group.
        let _ = self.guard.kill();
        let _ = self.guard.wait();
    }
}
