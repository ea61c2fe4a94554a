//! The Chrome/VizTracer importer's parallel paths (the event array scanned in parts from guessed element starts, the
//! threads' spans built on several threads) must give exactly the sequential result: the same Profile, field for
//! field (string, frame and stack order included), or the same error. Each guess is tried where it is right and
//! where it is wrong (inside a string, inside `args`, past the array), on the real fixtures and on inputs made to
//! fool the guesser.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use emberscope_core::import::chrome::{self, Parallelism};
use emberscope_core::import::trace_split::Plan;
use emberscope_core::import::Input;
use emberscope_core::{ImportError, Job, Profile};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../test/fixtures")
}

/// Every file under `root`, in name order.
fn files_under(root: &Path) -> Vec<PathBuf> {
    let (mut files, mut dirs) = (Vec::new(), vec![root.to_path_buf()]);
    while let Some(dir) = dirs.pop() {
        for path in std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()) {
            if path.is_dir() { dirs.push(path) } else { files.push(path) }
        }
    }
    files.sort();
    files
}

/// Every fixture the Chrome importer would read (gzip undone), with its name.
fn chrome_fixtures() -> Vec<(String, Vec<u8>)> {
    let root = fixtures_dir();
    let mut out = Vec::new();
    for p in files_under(&root) {
        let rel = p.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        if rel.starts_with("snapshots/") || rel.starts_with("vm-protocol/") {
            continue;
        }
        let mut bytes = std::fs::read(&p).unwrap();
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut inflated = Vec::new();
            if flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut inflated).is_err() {
                continue;
            }
            bytes = inflated;
        }
        if chrome::detect(&bytes[..bytes.len().min(64 * 1024)]) {
            out.push((rel, bytes));
        }
    }
    out
}

fn import(bytes: &[u8], parallel: &Parallelism) -> Result<Profile, String> {
    let input = Input { bytes, name: "t.json", ext: "json" };
    chrome::import_with(&input, &Job::new(), parallel).map_err(|e| e.to_string())
}

fn split_at(starts: Vec<usize>) -> Parallelism {
    Parallelism { scan: Plan::At(starts), build_workers: 3, build_min_events: 0 }
}

/// Offsets of every `{` after the first byte, thinned to at most `max` evenly spread ones.
fn brace_offsets(bytes: &[u8], max: usize) -> Vec<usize> {
    let all: Vec<usize> = (1..bytes.len()).filter(|&i| bytes[i] == b'{').collect();
    let step = all.len().div_ceil(max.max(1)).max(1);
    all.into_iter().step_by(step).collect()
}

/// Checks the sequential result against single splits at `offsets`, against pairs and triples of them, and against
/// the parallel build alone.
fn assert_same_at(what: &str, bytes: &[u8], offsets: &[usize]) {
    let expected = import(bytes, &Parallelism::sequential());
    let check = |parallel: Parallelism| {
        let got = import(bytes, &parallel);
        let (a, b) = (got.as_ref().err(), expected.as_ref().err());
        assert!(got == expected, "{what}: {parallel:?} differs from the sequential import (errors: {a:?} vs {b:?})");
    };
    check(Parallelism { scan: Plan::sequential(), build_workers: 3, build_min_events: 0 });
    for &s in offsets {
        check(split_at(vec![s]));
    }
    for w in offsets.windows(3).step_by(3) {
        check(split_at(vec![w[0], w[2]]));
        check(split_at(w.to_vec()));
    }
    check(Parallelism { scan: Plan::Auto { parts: 4, min_part: 1 }, build_workers: 4, build_min_events: 0 });
}

#[test]
fn every_fixture_imports_the_same_split_anywhere() {
    let fixtures = chrome_fixtures();
    assert!(fixtures.len() >= 15, "expected the Chrome/VizTracer/py-spy fixtures, found {}", fixtures.len());
    assert!(fixtures.iter().any(|(k, _)| k.starts_with("viztracer/")), "the VizTracer fixture is missing");
    for (name, bytes) in &fixtures {
        assert_same_at(name, bytes, &brace_offsets(bytes, 120));
    }
}

/// A trace whose strings hold what looks like element starts, in the middle, where the guesser looks first.
fn adversarial_trace() -> Vec<u8> {
    let mut out = b"{\"traceEvents\": [\n".to_vec();
    let tricky = [
        r#"},{\"ph\":\"X\",\"ts\":1,\"dur\":2,\"pid\":1,\"tid\":1,\"name\":\"forged\"},{\"x"#,
        r#"}, {\"name\":\"also forged\",\"ph\":\"B\""#,
        r#"a},\n{\"ph\":\"E\"}"#,
        "plain",
    ];
    for i in 0..400u32 {
        let name = tricky[(i % 4) as usize];
        let tid = 1 + i % 3;
        let (k, ts, dur) = (i % 37, i * 3, i % 5 + 1);
        write!(out, r#"{{"ph":"X","name":"{name} {k}","ts":{ts},"dur":{dur},"pid":7,"tid":{tid}}},"#).unwrap();
        if i % 50 == 0 {
            // Nested args with braces and a thread name set late, so parts see metadata and `args` objects too.
            let ts = i * 3;
            let thread_name = r#"{"name":"t }, {\"ph\""}"#;
            let args = r#"{"a":{"b":[{"c":1},{"d":"},{"}]}}"#;
            write!(out, r#"{{"ph":"M","name":"thread_name","pid":7,"tid":{tid},"args":{thread_name}}},"#).unwrap();
            write!(out, r#"{{"ph":"B","name":"open {i}","ts":{ts},"pid":7,"tid":{tid},"args":{args}}},"#).unwrap();
            write!(out, " {{\"ph\":\"E\",\"ts\":{},\"pid\":7,\"tid\":{tid}}}\n,", i * 3 + 1).unwrap();
        }
    }
    out.extend_from_slice(br#"{"ph":"X","name":"last","ts":5000,"dur":1,"pid":8,"tid":1}], "#);
    out.extend_from_slice(br#""otherData": {"note": "},{\"ph\":\"X\"}"}}"#);
    out
}

#[test]
fn strings_that_look_like_element_boundaries_do_not_change_the_result() {
    let bytes = adversarial_trace();
    let expected = import(&bytes, &Parallelism::sequential()).expect("the adversarial trace is valid");
    assert!(expected.strings.iter().any(|s| s.contains(r#"},{"ph":"X""#)), "the forged boundary is in a name");
    // Every `{`, the forged ones inside strings and args included: each is tried as a guess.
    let offsets = brace_offsets(&bytes, usize::MAX);
    assert!(offsets.len() > 800, "{}", offsets.len());
    assert_same_at("adversarial", &bytes, &offsets);
}

#[test]
fn truncated_and_broken_arrays_give_the_sequential_result_or_error() {
    let full = adversarial_trace();
    let end = full.iter().rposition(|&b| b == b']').unwrap();
    // Cut mid-array (Chrome's unterminated traces), with a trailing comma, and with a syntax error past the middle.
    let cut = full[..end * 2 / 3].to_vec();
    let mut comma = full[..end].to_vec();
    comma.push(b',');
    let mut broken = full.clone();
    let at = end * 3 / 4 + broken[end * 3 / 4..].iter().position(|&b| b == b',').unwrap();
    broken[at] = b';';
    for (what, bytes) in [("cut", cut), ("trailing comma", comma), ("broken", broken)] {
        assert_same_at(what, &bytes, &brace_offsets(&bytes, 60));
    }
}

#[test]
fn damaged_traces_give_the_same_result_or_error_split_or_not() {
    // Deterministic damage (xorshift): JSON punctuation overwritten, bytes dropped or doubled, each trace then split
    // at a few `{` offsets. Whatever the sequential import says, Profile or error, the split ones must say too.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let original = adversarial_trace();
    let punctuation = b"{}[],:\" 0x\\";
    for round in 0..150 {
        let mut bytes = original.clone();
        for _ in 0..1 + round % 4 {
            let at = next(bytes.len());
            match next(3) {
                0 => bytes[at] = punctuation[next(punctuation.len())],
                1 => drop(bytes.remove(at)),
                _ => bytes.insert(at, bytes[at]),
            }
        }
        let braces = brace_offsets(&bytes, usize::MAX);
        let offsets: Vec<usize> = (0..4).map(|_| braces[next(braces.len())]).collect();
        let expected = import(&bytes, &Parallelism::sequential());
        let pair = vec![offsets[1].min(offsets[2]), offsets[1].max(offsets[2]) + 1];
        for starts in [vec![offsets[0]], pair, vec![offsets[3]]] {
            let got = import(&bytes, &split_at(starts.clone()));
            assert!(got == expected, "round {round}, split at {starts:?}: {:?} vs {:?}", got.err(), expected.err());
        }
    }
}

/// A trace of `3 * n` X events over a few threads and processes, nested two deep, in end order as VizTracer writes
/// them, with names first seen late: big enough for the automatic plan to split it.
fn big_trace(n: u32) -> Vec<u8> {
    let mut out = b"[".to_vec();
    for i in 0..n {
        let (pid, tid) = (1 + i % 2, 10 + i % 5);
        let t = i * 20;
        // Later events bring new names, so later parts intern names the first part never saw.
        let name = |k: u32| format!("f{} (/a/m{}.py:{})", (i + k) % (50 + i / 1000), (i + k) % 7, k);
        for (ts, dur, k) in [(t + 1, 3, 1), (t + 5, 4, 2), (t, 12, 0)] {
            let name = name(k);
            let event = format!(r#""pid":{pid},"tid":{tid},"ts":{ts}.5,"ph":"X","cat":"FEE","dur":{dur}.25"#);
            write!(out, r#"{{{event},"name":"{name}"}},"#).unwrap();
        }
    }
    out.extend_from_slice(br#"{"ph":"M","pid":1,"tid":10,"name":"thread_name","args":{"name":"main"}}]"#);
    out
}

#[test]
fn the_automatic_plan_splits_a_big_trace_with_the_same_result() {
    let bytes = big_trace(20_000);
    let expected = import(&bytes, &Parallelism::sequential()).unwrap();
    for parts in [2, 3, 4] {
        let scan = Plan::Auto { parts, min_part: 64 << 10 };
        let parallel = Parallelism { scan, build_workers: parts, build_min_events: 0 };
        assert_eq!(parallel.scan.starts(&bytes, 1).len(), parts - 1, "the plan splits");
        assert!(import(&bytes, &parallel).unwrap() == expected, "{parts} parts");
    }
    assert!(import(&bytes, &Parallelism::default()).unwrap() == expected, "defaults");
}

#[test]
fn a_split_scan_can_be_cancelled() {
    let bytes = big_trace(7_000);
    let job = Job::new();
    job.cancel();
    let input = Input { bytes: &bytes, name: "t.json", ext: "json" };
    let parallel = Parallelism { scan: Plan::Auto { parts: 4, min_part: 1 }, build_workers: 4, build_min_events: 0 };
    assert!(matches!(chrome::import_with(&input, &job, &parallel), Err(ImportError::Cancelled)));
}

#[test]
fn a_big_file_read_in_two_halves_imports_like_its_bytes() {
    // Past the size from which import_file reads a file's two halves on two threads; odd, so the halves differ.
    let mut bytes = big_trace(36_000);
    bytes.extend_from_slice(b" \n");
    assert!(bytes.len() > 9 << 20 && bytes.len() % 2 == 1, "{}", bytes.len());
    let path = std::env::temp_dir().join(format!("emberscope-parallel-read-{}.json", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let from_file = emberscope_core::import_file(&path, &Job::new());
    std::fs::remove_file(&path).unwrap();
    let from_bytes = emberscope_core::import_bytes(&path.file_name().unwrap().to_string_lossy(), &bytes, &Job::new());
    assert!(from_file.unwrap() == from_bytes.unwrap());
}

/// The 1M-event bench trace (`node bench/gen-chrome-trace.mjs`, git-ignored), when it has been generated: ignored by
/// default for its size (run with `--ignored`).
#[test]
#[ignore = "reads the 129 MB bench trace"]
fn the_bench_trace_imports_the_same_in_parallel() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../bench/generated/trace-1m.json");
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("skipped: {} is missing (node bench/gen-chrome-trace.mjs writes it)", path.display());
        return;
    };
    let expected = import(&bytes, &Parallelism::sequential()).unwrap();
    for parts in [2, 4] {
        let scan = Plan::Auto { parts, min_part: 1 << 20 };
        let got = import(&bytes, &Parallelism { scan, build_workers: parts, build_min_events: 0 });
        assert!(got.unwrap() == expected, "{parts} parts");
    }
}
