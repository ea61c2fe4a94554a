//! The last step of every import: check that every internal reference of the profile holds, so that nothing
//! downstream (summary, call tree, exporters, the renderer) can index out of range, walk a prefix cycle for ever or
//! add up NaN. Importers build through `ProfileBuilder`, which keeps these by construction; the check is what makes
//! that true for a file that states its tables outright (a live recording) and for any importer bug.
//!
//! Also the one rule for ids that cross to JavaScript: a pid/tid is a safe integer (|x| <= 2^53 - 1). JS numbers
//! are doubles, and napi turns a larger i64 into a BigInt, which `JSON.stringify` refuses.

use crate::model::{Profile, Thread};

/// Largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
pub const MAX_SAFE_ID: i64 = (1 << 53) - 1;

/// An id as JS may see it: within ±`MAX_SAFE_ID`, clamped otherwise.
pub fn js_safe_id(id: i64) -> i64 {
    id.clamp(-MAX_SAFE_ID, MAX_SAFE_ID)
}

/// Clamps every pid/tid into the safe range; the thread's name keeps the original (so two clamped threads still
/// read apart) and `meta.clamped_ids` says that it happened.
pub fn clamp_ids(p: &mut Profile) {
    let mut clamped = 0usize;
    for t in &mut p.threads {
        let (pid, tid) = (js_safe_id(t.pid), js_safe_id(t.tid));
        if (pid, tid) != (t.pid, t.tid) {
            clamped += 1;
            if !t.name.contains(&t.pid.to_string()) && !t.name.contains(&t.tid.to_string()) {
                t.name = format!("{} (pid {} / tid {})", t.name, t.pid, t.tid);
            }
            (t.pid, t.tid) = (pid, tid);
        }
    }
    if clamped > 0 {
        p.meta.push((
            "clamped_ids".to_owned(),
            format!("{clamped} thread(s) had a pid/tid beyond ±2^53-1; shown clamped, the original is in the name"),
        ));
        p.meta.sort();
    }
}

/// The format's display name for errors (`ImportError::Parse` takes a static name).
pub fn format_name(p: &Profile) -> &'static str {
    match p.format.as_str() {
        "chrome" => "Chrome trace",
        "viztracer" => "VizTracer trace",
        "speedscope" => "speedscope",
        "cpuprofile" => "V8 .cpuprofile",
        "pprof" => "pprof",
        "pstats" => "cProfile/pstats",
        "emberscope-live" => "Emberscope recording",
        "folded" | "py-spy-raw" | "austin" => "folded stacks",
        _ => "profile",
    }
}

/// Ok when every table is consistent; otherwise says which table, row and value are wrong.
pub fn check_profile(p: &Profile) -> Result<(), String> {
    finite("startNs", p.start_ns)?;
    finite("durationNs", p.duration_ns)?;
    let strings = p.strings.len();
    let f = &p.frames;
    same_len("frame table", &[("func", f.func.len()), ("file", f.file.len()), ("line", f.line.len()), ("kind", f.kind.len())])?;
    for i in 0..f.len() {
        if f.func[i] as usize >= strings {
            return Err(format!("frame {i}: its name is string {} but there are {strings} strings", f.func[i]));
        }
        if f.file[i] < -1 || f.file[i] >= 0 && f.file[i] as usize >= strings {
            return Err(format!("frame {i}: its file is string {} but there are {strings} strings", f.file[i]));
        }
        if f.kind[i] > 5 {
            return Err(format!("frame {i}: kind {} is not a known frame kind (0-5)", f.kind[i]));
        }
    }
    let s = &p.stacks;
    same_len("stack table", &[("prefix", s.prefix.len()), ("frame", s.frame.len())])?;
    for i in 0..s.len() {
        // prefix < own index rules out every cycle: a walk from any stack strictly decreases.
        if s.prefix[i] < -1 || s.prefix[i] >= i as i32 {
            return Err(format!(
                "stack {i}: its prefix is {} but a prefix must be -1 (a root) or an earlier stack (0..{i})",
                s.prefix[i]
            ));
        }
        if s.frame[i] as usize >= f.len() {
            return Err(format!("stack {i}: its frame is {} but there are {} frames", s.frame[i], f.len()));
        }
    }
    for t in &p.threads {
        check_thread(p, t).map_err(|m| format!("thread \"{}\": {m}", t.name))?;
    }
    if let Some(g) = &p.call_graph {
        let fs = &g.functions;
        same_len(
            "call graph functions",
            &[
                ("frame", fs.frame.len()),
                ("primitiveCalls", fs.primitive_calls.len()),
                ("totalCalls", fs.total_calls.len()),
                ("self", fs.self_.len()),
                ("total", fs.total.len()),
            ],
        )?;
        let e = &g.edges;
        same_len(
            "call graph edges",
            &[
                ("caller", e.caller.len()),
                ("callee", e.callee.len()),
                ("calls", e.calls.len()),
                ("self", e.self_.len()),
                ("total", e.total.len()),
            ],
        )?;
        for (what, col) in [("function", &fs.frame), ("edge caller", &e.caller), ("edge callee", &e.callee)] {
            if let Some((i, x)) = col.iter().enumerate().find(|(_, x)| **x as usize >= f.len()) {
                return Err(format!("call graph {what} {i}: frame {x} but there are {} frames", f.len()));
            }
        }
        for (what, col) in [
            ("function primitiveCalls", &fs.primitive_calls),
            ("function totalCalls", &fs.total_calls),
            ("function self", &fs.self_),
            ("function total", &fs.total),
            ("edge calls", &e.calls),
            ("edge self", &e.self_),
            ("edge total", &e.total),
        ] {
            all_finite(&format!("call graph {what}"), col)?;
        }
    }
    Ok(())
}

fn check_thread(p: &Profile, t: &Thread) -> Result<(), String> {
    let stacks = p.stacks.len();
    let sm = &t.samples;
    same_len("samples", &[("stack", sm.stack.len()), ("time", sm.time.len()), ("weight", sm.weight.len())])?;
    if let Some((i, s)) = sm.stack.iter().enumerate().find(|(_, s)| **s < -1 || **s >= stacks as i32) {
        return Err(format!("sample {i}: stack {s} but there are {stacks} stacks (-1 = empty)"));
    }
    all_finite("sample time", &sm.time)?;
    all_finite("sample weight", &sm.weight)?;
    let sp = &t.spans;
    same_len(
        "spans",
        &[
            ("stack", sp.stack.len()),
            ("frame", sp.frame.len()),
            ("start", sp.start.len()),
            ("end", sp.end.len()),
            ("depth", sp.depth.len()),
        ],
    )?;
    if let Some((i, s)) = sp.stack.iter().enumerate().find(|(_, s)| **s as usize >= stacks) {
        return Err(format!("span {i}: stack {s} but there are {stacks} stacks"));
    }
    if let Some((i, f)) = sp.frame.iter().enumerate().find(|(_, f)| **f as usize >= p.frames.len()) {
        return Err(format!("span {i}: frame {f} but there are {} frames", p.frames.len()));
    }
    all_finite("span start", &sp.start)?;
    all_finite("span end", &sp.end)?;
    Ok(())
}

fn same_len(table: &str, columns: &[(&str, usize)]) -> Result<(), String> {
    let first = columns[0].1;
    if columns.iter().all(|&(_, n)| n == first) {
        return Ok(());
    }
    let shown: Vec<String> = columns.iter().map(|(c, n)| format!("{c} {n}")).collect();
    Err(format!("the {table} columns differ in length ({})", shown.join(", ")))
}

fn finite(what: &str, x: f64) -> Result<(), String> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(format!("{what} is {x}, not a finite number: the file holds times too large to add up (is it corrupt?)"))
    }
}

fn all_finite(what: &str, col: &[f64]) -> Result<(), String> {
    match col.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) => Err(format!("{what} {i} is {}, not a finite number (a value too large for a double?)", col[i])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ProfileBuilder, SampledThreadBuilder, WeightUnit};

    fn one_sample() -> Profile {
        let mut b = ProfileBuilder::new();
        let f = b.frame("f", Some("a.py"), 1);
        let s = b.stack_of(&[f, f]);
        let mut t = SampledThreadBuilder::new("main", 1, 1);
        t.append(s, 0.0, 1.0);
        b.finish("folded", "", WeightUnit::Samples, vec![t.finish()])
    }

    #[test]
    fn accepts_what_the_builder_makes() {
        check_profile(&one_sample()).unwrap();
    }

    #[test]
    fn names_each_broken_reference() {
        let mut p = one_sample();
        p.stacks.prefix[0] = 0;
        assert!(check_profile(&p).unwrap_err().contains("stack 0: its prefix is 0"));
        let mut p = one_sample();
        p.stacks.prefix[0] = 1; // a two-stack cycle: 0 -> 1 -> 0
        assert!(check_profile(&p).unwrap_err().contains("an earlier stack"));
        let mut p = one_sample();
        p.threads[0].samples.weight.push(1.0);
        assert!(check_profile(&p).unwrap_err().contains("samples columns differ in length (stack 1, time 1, weight 2)"));
        let mut p = one_sample();
        p.threads[0].samples.stack[0] = 7;
        assert!(check_profile(&p).unwrap_err().contains("sample 0: stack 7"));
        let mut p = one_sample();
        p.stacks.frame[1] = 9;
        assert!(check_profile(&p).unwrap_err().contains("stack 1: its frame is 9"));
        let mut p = one_sample();
        p.threads[0].samples.time[0] = f64::INFINITY;
        assert!(check_profile(&p).unwrap_err().contains("sample time 0 is inf"));
        let mut p = one_sample();
        p.frames.func[0] = 99;
        assert!(check_profile(&p).unwrap_err().contains("frame 0: its name is string 99"));
    }

    #[test]
    fn clamps_ids_beyond_the_safe_range_and_keeps_the_original_in_the_name() {
        let mut p = one_sample();
        p.threads[0].pid = 1 << 60;
        clamp_ids(&mut p);
        assert_eq!(p.threads[0].pid, MAX_SAFE_ID);
        assert!(p.threads[0].name.contains(&(1i64 << 60).to_string()));
        assert!(p.meta.iter().any(|(k, _)| k == "clamped_ids"));
        assert_eq!(js_safe_id(i64::MIN), -MAX_SAFE_ID);
    }
}
