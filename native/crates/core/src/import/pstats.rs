//! cProfile/pstats files: the `marshal`-encoded dict that `cProfile.Profile.dump_stats` writes.
//! `{(file, line, func): (cc, nc, tt, ct, {caller_key: (nc, cc, tt, ct)})}` — cc primitive calls, nc all calls,
//! tt time in the function itself, ct cumulative time, in seconds. (The caller tuples put nc first: see
//! `cProfile.Profile.snapshot_stats`.)
//!
//! The exact figures go to `Profile::call_graph`. cProfile keeps no stacks, so for the flame graph we also
//! synthesize one sampled thread that approximates the call tree (see `synthesize_tree`).

use crate::import::marshal::{MarshalError, MarshalReader, Value};
use crate::import::{ImportError, Input, Location};
use crate::job::Job;
use crate::model::{
    CallGraph, FrameIndex, FrameKind, Profile, ProfileBuilder, SampledThreadBuilder, Thread, WeightUnit,
    definition_lines_meta,
};

const FORMAT: &str = "pstats";
/// Deeper call paths are cut: their time stays in the deepest node we keep.
const MAX_TREE_DEPTH: usize = 128;
/// A DAG-shaped call graph has exponentially many paths; stop expanding after this many tree nodes.
const MAX_TREE_NODES: usize = 200_000;

/// `{` or `{` with FLAG_REF, then a tuple key (`(`, `)`, with or without FLAG_REF).
pub fn detect(head: &[u8]) -> bool {
    matches!(head, [0x7B | 0xFB, 0x28 | 0x29 | 0xA8 | 0xA9, ..])
}

struct Function {
    frame: FrameIndex,
    cc: f64,
    nc: f64,
    tt: f64,
    ct: f64,
}

struct Edge {
    caller: usize,
    callee: usize,
    nc: f64,
    tt: f64,
    ct: f64,
}

fn marshal_error(e: MarshalError) -> ImportError {
    ImportError::parse(FORMAT, e.message, Location::Byte(e.offset))
}

/// `(file, line, func)` → a frame. cProfile files built-ins under the file `~`.
fn key_frame(b: &mut ProfileBuilder, key: &Value) -> Option<FrameIndex> {
    let t = key.as_tuple()?;
    let [file, line, func] = t else { return None };
    let (file, func) = (file.as_str()?, func.as_str()?);
    let line = line.as_f64()?.clamp(0.0, u32::MAX as f64) as u32;
    Some(if file == "~" {
        b.frame_with_kind(func, None, line, FrameKind::Native)
    } else {
        b.frame(func, Some(file), line)
    })
}

pub fn import(input: &Input, job: &Job) -> Result<Profile, ImportError> {
    let mut b = ProfileBuilder::new();
    let mut r = MarshalReader::new(input.bytes);
    r.begin_dict().map_err(marshal_error)?;
    let mut functions: Vec<Function> = Vec::new();
    let mut index_of_frame: std::collections::HashMap<FrameIndex, usize> = Default::default();
    // Callers are keyed by frame; resolved to function rows once every function is known.
    let mut raw_edges: Vec<(FrameIndex, usize, f64, f64, f64)> = Vec::new();
    while !r.at_dict_end().map_err(marshal_error)? {
        let at = r.position();
        if functions.len().is_multiple_of(2048) {
            job.set_done(at as u64);
            job.check()?;
        }
        let key = r.read_value().map_err(marshal_error)?;
        let value = r.read_value().map_err(marshal_error)?;
        let entry = functions.len() + 1;
        let bad = |what: &str| ImportError::parse(FORMAT, format!("entry {entry} {what}"), Location::Byte(at as u64));
        let frame = key_frame(&mut b, &key).ok_or_else(|| bad("has a key that is not (file, line, function)"))?;
        let v = value.as_tuple().filter(|v| v.len() >= 5).ok_or_else(|| bad("is not (cc, nc, tt, ct, callers)"))?;
        let nums: Option<Vec<f64>> = v[..4].iter().map(Value::as_f64).collect();
        let nums = nums.ok_or_else(|| bad("has a non-numeric count or time"))?;
        let row = functions.len();
        if index_of_frame.insert(frame, row).is_some() {
            return Err(bad("repeats a function already listed"));
        }
        functions.push(Function { frame, cc: nums[0], nc: nums[1], tt: nums[2], ct: nums[3] });
        let callers = v[4].as_dict().ok_or_else(|| bad("has callers that are not a dict"))?;
        for (ck, cv) in callers {
            let caller = key_frame(&mut b, ck).ok_or_else(|| bad("has a caller key that is not (file, line, function)"))?;
            // Python 2-era files stored a bare call count per caller.
            let (nc, tt, ct) = match cv {
                Value::Tuple(t) if t.len() >= 4 => {
                    (t[0].as_f64().unwrap_or(0.0), t[2].as_f64().unwrap_or(0.0), t[3].as_f64().unwrap_or(0.0))
                }
                other => (other.as_f64().ok_or_else(|| bad("has a caller entry that is not a tuple"))?, 0.0, 0.0),
            };
            raw_edges.push((caller, row, nc, tt, ct));
        }
    }
    if r.position() != input.bytes.len() {
        return Err(ImportError::parse(
            FORMAT,
            format!("{} unexpected bytes after the stats dict", input.bytes.len() - r.position()),
            Location::Byte(r.position() as u64),
        ));
    }
    if functions.is_empty() {
        return Err(ImportError::parse(FORMAT, "the stats dict is empty: nothing was profiled", Location::Byte(0)));
    }
    let edges: Vec<Edge> = raw_edges
        .into_iter()
        .filter_map(|(caller_frame, callee, nc, tt, ct)| {
            // A caller that has no entry of its own (pstats never writes one, but be lenient) is dropped.
            let caller = *index_of_frame.get(&caller_frame)?;
            Some(Edge { caller, callee, nc, tt, ct })
        })
        .collect();

    let thread = synthesize_tree(&mut b, &functions, &edges);
    let mut graph = CallGraph::default();
    for f in &functions {
        let g = &mut graph.functions;
        g.frame.push(f.frame);
        g.primitive_calls.push(f.cc);
        g.total_calls.push(f.nc);
        g.self_.push(f.tt);
        g.total.push(f.ct);
    }
    for e in &edges {
        let g = &mut graph.edges;
        g.caller.push(functions[e.caller].frame);
        g.callee.push(functions[e.callee].frame);
        g.calls.push(e.nc);
        g.self_.push(e.tt);
        g.total.push(e.ct);
    }
    let mut p = b.finish(FORMAT, "", WeightUnit::Seconds, vec![thread]);
    p.has_timeline = false;
    p.call_graph = Some(graph);
    p.meta = vec![
        // pstats keys functions by (file, line, name), the line being where the function starts.
        definition_lines_meta(),
        ("functions".to_owned(), functions.len().to_string()),
        ("no_timeline".to_owned(), "no timeline: cProfile records totals, not time order".to_owned()),
        ("synthesized_stacks".to_owned(), "true".to_owned()),
    ];
    Ok(p)
}

/// Builds one sampled thread whose stacks approximate the call tree. Roots are functions nobody calls; a callee's
/// occurrence under a caller gets the caller occurrence's share of the caller's cumulative time applied to the
/// edge's cumulative time. Recursive edges are cut (cycle guard), so the tree is finite. Each function's exact
/// self time (tt) is then spread over its occurrences in proportion to their inclusive time, so the flame graph's
/// per-function self times equal cProfile's exactly; totals are approximate.
fn synthesize_tree(b: &mut ProfileBuilder, functions: &[Function], edges: &[Edge]) -> Thread {
    let n = functions.len();
    let mut children: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    let mut called = vec![false; n];
    for e in edges {
        children[e.caller].push((e.callee, e.ct));
        if e.caller != e.callee {
            called[e.callee] = true;
        }
    }
    // Heaviest callees first, so the flame graph reads left to right like a sorted call tree.
    for c in &mut children {
        c.sort_by(|a, b| b.1.total_cmp(&a.1));
    }
    let mut roots: Vec<usize> = (0..n).filter(|&i| !called[i]).collect();
    if roots.is_empty() {
        roots.extend((0..n).max_by(|&a, &b| functions[a].ct.total_cmp(&functions[b].ct)));
    }
    roots.sort_by(|&a, &b| functions[b].ct.total_cmp(&functions[a].ct));

    let mut tree = TreeWalk { functions, children: &children, on_path: vec![false; n], nodes: Vec::new() };
    for &root in &roots {
        tree.visit(b, root, -1, functions[root].ct, 0);
    }
    let mut nodes = tree.nodes;
    let mut inclusive_sum = vec![0.0f64; n];
    let mut occurrences = vec![0usize; n];
    for &(_, f, t) in &nodes {
        inclusive_sum[f] += t;
        occurrences[f] += 1;
    }
    // Functions the walk never reached (only called from cut cycles, or only through zero-time edges) still have
    // self time: give them a root of their own so no time goes missing.
    for (f, func) in functions.iter().enumerate() {
        if occurrences[f] == 0 && func.tt > 0.0 {
            let stack = b.stack(-1, func.frame) as i32;
            nodes.push((stack, f, func.tt));
            inclusive_sum[f] += func.tt;
            occurrences[f] += 1;
        }
    }
    let mut thread = SampledThreadBuilder::new("cProfile (synthesized call tree)", 0, 0);
    let mut clock = 0.0;
    for &(stack, f, t) in &nodes {
        let share = if inclusive_sum[f] > 0.0 { t / inclusive_sum[f] } else { 1.0 / occurrences[f] as f64 };
        let weight = functions[f].tt * share;
        if weight > 0.0 {
            thread.append(stack, clock, weight);
            clock += weight * 1e9;
        }
    }
    thread.finish()
}

struct TreeWalk<'a> {
    functions: &'a [Function],
    children: &'a [Vec<(usize, f64)>],
    on_path: Vec<bool>,
    /// (stack, function row, inclusive time of this occurrence), in depth-first order.
    nodes: Vec<(i32, usize, f64)>,
}

impl TreeWalk<'_> {
    fn visit(&mut self, b: &mut ProfileBuilder, f: usize, prefix: i32, inclusive: f64, depth: usize) {
        let stack = b.stack(prefix, self.functions[f].frame) as i32;
        self.nodes.push((stack, f, inclusive));
        if depth >= MAX_TREE_DEPTH || self.nodes.len() >= MAX_TREE_NODES {
            return;
        }
        let ct = self.functions[f].ct;
        let share = if ct > 0.0 { (inclusive / ct).min(1.0) } else { 0.0 };
        self.on_path[f] = true;
        for &(g, edge_ct) in &self.children[f] {
            let t = edge_ct * share;
            // Zero-time subtrees add nothing to a flame graph but can be exponentially many.
            if self.on_path[g] || t <= 0.0 {
                continue;
            }
            self.visit(b, g, stack, t, depth + 1);
        }
        self.on_path[f] = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_only_marshal_dicts_of_tuples() {
        assert!(detect(&[0xFB, 0x29, 0x03]));
        assert!(detect(b"{(\x03"));
        assert!(!detect(b"{\"traceEvents\": []}"));
        assert!(!detect(b"{"));
    }

    #[test]
    fn truncated_file_reports_byte_offset() {
        let bytes = [0xFB, 0x29, 0x03, 0xFA, 0x20, 0x00, 0x00, 0x00, b'/', b'a'];
        let e = import(&Input { bytes: &bytes, name: "x.pstats", ext: "pstats" }, &Job::new()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("pstats") && msg.contains("at byte 4"), "{msg}");
    }
}
