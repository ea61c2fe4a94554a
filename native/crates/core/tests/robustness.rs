//! Issue 8: small, well-formed inputs that used to hang, kill or poison the process. Each test reproduced its
//! problem before the fix (a hang, a panic, SIGBUS, a BigInt-sized id, a gzip bomb, a lost unit).
//! Run: cargo test --release -p emberscope-core --test robustness
// Without the sampler feature the recording tests are off, and some helpers with them.
#![cfg_attr(not(feature = "sampler"), allow(unused))]

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use emberscope_core::export::{export_to_vec, ExportFormat};
use emberscope_core::import::ImportOptions;
use emberscope_core::summary::summarize;
use emberscope_core::{import_bytes, import_bytes_with, import_file, ImportError, Job, Profile};

/// Runs `f` on a thread and fails the test (instead of hanging it) when it takes longer than `limit`.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| panic!("did not finish within {limit:?}: a hang"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("emberscope-robustness-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[cfg(feature = "sampler")]
const HEADER: &str = r#"{"emberscope_recording":1,"name":"t","start_unix_ns":5,"meta":{}}"#;

#[cfg(feature = "sampler")]
/// A recording with one batch; `stacks`, `frames` and `samples` are the JSON of its columns.
fn recording(stacks: &str, samples: &str) -> Vec<u8> {
    let batch = format!(
        r#"{{"batch":{{"first_string":0,"new_strings":["f","a.py"],"first_frame":0,"new_frames":{{"func":[0],"file":[1],"line":[1],"kind":[0]}},"first_stack":0,"new_stacks":{stacks},"new_threads":[{{"index":0,"pid":1,"tid":1,"name":"main"}}],"samples":{samples},"stats":{{"taken":1,"missed":0,"samples":1,"elapsed_ns":1000,"achieved_hz":1.0}},"ended":null}}}}"#
    );
    format!("{HEADER}\n{batch}\n").into_bytes()
}

#[cfg(feature = "sampler")]
const ONE_SAMPLE: &str = r#"{"thread_index":[0],"stack":[0],"time_ns":[0],"weight":[1],"gil":[1],"idle":[0]}"#;

#[cfg(feature = "sampler")]
fn import_err(bytes: Vec<u8>) -> String {
    let result = within(Duration::from_secs(10), move || {
        std::panic::catch_unwind(|| import_bytes("r.jsonl", &bytes, &Job::new()).map(|_| ()))
    });
    match result {
        Ok(Err(e)) => e.to_string(),
        Ok(Ok(())) => panic!("a broken recording was accepted"),
        Err(_) => panic!("the importer panicked"),
    }
}

#[test]
#[cfg(feature = "sampler")] // recordings are read only with the sampler built in
fn a_valid_recording_still_loads() {
    let p = import_bytes("r.jsonl", &recording(r#"{"prefix":[-1],"frame":[0]}"#, ONE_SAMPLE), &Job::new()).unwrap();
    assert_eq!(summarize(&p, 5).total_weight, 1.0);
}

#[test]
#[cfg(feature = "sampler")] // recordings are read only with the sampler built in
fn a_stack_that_is_its_own_prefix_is_an_error_not_a_hang() {
    let e = import_err(recording(r#"{"prefix":[0],"frame":[0]}"#, ONE_SAMPLE));
    assert!(e.contains("Emberscope recording") && e.contains("line 2") && e.contains("stack 0 has prefix 0"), "{e}");
    // A longer cycle: 0 -> 1 -> 0.
    let e = import_err(recording(r#"{"prefix":[1,0],"frame":[0,0]}"#, ONE_SAMPLE));
    assert!(e.contains("stack 0 has prefix 1"), "{e}");
}

#[test]
#[cfg(feature = "sampler")] // recordings are read only with the sampler built in
fn columns_of_unequal_length_are_an_error_not_a_panic() {
    let e = import_err(recording(
        r#"{"prefix":[-1],"frame":[0]}"#,
        r#"{"thread_index":[],"stack":[0],"time_ns":[0],"weight":[1],"gil":[1],"idle":[0]}"#,
    ));
    assert!(e.contains("line 2") && e.contains("sample columns differ in length"), "{e}");
    let e = import_err(recording(r#"{"prefix":[-1, -1],"frame":[0]}"#, ONE_SAMPLE));
    assert!(e.contains("stack columns differ in length"), "{e}");
}

#[test]
#[cfg(feature = "sampler")] // recordings are read only with the sampler built in
fn indices_out_of_range_are_errors_not_panics() {
    let e = import_err(recording(r#"{"prefix":[-1],"frame":[7]}"#, ONE_SAMPLE));
    assert!(e.contains("stack 0 has frame 7 but there are 1 frames"), "{e}");
    let e = import_err(recording(r#"{"prefix":[-5],"frame":[0]}"#, ONE_SAMPLE));
    assert!(e.contains("prefix -5"), "{e}");
    let e = import_err(recording(
        r#"{"prefix":[-1],"frame":[0]}"#,
        r#"{"thread_index":[0],"stack":[-3],"time_ns":[0],"weight":[1],"gil":[1],"idle":[0]}"#,
    ));
    assert!(e.contains("sample 0 has stack -3"), "{e}");
    let e = import_err(recording(
        r#"{"prefix":[-1],"frame":[0]}"#,
        r#"{"thread_index":[4],"stack":[0],"time_ns":[0],"weight":[1],"gil":[1],"idle":[0]}"#,
    ));
    assert!(e.contains("unknown thread 4"), "{e}");
}

#[test]
#[cfg(feature = "sampler")] // recordings are read only with the sampler built in
fn the_summary_of_a_cyclic_profile_ends() {
    // A profile that skipped validation (built by hand): the walk is bounded by the stack count.
    let mut p = import_bytes("r.jsonl", &recording(r#"{"prefix":[-1],"frame":[0]}"#, ONE_SAMPLE), &Job::new()).unwrap();
    p.stacks.prefix[0] = 0;
    let s = within(Duration::from_secs(5), move || summarize(&p, 5));
    assert_eq!(s.total_weight, 1.0);
}

/// A Chrome trace of many small events, `n` bytes or more.
fn big_trace(n: usize) -> Vec<u8> {
    let mut out = b"[".to_vec();
    let mut i = 0u64;
    while out.len() < n {
        write!(out, r#"{{"name":"f{}","ph":"X","ts":{},"dur":1,"pid":1,"tid":1}},"#, i % 100, i * 2).unwrap();
        i += 1;
    }
    out.extend_from_slice(br#"{"name":"end","ph":"X","ts":0,"dur":1,"pid":1,"tid":1}]"#);
    out
}

#[test]
fn a_file_truncated_while_it_is_read_gives_an_error_not_sigbus() {
    // Through a memory map this killed the test binary with SIGBUS (exit 135): the truncating thread races the
    // import, at several delays, so some truncations land mid-read and some mid-parse.
    let bytes = big_trace(48 << 20);
    for (k, delay_us) in [0u64, 200, 1_000, 5_000, 20_000, 60_000].into_iter().enumerate() {
        let path = scratch(&format!("shrinking-{k}.json"));
        std::fs::write(&path, &bytes).unwrap();
        let p2 = path.clone();
        let truncate = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_micros(delay_us));
            std::fs::OpenOptions::new().write(true).open(&p2).unwrap().set_len(1000).unwrap();
        });
        let result = import_file(&path, &Job::new());
        truncate.join().unwrap();
        match result {
            Ok(_) => {}
            Err(ImportError::Io(e)) => assert!(e.to_string().contains("shrank"), "{e}"),
            Err(e) => assert!(matches!(e, ImportError::Parse { .. } | ImportError::Empty), "{e}"),
        }
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn reading_a_plain_file_can_be_cancelled() {
    let path = scratch("cancel.json");
    std::fs::write(&path, big_trace(1 << 20)).unwrap();
    let job = Job::new();
    job.cancel();
    assert!(matches!(import_file(&path, &job), Err(ImportError::Cancelled)));
    std::fs::remove_file(&path).unwrap();
}

fn summary_ids(trace: &str) -> (serde_json::Value, serde_json::Value) {
    let p = import_bytes("t.json", trace.as_bytes(), &Job::new()).unwrap();
    let json = serde_json::to_value(summarize(&p, 5)).unwrap();
    (json["threads"][0]["pid"].clone(), json["threads"][0]["tid"].clone())
}

#[test]
fn ids_beyond_two_to_the_53_reach_js_as_safe_integers() {
    const MAX_SAFE: i64 = (1 << 53) - 1;
    // The 70-byte trace of the issue: a pid of 2^53.
    let (pid, tid) = summary_ids(r#"[{"name":"f","ph":"X","ts":0,"dur":1,"pid":9007199254740992,"tid":1}]"#);
    assert_eq!((pid.as_i64(), tid.as_i64()), (Some(MAX_SAFE), Some(1)));
    for huge in ["18446744073709551615", "-9223372036854775808", "\"99999999999999999999\"", "1e300"] {
        let trace = format!(r#"[{{"name":"f","ph":"X","ts":0,"dur":1,"pid":1,"tid":{huge}}}]"#);
        let (_, tid) = summary_ids(&trace);
        let tid = tid.as_i64().unwrap_or_else(|| panic!("tid {tid} for {huge}"));
        assert!(tid.abs() <= MAX_SAFE, "{huge} -> {tid}");
    }
    // The original id stays readable in the thread name.
    let p = import_bytes("t.json", br#"[{"name":"f","ph":"X","ts":0,"dur":1,"pid":9007199254740993,"tid":1}]"#, &Job::new()).unwrap();
    assert!(p.threads[0].name.contains("9007199254740993"), "{}", p.threads[0].name);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A gzip of `n` bytes of one JSON string: compresses about 1000x.
fn bomb(n: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(b"[\"").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..n / chunk.len() {
        e.write_all(&chunk).unwrap();
    }
    e.write_all(b"\"]").unwrap();
    e.finish().unwrap()
}

#[test]
fn a_gzip_bomb_is_refused_at_the_ratio_limit() {
    let gz = bomb(400 << 20);
    assert!(gz.len() < 1 << 20, "{}", gz.len());
    let e = import_bytes("bomb.json.gz", &gz, &Job::new()).unwrap_err().to_string();
    assert!(e.contains("gzip file inflates to more than 256 MiB") && e.contains("maxInflatedBytes"), "{e}");
}

#[test]
fn the_inflate_limits_are_options() {
    let trace = big_trace(3 << 20);
    let gz = gzip(&trace);
    let tight = ImportOptions { max_inflated_bytes: 1 << 20, ..ImportOptions::default() };
    let e = import_bytes_with("t.json.gz", &gz, &Job::new(), &tight).unwrap_err().to_string();
    assert!(e.contains("inflates to more than 1 MiB"), "{e}");
    let roomy = ImportOptions { max_inflated_bytes: 8 << 20, ..ImportOptions::default() };
    import_bytes_with("t.json.gz", &gz, &Job::new(), &roomy).unwrap();
    // Exactly at the limit is fine.
    let exact = ImportOptions { max_inflated_bytes: trace.len() as u64, ..ImportOptions::default() };
    import_bytes_with("t.json.gz", &gz, &Job::new(), &exact).unwrap();
}

#[test]
fn inflating_can_be_cancelled() {
    let gz = bomb(64 << 20);
    let job = std::sync::Arc::new(Job::new());
    let j2 = job.clone();
    let t = std::thread::spawn(move || import_bytes("b.json.gz", &gz, &j2).map(|_| ()));
    std::thread::sleep(Duration::from_millis(5));
    job.cancel();
    let started = Instant::now();
    let result = t.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(result, Err(ImportError::Cancelled | ImportError::TooLarge(_) | ImportError::Parse { .. }) | Ok(())), "{result:?}");
}

#[cfg(feature = "sampler")]
/// A live recording of 3 samples over 2.76 s, as `Session` writes it.
fn live_recording() -> Profile {
    let samples = r#"{"thread_index":[0,0,0],"stack":[0,0,0],"time_ns":[0,1000000000,2000000000],"weight":[1,1,1],"gil":[1,1,1],"idle":[0,0,0]}"#;
    let bytes = String::from_utf8(recording(r#"{"prefix":[-1],"frame":[0]}"#, samples))
        .unwrap()
        .replace(r#""elapsed_ns":1000"#, r#""elapsed_ns":2760000000"#);
    import_bytes("live.jsonl", bytes.as_bytes(), &Job::new()).unwrap()
}

#[test]
#[cfg(feature = "sampler")] // recordings are read only with the sampler built in
fn a_live_recording_keeps_its_unit_and_duration_through_speedscope() {
    let live = live_recording();
    assert_eq!((live.unit.as_str(), live.duration_ns), ("samples", 2.76e9));
    let bytes = export_to_vec(&live, ExportFormat::Speedscope).unwrap();
    let back = import_bytes("live.speedscope.json", &bytes, &Job::new()).unwrap();
    assert_eq!(back.unit.as_str(), "samples");
    assert_eq!(back.duration_ns, 2.76e9);
    assert_eq!(back.threads[0].samples.time, live.threads[0].samples.time);
    assert_eq!(summarize(&back, 5).total_weight, 3.0);
}
