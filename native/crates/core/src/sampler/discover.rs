//! Finding Python processes in /proc and telling whether we may read their memory.
//!
//! Every read here can fail because the process exited between listing /proc and reading its files; such a
//! process is skipped (or reported as gone), never a panic.

use std::fs;

use super::procfs::{exists, list_pids, parse_status_field, read_cmdline, read_exe_and_maps, read_maps, read_ppid, read_status};

/// A Python process as `discover` sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessInfo {
    pub pid: i64,
    pub ppid: i64,
    /// argv joined by spaces.
    pub command_line: String,
    /// Resolved /proc/PID/exe; empty when we may not read it.
    pub exe: String,
    /// "3.11.7" from py-spy's reading of the interpreter when attachable, else "3.11" from the binary or libpython
    /// name, else empty.
    pub python_version: String,
    pub uid: u32,
    pub user: String,
    /// A `Py_GIL_DISABLED` build (see `detect_free_threaded`). py-spy reads wrong memory there, so we refuse.
    pub free_threaded: bool,
    pub can_attach: bool,
    /// Why `can_attach` is what it is, in words a user can act on.
    pub reason: String,
}

/// Lists the Python processes on this machine, ours excluded, sorted by pid.
pub fn discover() -> Vec<ProcessInfo> {
    // The one own-pid filter: callers (the app, the CLI) list what this returns as is.
    let me = std::process::id() as i64;
    let mut out: Vec<ProcessInfo> = list_pids()
        .into_iter()
        .filter(|&pid| pid != me)
        .filter_map(inspect_process)
        .collect();
    out.sort_by_key(|p| p.pid);
    out
}

/// What we can learn about one pid; None when it is gone or is not Python.
pub fn inspect_process(pid: i64) -> Option<ProcessInfo> {
    let status = read_status(pid)?;
    let argv = read_cmdline(pid);
    // /proc/PID/maps needs ptrace-read rights; when denied we fall back to the names in exe/argv.
    let (exe, maps) = read_exe_and_maps(pid);
    if !looks_like_python(&exe, &argv, maps.as_deref()) {
        return None;
    }
    let uid = parse_status_field(&status, "Uid:").unwrap_or(u32::MAX);
    let ppid = parse_status_field(&status, "PPid:").map_or(0, |p| p as i64);
    let (can_attach, reason) = check_attach(pid, uid);
    let mut python_version = read_version_from_names(&exe, maps.as_deref());
    if can_attach {
        if let Some(v) = read_version_with_py_spy(pid) {
            python_version = v;
        }
    }
    Some(ProcessInfo {
        pid,
        ppid,
        command_line: argv.join(" "),
        free_threaded: detect_free_threaded(&exe, maps.as_deref()),
        exe,
        python_version,
        uid,
        user: lookup_user(uid),
        can_attach,
        reason,
    })
}

fn is_python_name(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    // python, python3, python3.11, python3.13t, python3.11d; not python-config or pythonw wrappers of other tools.
    base.strip_prefix("python")
        .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '.' || c == 't' || c == 'd' || c == 'm'))
}

/// Python when the executable is a python binary or libpython is mapped; argv[0] only when exe is unreadable.
pub(crate) fn looks_like_python(exe: &str, argv: &[String], maps: Option<&str>) -> bool {
    if !exe.is_empty() && is_python_name(exe.trim_end_matches(" (deleted)")) {
        return true;
    }
    if let Some(maps) = maps {
        return maps.lines().any(|l| l.contains("/libpython") || l.ends_with("/Python"));
    }
    exe.is_empty() && argv.first().is_some_and(|a| is_python_name(a))
}

/// A free-threaded (`Py_GIL_DISABLED`) build. We cannot run `sysconfig.get_config_var("Py_GIL_DISABLED")` inside
/// someone else's process, so we look for the marks such builds leave in file names: sysconfig's ABI flag `t`
/// shows in the binary (`python3.13t`), in libpython (`libpython3.13t.so`), in the stdlib directory
/// (`lib/python3.13t/`) and in the tag of every extension module (`_json.cpython-313t-x86_64-linux-gnu.so`).
pub fn detect_free_threaded(exe: &str, maps: Option<&str>) -> bool {
    let has_t_tag = |s: &str| {
        let find_versioned = |prefix: &str, s: &str| {
            s.match_indices(prefix).any(|(i, _)| {
                let rest = &s[i + prefix.len()..];
                let digits = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').count();
                digits > 0 && rest[digits..].starts_with('t')
            })
        };
        find_versioned("python3", s) || find_versioned("cpython-3", s)
    };
    let base = exe.rsplit('/').next().unwrap_or(exe);
    if has_t_tag(base) {
        return true;
    }
    maps.is_some_and(|m| m.lines().filter_map(|l| l.split_whitespace().nth(5)).any(has_t_tag))
}

/// "3.11" from `python3.11` or `libpython3.11.so.1.0`; empty when neither names a version.
fn read_version_from_names(exe: &str, maps: Option<&str>) -> String {
    let pick = |s: &str| -> Option<String> {
        let i = s.rfind("python3.")?;
        let rest = &s[i + "python".len()..];
        let v: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let v = v.trim_end_matches('.').to_owned();
        (v.len() > 2).then_some(v)
    };
    let base = exe.rsplit('/').next().unwrap_or(exe);
    if let Some(v) = pick(base) {
        return v;
    }
    maps.and_then(|m| m.lines().filter(|l| l.contains("libpython")).find_map(pick)).unwrap_or_default()
}

/// py-spy's own version detection (reads Py_Version / the version string from the target's memory).
fn read_version_with_py_spy(pid: i64) -> Option<String> {
    let process = remoteprocess::Process::new(pid as remoteprocess::Pid).ok()?;
    let info = py_spy::python_process_info::PythonProcessInfo::new(&process).ok()?;
    let v = py_spy::python_process_info::get_python_version(&info, &process).ok()?;
    Some(format!("{}.{}.{}{}", v.major, v.minor, v.patch, v.release_flags))
}

fn lookup_user(uid: u32) -> String {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// /proc/sys/kernel/yama/ptrace_scope, None when the Yama LSM is absent (then only uid/capability rules apply).
pub fn read_ptrace_scope() -> Option<u8> {
    fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").ok()?.trim().parse().ok()
}

pub fn explain_ptrace_scope(scope: Option<u8>) -> &'static str {
    match scope {
        None => "Yama is not active, so only the uid and capability rules apply",
        Some(0) => "ptrace_scope=0: any process of the same user may be read",
        Some(1) => {
            "ptrace_scope=1: only descendants may be read without CAP_SYS_PTRACE, so a program Emberscope \
             started itself works, but attaching to one started elsewhere needs root or CAP_SYS_PTRACE \
             (or `sudo sysctl kernel.yama.ptrace_scope=0`)"
        }
        Some(2) => "ptrace_scope=2: only processes with CAP_SYS_PTRACE (e.g. root) may read other processes",
        Some(_) => "ptrace_scope=3: attaching is disabled on this machine until reboot",
    }
}

fn has_cap_sys_ptrace() -> bool {
    const CAP_SYS_PTRACE: u32 = 19;
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE) != 0)
}

fn is_descendant_of_me(pid: i64) -> bool {
    let me = std::process::id() as i64;
    let mut p = pid;
    for _ in 0..64 {
        match read_ppid(p) {
            Some(pp) if pp == me => return true,
            Some(pp) if pp > 1 => p = pp,
            _ => return false,
        }
    }
    false
}

/// (can_attach, reason). The verdict comes from a real one-byte `process_vm_readv` (what py-spy does on every
/// sample); the reason explains it from uid, CAP_SYS_PTRACE and Yama's ptrace_scope.
pub fn check_attach(pid: i64, target_uid: u32) -> (bool, String) {
    let my_uid = unsafe { libc::geteuid() };
    let cap = has_cap_sys_ptrace();
    let scope = read_ptrace_scope();
    let why = if cap {
        format!("we hold CAP_SYS_PTRACE{}", if my_uid == 0 { " (running as root)" } else { "" })
    } else if my_uid == target_uid {
        format!("same user (uid {my_uid}); {}", explain_ptrace_scope(scope))
    } else {
        format!("owned by uid {target_uid} but we run as uid {my_uid} without CAP_SYS_PTRACE")
    };
    match probe_read(pid) {
        Ok(()) => (true, why),
        Err(e) if scope == Some(1) && is_descendant_of_me(pid) => {
            (false, format!("{e}; {why} (the target is our descendant, so Yama is not the cause)"))
        }
        Err(e) => (false, format!("{e}; {why}; {PERMISSION_HELP}")),
    }
}

pub const PERMISSION_HELP: &str = "reading another process's memory needs the same user (and Yama ptrace_scope \
    0, or 1 for our own children), or root, or CAP_SYS_PTRACE (e.g. `sudo setcap cap_sys_ptrace+ep` on the \
    app, or `--cap-add SYS_PTRACE` in Docker); programs Emberscope starts itself (Record) need none of that";

/// Reads one byte of the target's first readable mapping, as py-spy will. Err names what failed.
pub fn probe_read(pid: i64) -> Result<(), String> {
    if !exists(pid) {
        return Err(format!("process {pid} does not exist"));
    }
    let maps = read_maps(pid)?;
    let addr = maps
        .lines()
        .find(|l| l.split_whitespace().nth(1).is_some_and(|perm| perm.starts_with('r')))
        .and_then(|l| usize::from_str_radix(l.split('-').next()?, 16).ok())
        .ok_or_else(|| format!("process {pid} has no readable memory mapping"))?;
    let mut byte = 0u8;
    let local = libc::iovec { iov_base: &mut byte as *mut u8 as *mut libc::c_void, iov_len: 1 };
    let remote = libc::iovec { iov_base: addr as *mut libc::c_void, iov_len: 1 };
    // SAFETY: one local iovec pointing at a live stack byte; the remote side is only read by the kernel.
    let n = unsafe { libc::process_vm_readv(pid as libc::pid_t, &local, 1, &remote, 1, 0) };
    if n == 1 {
        Ok(())
    } else {
        Err(format!("process_vm_readv on pid {pid} failed ({})", std::io::Error::last_os_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_free_threaded_marks() {
        assert!(detect_free_threaded("/usr/bin/python3.13t", None));
        assert!(!detect_free_threaded("/usr/bin/python3.13", None));
        let maps = "7f00-7f01 r-xp 0 08:01 1 /usr/lib/libpython3.13t.so.1.0\n";
        assert!(detect_free_threaded("/usr/bin/python3", Some(maps)));
        let ext = "7f00-7f01 r-xp 0 08:01 1 /x/_json.cpython-313t-x86_64-linux-gnu.so\n";
        assert!(detect_free_threaded("/usr/bin/python3", Some(ext)));
        let normal = "7f00-7f01 r-xp 0 08:01 1 /x/_json.cpython-311-x86_64-linux-gnu.so\n";
        assert!(!detect_free_threaded("/usr/bin/python3", Some(normal)));
    }

    #[test]
    fn names_python_binaries() {
        assert!(is_python_name("/usr/bin/python3.11"));
        assert!(is_python_name("python"));
        assert!(!is_python_name("/usr/bin/python3-config"));
        assert!(!is_python_name("/bin/sleep"));
        assert_eq!(read_version_from_names("/usr/bin/python3.11", None), "3.11");
        let maps = "7f-80 r-xp 0 0:1 1 /opt/lib/libpython3.12.so.1.0\n";
        assert_eq!(read_version_from_names("/opt/bin/app", Some(maps)), "3.12");
    }
}
