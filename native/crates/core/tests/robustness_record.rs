//! Issue 8.6: a program that `record` started dies with Emberscope, however Emberscope dies.
//! The recorder runs in a child process (this test binary again, in "recorder mode"), which the test SIGKILLs.
//! Run: cargo test --release -p emberscope-core --features sampler --test robustness_record
#![cfg(feature = "sampler")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use emberscope_core::sampler::{Session, SessionOptions, Target};

const CHILD_ENV: &str = "EMBERSCOPE_LIFEGUARD_RECORDER";

fn alive(pid: i64) -> bool {
    // A zombie is dead for our purpose (it runs no code); /proc/PID/stat's third field says which.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

fn sleeping_python() -> Target {
    let script = "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n";
    Target::Command { argv: vec!["python3".into(), "-c".into(), script.into()], cwd: None, output: None, error_output: None }
}

/// Recorder mode: records a sleeping Python, prints its pid, then waits to be killed.
#[test]
#[ignore = "run by the_recorded_program_dies_when_emberscope_is_sigkilled in a child process"]
fn recorder_mode() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let session = Session::start(SessionOptions::new(sleeping_python())).expect("start record");
    println!("program {}", session.pid());
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn the_recorded_program_dies_when_emberscope_is_sigkilled() {
    let mut recorder = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "recorder_mode", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(recorder.stdout.take().unwrap()).lines();
    let pid: i64 = lines
        .by_ref()
        .map_while(Result::ok)
        // The harness prints "test recorder_mode ... " on the same line.
        .find_map(|l| l.split_once("program ").and_then(|(_, p)| p.trim().parse().ok()))
        .expect("the recorder printed no program pid");
    assert!(alive(pid), "the program should run while the recorder lives");
    // SIGKILL: no handler, no destructor runs in the recorder.
    recorder.kill().unwrap();
    recorder.wait().unwrap();
    let killed_at = Instant::now();
    while alive(pid) && killed_at.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let still_alive = alive(pid);
    if still_alive {
        // SAFETY: kill(2) on the leftover program so the test leaves nothing behind.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    }
    assert!(!still_alive, "python pid {pid} outlived its recorder by 2 s");
    eprintln!("program gone {:?} after the recorder was killed", killed_at.elapsed());
}

/// Our child processes whose command line mentions `needle`.
fn children_named(needle: &str) -> Vec<i64> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i64>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ppid = stat.rsplit_once(") ").and_then(|(_, r)| r.split(' ').nth(1).map(str::to_owned));
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            ppid.as_deref() == Some(me.as_str()) && String::from_utf8_lossy(&cmd).contains(needle) && alive(*pid)
        })
        .collect()
}

#[test]
fn a_normal_stop_leaves_no_guard_and_does_not_fire_it() {
    let session = Session::start(SessionOptions::new(sleeping_python())).expect("start record");
    let pid = session.pid();
    assert_eq!(children_named("emberscope-guard").len(), 1, "one guard per recorded program");
    session.stop();
    session.finish().expect("finish");
    assert!(!alive(pid));
    assert!(children_named("emberscope-guard").is_empty(), "the guard outlived its session");
}
