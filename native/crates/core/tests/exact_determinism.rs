//! Importing the same exact-mode recording must give the same `Profile` every time, in every process: the same
//! strings, frames, stacks and threads in the same order (the app, the snapshots and the aggregated form index into
//! those tables). A `HashMap`'s iteration order is seeded per process, so the check imports each fixture in several
//! fresh processes (this test binary again, in "dump mode") and compares their full `Debug` dumps.
//! Run: cargo test --release -p emberscope-core --test exact_determinism

use std::path::{Path, PathBuf};
use std::process::Command;

use emberscope_core::{import_file, Job};

/// Set in a child: the recording to import. The child writes the profile's `Debug` dump to `DUMP_TO_ENV`.
const IMPORT_ENV: &str = "EMBERSCOPE_EXACT_DETERMINISM_IMPORT";
const DUMP_TO_ENV: &str = "EMBERSCOPE_EXACT_DETERMINISM_DUMP_TO";
/// Fresh processes per input: with a per-process seed, two agree by chance only if nothing depends on it.
const RUNS: usize = 3;

fn exact_fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../test/fixtures/exact");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "embx"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .embx fixtures in {}", dir.display());
    files
}

/// A scratch directory of this test run, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("emberscope-exact-determinism-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Dump mode: imports `IMPORT_ENV` and writes `format!("{profile:?}")` to `DUMP_TO_ENV`.
#[test]
#[ignore = "run by imports_are_identical_across_processes in child processes"]
fn dump_mode() {
    let (Some(input), Some(out)) = (std::env::var_os(IMPORT_ENV), std::env::var_os(DUMP_TO_ENV)) else {
        return;
    };
    let profile = import_file(Path::new(&input), &Job::new()).expect("import the exact recording");
    std::fs::write(out, format!("{profile:?}")).unwrap();
}

/// The `Debug` dump of `input` as a fresh process imports it.
fn dump_in_fresh_process(input: &Path, out: &Path) -> String {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "dump_mode", "--ignored", "--test-threads=1", "--quiet"])
        .env(IMPORT_ENV, input)
        .env(DUMP_TO_ENV, out)
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "the child importing {} failed ({}):\n{}{}",
        input.display(),
        child.status,
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
    std::fs::read_to_string(out).unwrap_or_else(|e| panic!("the child wrote no dump for {}: {e}", input.display()))
}

/// Where two dumps part, with some context, so a failure says which table differs.
fn first_difference(a: &str, b: &str) -> String {
    let at = a.bytes().zip(b.bytes()).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let from = a.floor_char_boundary(at.saturating_sub(120));
    let show = |s: &str| s[from..s.ceil_char_boundary((at + 80).min(s.len()))].to_owned();
    format!("at byte {at} of {} / {}:\n  first:  …{}\n  second: …{}", a.len(), b.len(), show(a), show(b))
}

#[test]
fn imports_are_identical_across_processes() {
    let scratch = Scratch::new();
    // Every fixture alone, and all of them as one recording folder (several processes, read from a directory).
    let folder = scratch.0.join("recording");
    std::fs::create_dir(&folder).unwrap();
    let mut inputs = exact_fixtures();
    for f in &inputs {
        std::fs::copy(f, folder.join(f.file_name().unwrap())).unwrap();
    }
    inputs.push(folder);
    let mut failures = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let dumps: Vec<String> =
            (0..RUNS).map(|run| dump_in_fresh_process(input, &scratch.0.join(format!("dump-{i}-{run}.txt")))).collect();
        assert!(dumps[0].contains("emberscope-exact"), "{}: not imported as an exact trace", input.display());
        if let Some(other) = dumps[1..].iter().find(|d| **d != dumps[0]) {
            failures.push(format!("{}: {}", input.display(), first_difference(&dumps[0], other)));
        }
    }
    assert!(failures.is_empty(), "the same recording imported differently in fresh processes:\n{}", failures.join("\n"));
}
