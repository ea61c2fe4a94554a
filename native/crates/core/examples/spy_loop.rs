//! Diagnostic: how many blocking reads per second py-spy's library manages on a pid, back to back.
use std::time::{Duration, Instant};
fn main() {
    let pid: i32 = std::env::args().nth(1).unwrap().parse().unwrap();
    let blocking = std::env::args().nth(2).as_deref() != Some("nb");
    let config = py_spy::Config {
        blocking: if blocking { py_spy::config::LockingStrategy::Lock } else { py_spy::config::LockingStrategy::NonBlocking },
        include_idle: true,
        ..py_spy::Config::default()
    };
    let mut spy = py_spy::PythonSpy::new(pid, &config).unwrap();
    let start = Instant::now();
    let mut n = 0;
    let mut longest = Duration::ZERO;
    while start.elapsed() < Duration::from_secs(3) {
        let t = Instant::now();
        let _ = spy.get_stack_traces();
        longest = longest.max(t.elapsed());
        n += 1;
    }
    println!("{} reads/s, longest {:?}", n as f64 / 3.0, longest);
}
