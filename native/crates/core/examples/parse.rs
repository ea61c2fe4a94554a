//! Imports one file with `import_file` and prints throughput as one JSON line:
//! `{"bytes":…,"seconds":…,"mbPerSec":…,"threads":…,"spans":…,"samples":…,"format":…}`.
//! Run in release mode: `cargo run --release -p emberscope-core --example parse -- FILE`.

use std::path::Path;
use std::time::Instant;

use emberscope_core::{import_file, Job};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: parse FILE");
        std::process::exit(2);
    };
    let bytes = match std::fs::metadata(&path) {
        Ok(m) => m.len(),
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(1);
        }
    };
    let job = Job::new();
    let started = Instant::now();
    let profile = match import_file(Path::new(&path), &job) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let spans: usize = profile.threads.iter().map(|t| t.spans.len()).sum();
    let samples: usize = profile.threads.iter().map(|t| t.samples.len()).sum();
    let mb_per_sec = bytes as f64 / 1e6 / seconds.max(1e-9);
    println!(
        "{{\"bytes\":{bytes},\"seconds\":{seconds:.4},\"mbPerSec\":{mb_per_sec:.1},\"threads\":{},\"spans\":{spans},\
         \"samples\":{samples},\"format\":{:?}}}",
        profile.threads.len(),
        profile.format
    );
}
