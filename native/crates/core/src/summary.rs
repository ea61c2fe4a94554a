//! The numbers `emberscope open --json` prints and the app shows in its header: `ProfileSummary` in
//! `electron/contract/profile.ts`, whose doc comment is the spec this file implements to the letter.

use std::collections::HashMap;

use serde::Serialize;

use crate::import::validate::js_safe_id;
use crate::model::{Profile, StringIndex, Thread};

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub format: String,
    pub unit: String,
    pub threads: Vec<ThreadSummary>,
    pub duration_ns: f64,
    pub total_weight: f64,
    pub top: Vec<FunctionSummary>,
    /// What the file says went wrong while it was recorded (the profile's `warning.*` meta); omitted when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ThreadSummary {
    pub name: String,
    /// Safe integers (|x| <= 2^53 - 1): a larger i64 would reach JS as a BigInt, which JSON cannot carry.
    pub pid: i64,
    pub tid: i64,
    /// Samples the profiler took on the thread (`Thread::sample_count`), not rows: a folded line counts its weight.
    pub samples: u64,
    pub spans: usize,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct FunctionSummary {
    pub name: String,
    /// "" when the file is unknown.
    pub file: String,
    /// The definition line where the format has one (`Profile::lines_are_definitions`), else 0: a sampler's frames
    /// carry the line running at the time, and the lowest of those is not where the function is (the app finds the
    /// `def` line in the source when it can read it).
    pub line: u32,
    #[serde(rename = "self")]
    pub self_: f64,
    pub total: f64,
}

/// Functions are identified by (name, file): py-spy and Austin put the current line in each frame, so one
/// function has many frames. Where every frame's line is a definition line, by (name, file, line), as pstats keys
/// them: two `<genexpr>`s of one file are two functions. Maps every frame to its function row.
struct Functions {
    of_frame: Vec<usize>,
    /// (name, file, definition line or 0): the line is the one `FunctionSummary::line` reports.
    keys: Vec<(StringIndex, i32, u32)>,
    self_: Vec<f64>,
    total: Vec<f64>,
}

impl Functions {
    fn new(p: &Profile) -> Self {
        let mut index: HashMap<(StringIndex, i32, u32), usize> = HashMap::new();
        let mut f = Functions { of_frame: Vec::new(), keys: Vec::new(), self_: Vec::new(), total: Vec::new() };
        let by_line = p.lines_are_definitions();
        let lines = if by_line { definition_lines(p) } else { Vec::new() };
        for i in 0..p.frames.len() {
            let key = (p.frames.func[i], p.frames.file[i], if by_line { lines[i] } else { 0 });
            let row = *index.entry(key).or_insert_with(|| {
                f.keys.push(key);
                f.keys.len() - 1
            });
            f.of_frame.push(row);
        }
        f.self_ = vec![0.0; f.keys.len()];
        f.total = vec![0.0; f.keys.len()];
        f
    }
}

/// Per frame, the definition line its function is keyed by: its own line, or, when that is unknown (V8 writes -1
/// for some frames of a function whose other frames have its line), the one line known for that (name, file);
/// 0 when none or several are known. The renderer's `computeFuncTable` does the same.
fn definition_lines(p: &Profile) -> Vec<u32> {
    // (name, file) -> its one known line, or u32::MAX when it has several.
    let mut known: HashMap<(StringIndex, i32), u32> = HashMap::new();
    for i in 0..p.frames.len() {
        let line = p.frames.line[i];
        if line > 0 {
            let e = known.entry((p.frames.func[i], p.frames.file[i])).or_insert(line);
            if *e != line {
                *e = u32::MAX;
            }
        }
    }
    (0..p.frames.len())
        .map(|i| match p.frames.line[i] {
            0 => known.get(&(p.frames.func[i], p.frames.file[i])).copied().filter(|&l| l != u32::MAX).unwrap_or(0),
            line => line,
        })
        .collect()
}

pub fn summarize(p: &Profile, top_n: usize) -> Summary {
    let mut funcs = Functions::new(p);
    let mut total_weight = 0.0;
    let ns_per = p.unit.ns_per_unit().unwrap_or(1.0);
    for t in &p.threads {
        total_weight += add_samples(p, t, &mut funcs);
        total_weight += add_spans(t, &mut funcs, ns_per);
    }
    if let Some(graph) = &p.call_graph {
        // pstats: cProfile's exact figures replace whatever the synthesized stacks would give.
        funcs.self_.iter_mut().for_each(|x| *x = 0.0);
        funcs.total.iter_mut().for_each(|x| *x = 0.0);
        for i in 0..graph.functions.frame.len() {
            let row = funcs.of_frame[graph.functions.frame[i] as usize];
            funcs.self_[row] += graph.functions.self_[i];
            funcs.total[row] += graph.functions.total[i];
        }
    }
    let name_of = |row: usize| p.strings[funcs.keys[row].0 as usize].as_str();
    let file_of = |row: usize| {
        let f = funcs.keys[row].1;
        if f >= 0 { p.strings[f as usize].as_str() } else { "" }
    };
    let mut rows: Vec<usize> = (0..funcs.keys.len()).filter(|&r| funcs.self_[r] != 0.0 || funcs.total[r] != 0.0).collect();
    rows.sort_by(|&a, &b| {
        funcs.self_[b]
            .total_cmp(&funcs.self_[a])
            .then_with(|| name_of(a).cmp(name_of(b)))
            .then_with(|| file_of(a).cmp(file_of(b)))
            .then_with(|| funcs.keys[a].2.cmp(&funcs.keys[b].2))
    });
    rows.truncate(top_n);
    Summary {
        format: p.format.clone(),
        unit: p.unit.as_str().to_owned(),
        threads: p
            .threads
            .iter()
            .map(|t| ThreadSummary {
                name: t.name.clone(),
                pid: js_safe_id(t.pid),
                tid: js_safe_id(t.tid),
                samples: t.sample_count(p.unit),
                spans: t.spans.len(),
            })
            .collect(),
        duration_ns: p.duration_ns,
        total_weight,
        top: rows
            .into_iter()
            .map(|r| FunctionSummary {
                name: name_of(r).to_owned(),
                file: file_of(r).to_owned(),
                line: funcs.keys[r].2,
                self_: funcs.self_[r],
                total: funcs.total[r],
            })
            .collect(),
        warnings: p.warnings(),
    }
}

/// Self = weight of samples whose leaf is the function; total = weight of samples with the function anywhere on
/// the stack, once per sample. Returns the thread's summed weight.
fn add_samples(p: &Profile, t: &Thread, funcs: &mut Functions) -> f64 {
    // Sum weights per stack first: stacks repeat far more often than they differ. A Vec (not a map) keeps the
    // float additions in a fixed order, so summaries are reproducible.
    let mut per_stack = vec![0.0f64; p.stacks.len()];
    let mut sum = 0.0;
    for (&s, &w) in t.samples.stack.iter().zip(&t.samples.weight) {
        sum += w;
        if s >= 0 {
            per_stack[s as usize] += w;
        }
    }
    // `seen[row] == stack` means the row was already counted for this stack (recursion).
    let mut seen = vec![usize::MAX; funcs.keys.len()];
    for (stack, &w) in per_stack.iter().enumerate() {
        if w == 0.0 {
            continue;
        }
        let leaf = funcs.of_frame[p.stacks.frame[stack] as usize];
        funcs.self_[leaf] += w;
        let mut s = stack as i32;
        // Bounded by the stack count: import checks that every prefix is an earlier stack, and even a profile that
        // skipped that check cannot loop here for ever.
        for _ in 0..p.stacks.len() {
            if s < 0 {
                break;
            }
            let row = funcs.of_frame[p.stacks.frame[s as usize] as usize];
            if seen[row] != stack {
                seen[row] = stack;
                funcs.total[row] += w;
            }
            s = p.stacks.prefix[s as usize];
        }
    }
    sum
}

/// Self = duration minus direct children's durations; total = duration of spans with no ancestor span of the same
/// function. Returns the summed duration of root spans, in the profile's unit.
fn add_spans(t: &Thread, funcs: &mut Functions, ns_per: f64) -> f64 {
    let spans = &t.spans;
    let mut open: Vec<(usize, usize)> = Vec::new(); // (span row, function row)
    let mut active = vec![0u32; funcs.keys.len()];
    let mut roots = 0.0;
    for i in 0..spans.len() {
        let depth = spans.depth[i] as usize;
        while open.len() > depth {
            let (_, row) = open.pop().unwrap_or_default();
            active[row] -= 1;
        }
        let row = funcs.of_frame[spans.frame[i] as usize];
        let dur = (spans.end[i] - spans.start[i]).max(0.0) / ns_per;
        funcs.self_[row] += dur;
        match open.last() {
            Some(&(_, parent_row)) if open.len() == depth => funcs.self_[parent_row] -= dur,
            None => roots += dur,
            _ => {}
        }
        if active[row] == 0 {
            funcs.total[row] += dur;
        }
        active[row] += 1;
        open.push((i, row));
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventedThreadBuilder, ProfileBuilder, SampledThreadBuilder, WeightUnit};

    #[test]
    fn counts_recursion_once_and_merges_lines() {
        let mut b = ProfileBuilder::new();
        let (a1, a2, c) = (b.frame("a", Some("x.py"), 7), b.frame("a", Some("x.py"), 3), b.frame("c", None, 0));
        let s1 = b.stack_of(&[a1, a2, c]);
        let s2 = b.stack_of(&[a1]);
        let mut t = SampledThreadBuilder::new("t", 1, 2);
        t.append(s1, 0.0, 2.0);
        t.append(s2, 2.0, 3.0);
        let p = b.finish("folded", "", WeightUnit::Samples, vec![t.finish()]);
        let s = summarize(&p, 50);
        assert_eq!(s.total_weight, 5.0);
        // Sampled lines are not a location: no line, where the format does not give definition lines.
        assert_eq!((s.top[0].name.as_str(), s.top[0].line, s.top[0].self_, s.top[0].total), ("a", 0, 3.0, 5.0));
        assert_eq!((s.top[1].name.as_str(), s.top[1].self_, s.top[1].total), ("c", 2.0, 2.0));
    }

    #[test]
    fn span_self_subtracts_direct_children_and_total_skips_recursion() {
        let mut b = ProfileBuilder::new();
        let (f, g) = (b.frame("f", None, 0), b.frame("g", None, 0));
        let mut t = EventedThreadBuilder::new("main", 1, 1);
        t.enter(&mut b, f, 0.0);
        t.enter(&mut b, f, 1000.0);
        t.enter(&mut b, g, 2000.0);
        t.leave(3000.0);
        t.leave(4000.0);
        t.leave(10000.0);
        let p = b.finish("chrome", "", WeightUnit::Microseconds, vec![t.finish(10000.0)]);
        let s = summarize(&p, 50);
        assert_eq!(s.total_weight, 10.0);
        let f = s.top.iter().find(|x| x.name == "f").unwrap();
        assert_eq!((f.self_, f.total), (9.0, 10.0));
        let g = s.top.iter().find(|x| x.name == "g").unwrap();
        assert_eq!((g.self_, g.total), (1.0, 1.0));
    }
}

#[cfg(test)]
mod json_tests {
    use super::*;
    use crate::model::{ProfileBuilder, SampledThreadBuilder, WeightUnit};

    #[test]
    fn serializes_with_profile_ts_names() {
        let mut b = ProfileBuilder::new();
        let f = b.frame("f", Some("a.py"), 2);
        let s = b.stack_of(&[f]);
        let mut t = SampledThreadBuilder::new("main", 1, 2);
        t.append(s, 0.0, 4.0);
        let p = b.finish("folded", "", WeightUnit::Samples, vec![t.finish()]);
        let json = serde_json::to_value(summarize(&p, 50)).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["durationNs", "format", "threads", "top", "totalWeight", "unit"]);
        assert_eq!(json["top"][0], serde_json::json!({"name": "f", "file": "a.py", "line": 0, "self": 4.0, "total": 4.0}));
        // One row of weight 4 in unit "samples" is 4 samples (a folded line with a count of 4).
        assert_eq!(json["threads"][0], serde_json::json!({"name": "main", "pid": 1, "tid": 2, "samples": 4, "spans": 0}));
    }
}
