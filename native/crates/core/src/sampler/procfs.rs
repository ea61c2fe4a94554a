//! Every read of Linux's /proc about processes: the one place that walks /proc for pids, parents, descendants,
//! command lines, states and exit statuses. The JS side reads /proc nowhere; it asks the addon (`readCommandLine`,
//! `readProcessState`, a session's `command` and `ended()` fields), so the parsing rules below exist once.
//!
//! Every read can fail because the process exited meanwhile; such a process is skipped or reported as gone.

use std::collections::HashSet;
use std::fs;

use super::spawn::ProcessExit;

/// Every pid in /proc right now (processes, not threads).
pub(crate) fn list_pids() -> Vec<i64> {
    let Ok(dir) = fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i64>().ok()).collect()
}

/// argv of a process; empty when it is gone or we may not read it.
pub fn read_cmdline(pid: i64) -> Vec<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    raw.split(|&b| b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect()
}

/// True while /proc has an entry for the pid (zombies included).
pub(crate) fn exists(pid: i64) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// /proc/PID/status, None when the process is gone.
pub(crate) fn read_status(pid: i64) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/status")).ok()
}

/// /proc/PID/maps; the error says which file could not be read (it needs ptrace-read rights).
pub(crate) fn read_maps(pid: i64) -> Result<String, String> {
    fs::read_to_string(format!("/proc/{pid}/maps")).map_err(|e| format!("cannot read /proc/{pid}/maps ({e})"))
}

/// A numeric field of /proc/PID/status (`"Uid:"`, `"PPid:"`): its first number.
pub(crate) fn parse_status_field(status: &str, key: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Parent pid of a process, None when it is gone.
pub(crate) fn read_ppid(pid: i64) -> Option<i64> {
    let status = read_status(pid)?;
    parse_status_field(&status, "PPid:").map(|p| p as i64)
}

/// The resolved executable (empty when unreadable) and the memory maps (None without ptrace-read rights).
pub(crate) fn read_exe_and_maps(pid: i64) -> (String, Option<String>) {
    let exe = fs::read_link(format!("/proc/{pid}/exe")).map(|p| p.display().to_string()).unwrap_or_default();
    (exe, read_maps(pid).ok())
}

/// The fields of /proc/PID/stat after the parenthesized command name (which may hold spaces and parentheses):
/// `[0]` is the state, `[1]` the parent pid, `[49]` the exit status of a zombie.
fn read_stat_fields(pid: i64) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    Some(after.split_whitespace().map(str::to_owned).collect())
}

fn is_dead_state(state: Option<&String>) -> bool {
    matches!(state.map(String::as_str), Some("Z" | "X"))
}

/// The state letter of /proc/PID/stat: 'R' running, 'S'/'D' waiting, 'T' stopped (SIGSTOP, Ctrl-Z), 't' stopped by
/// a tracer (our own blocking reads), 'Z' zombie; None when the process is gone.
pub fn read_state(pid: i64) -> Option<char> {
    read_stat_fields(pid)?.first()?.chars().next()
}

/// True while the process exists and is not a zombie.
pub(crate) fn is_running(pid: i64) -> bool {
    read_stat_fields(pid).is_some_and(|f| !is_dead_state(f.first()))
}

/// How a process that is not ours ended: from its zombie's stat while its parent has not reaped it.
/// None while it runs; `ProcessExit::default()` (status unknown) once it is gone without a trace.
pub(crate) fn read_zombie_exit(pid: i64) -> Option<ProcessExit> {
    let Some(fields) = read_stat_fields(pid) else { return Some(ProcessExit::default()) };
    if !is_dead_state(fields.first()) {
        return None;
    }
    Some(fields.get(49).and_then(|v| v.parse().ok()).map_or(ProcessExit::default(), ProcessExit::from_wait_status))
}

/// The first child of `parent` found in /proc.
pub(crate) fn find_child(parent: i64) -> Option<i64> {
    list_pids().into_iter().find(|&pid| read_ppid(pid) == Some(parent))
}

/// Every live descendant of `root`, sorted, from one pass over /proc.
pub(crate) fn list_descendants(root: i64) -> Vec<i64> {
    let parents: Vec<(i64, i64)> = list_pids().into_iter().filter_map(|pid| Some((pid, read_ppid(pid)?))).collect();
    let mut found: HashSet<i64> = HashSet::from([root]);
    // Parents can have larger pids than children after pid wrap, so iterate to a fixed point.
    loop {
        let before = found.len();
        for &(pid, ppid) in &parents {
            if found.contains(&ppid) {
                found.insert(pid);
            }
        }
        if found.len() == before {
            break;
        }
    }
    found.remove(&root);
    let mut out: Vec<i64> = found.into_iter().collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_our_own_process_and_its_children() {
        let me = std::process::id() as i64;
        assert!(list_pids().contains(&me));
        assert!(is_running(me));
        // /proc/PID/stat describes the main thread, which in the test harness waits ('S') while a worker thread
        // runs this test; either way it is alive and not stopped.
        assert!(matches!(read_state(me), Some('R' | 'S')), "{:?}", read_state(me));
        assert_eq!(read_zombie_exit(me), None);
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let pid = child.id() as i64;
        assert_eq!(read_ppid(pid), Some(me));
        assert!(list_descendants(me).contains(&pid));
        assert_eq!(read_cmdline(pid), vec!["sleep".to_owned(), "5".to_owned()]);
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        // Not reaped yet: a zombie whose stat carries the signal.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while is_running(pid) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(read_zombie_exit(pid), Some(ProcessExit { code: None, signal: Some(9) }));
        child.wait().unwrap();
        assert!(!is_running(pid));
    }
}
