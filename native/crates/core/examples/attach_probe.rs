//! Tries to attach to a pid and prints what happened; the sampler tests run it as an unprivileged user
//! (`setpriv --reuid=nobody ...`) to check the permission message a real user would see.
//! Usage: attach_probe PID

use std::time::Duration;

use emberscope_core::sampler::{discover, Session, SessionOptions, Target};

fn main() {
    let Some(pid) = std::env::args().nth(1).and_then(|a| a.parse::<i64>().ok()) else {
        eprintln!("usage: attach_probe PID");
        std::process::exit(2);
    };
    for p in discover().iter().filter(|p| p.pid == pid) {
        println!("listed {} can_attach={} reason={}", p.pid, p.can_attach, p.reason);
    }
    let mut opts = SessionOptions::new(Target::Pid(pid));
    opts.duration = Some(Duration::from_millis(200));
    match Session::start(opts) {
        Ok(session) => {
            let stats = session.finish().map(|p| p.threads.len());
            println!("attached to {pid}: {stats:?}");
        }
        Err(e) => {
            println!("error: {e}");
            std::process::exit(1);
        }
    }
}
