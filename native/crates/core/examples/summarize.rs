//! `cargo run -p emberscope-core --example summarize -- FILE [TOP_N]`: imports FILE and prints its summary
//! (`ProfileSummary` in electron/contract/profile.ts) as JSON. Exits 1 with the import error on bad input.

use std::io::Write;
use std::path::Path;

use emberscope_core::summary::summarize;
use emberscope_core::{import_file, Job};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: summarize FILE [TOP_N]");
        std::process::exit(2);
    };
    let top_n = args.next().and_then(|n| n.parse().ok()).unwrap_or(50);
    match import_file(Path::new(&path), &Job::new()) {
        Ok(profile) => {
            let summary = summarize(&profile, top_n);
            let json = serde_json::to_string_pretty(&summary).expect("a summary always serializes");
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = writeln!(std::io::stdout().lock(), "{json}");
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    }
}
