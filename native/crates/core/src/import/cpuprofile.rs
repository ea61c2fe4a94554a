//! V8 `.cpuprofile` (node --cpu-prof, Chrome DevTools "Save profile"): a node tree with call frames, the node id
//! of each sample and the µs between samples. Also the pre-2017 layout (nested `head`, absolute `timestamps`).
//! Weight of a sample = time until the next one, so totals are wall time in µs.

use serde::Deserialize;

use crate::import::json_util::{self, json_error, FxMap, LaxStr, Num};
use crate::import::{ImportError, Input, Location};
use crate::job::Job;
use crate::model::{Profile, ProfileBuilder, SampledThreadBuilder, WeightUnit, definition_lines_meta};

const FORMAT: &str = "cpuprofile";

pub fn detect(head: &[u8]) -> bool {
    let h = json_util::trim_head(head);
    if h.first() != Some(&b'{') {
        return false;
    }
    // The first member decides when it can: V8 writes "nodes" (or "head" in the old layout) first.
    let rest = &h[json_util::skip_ws(h, 1)..];
    if rest.starts_with(b"\"nodes\"") || rest.starts_with(b"\"head\"") {
        return true;
    }
    // Otherwise look for the members, but a trace file that embeds CPU profiles in its events is not one.
    json_util::contains(h, b"\"nodes\"")
        && (json_util::contains(h, b"\"samples\"") || json_util::contains(h, b"\"startTime\""))
        && json_util::contains(h, b"\"callFrame\"")
        && !json_util::contains(h, b"\"traceEvents\"")
}

#[derive(Deserialize)]
struct CpuProfileJson<'a> {
    #[serde(borrow, default)]
    nodes: Option<Vec<NodeJson<'a>>>,
    #[serde(borrow, default)]
    head: Option<OldNodeJson<'a>>,
    #[serde(rename = "startTime", default)]
    start_time: Option<Num>,
    #[serde(rename = "endTime", default)]
    end_time: Option<Num>,
    #[serde(default)]
    samples: Vec<i64>,
    #[serde(rename = "timeDeltas", default)]
    time_deltas: Vec<f64>,
    #[serde(default)]
    timestamps: Vec<f64>,
}

#[derive(Deserialize)]
struct NodeJson<'a> {
    id: i64,
    #[serde(rename = "callFrame", borrow)]
    call_frame: CallFrameJson<'a>,
    #[serde(default)]
    children: Vec<i64>,
    #[serde(default)]
    parent: Option<i64>,
}

#[derive(Deserialize)]
struct CallFrameJson<'a> {
    #[serde(rename = "functionName", borrow, default)]
    function_name: LaxStr<'a>,
    #[serde(borrow, default)]
    url: LaxStr<'a>,
    /// 0-based; -1 when unknown.
    #[serde(rename = "lineNumber", default)]
    line_number: Option<Num>,
}

/// Old layout: the call frame's fields sit on the node, children nest.
#[derive(Deserialize)]
struct OldNodeJson<'a> {
    id: i64,
    #[serde(rename = "functionName", borrow, default)]
    function_name: LaxStr<'a>,
    #[serde(borrow, default)]
    url: LaxStr<'a>,
    #[serde(rename = "lineNumber", default)]
    line_number: Option<Num>,
    #[serde(borrow, default)]
    children: Vec<OldNodeJson<'a>>,
}

/// A node flattened: its frame and its parent's id.
struct Node<'a> {
    func: &'a str,
    url: &'a str,
    line0: Option<f64>,
    parent: Option<i64>,
}

pub fn import(input: &Input, job: &Job) -> Result<Profile, ImportError> {
    let bytes = input.bytes;
    let raw: CpuProfileJson = serde_json::from_slice(bytes)
        .map_err(|e| json_error(FORMAT, bytes, 0, &e, "the .cpuprofile"))?;
    job.set_done(bytes.len() as u64 / 2);

    let mut nodes: FxMap<i64, Node> = FxMap::default();
    let mut parents: FxMap<i64, i64> = FxMap::default();
    if let Some(list) = &raw.nodes {
        for n in list {
            for &c in &n.children {
                parents.insert(c, n.id);
            }
            let cf = &n.call_frame;
            nodes.insert(
                n.id,
                Node {
                    func: cf.function_name.0.as_deref().unwrap_or(""),
                    url: cf.url.0.as_deref().unwrap_or(""),
                    line0: cf.line_number.and_then(Num::finite),
                    parent: n.parent,
                },
            );
        }
    } else if let Some(head) = &raw.head {
        // Iterative walk: the tree can be deeper than we want to recurse.
        let mut todo = vec![(head, None)];
        while let Some((n, parent)) = todo.pop() {
            nodes.insert(
                n.id,
                Node {
                    func: n.function_name.0.as_deref().unwrap_or(""),
                    url: n.url.0.as_deref().unwrap_or(""),
                    line0: n.line_number.and_then(Num::finite),
                    parent,
                },
            );
            todo.extend(n.children.iter().map(|c| (c, Some(n.id))));
        }
    } else {
        return Err(ImportError::parse(
            FORMAT,
            "the profile has neither \"nodes\" nor \"head\"",
            Location::Unknown,
        ));
    }
    for (id, node) in nodes.iter_mut() {
        if node.parent.is_none() {
            node.parent = parents.get(id).copied();
        }
    }

    // Sample times in µs: start + running sum of deltas (new layout) or absolute timestamps (old layout).
    let mut times: Vec<f64> = Vec::with_capacity(raw.samples.len());
    if !raw.time_deltas.is_empty() {
        let mut t = raw.start_time.and_then(Num::finite).unwrap_or(0.0);
        for d in raw.time_deltas.iter().take(raw.samples.len()) {
            t += d;
            times.push(t);
        }
    } else {
        times.extend(raw.timestamps.iter().take(raw.samples.len()));
    }
    let count = times.len();
    if count == 0 {
        return Err(ImportError::parse(
            FORMAT,
            "the profile has no samples with times",
            Location::Unknown,
        ));
    }
    let mut order: Vec<usize> = (0..count).collect();
    // V8 sometimes records a sample slightly out of order (negative delta); time must be non-decreasing.
    if times.windows(2).any(|w| w[1] < w[0]) {
        order.sort_by(|&a, &b| times[a].total_cmp(&times[b]));
    }
    let start_us = times[order[0]].min(
        raw.start_time
            .and_then(Num::finite)
            .filter(|_| raw.nodes.is_some())
            .unwrap_or(f64::INFINITY),
    );
    let end_us = match raw.end_time.and_then(Num::finite) {
        Some(e) if raw.nodes.is_some() => e,
        _ => times[order[count - 1]],
    };

    let mut b = ProfileBuilder::new();
    let mut memo: FxMap<i64, i32> = FxMap::default();
    let mut t = SampledThreadBuilder::new("main", 0, 0);
    for (k, &i) in order.iter().enumerate() {
        if k % 65536 == 65535 {
            job.check()?;
        }
        let stack = stack_for(&mut b, &nodes, &mut memo, raw.samples[i]);
        let next = order.get(k + 1).map_or(end_us, |&j| times[j]);
        t.append(
            stack,
            (times[i] - start_us) * 1e3,
            (next - times[i]).max(0.0),
        );
    }
    let mut profile = b.finish(
        FORMAT,
        input.name,
        WeightUnit::Microseconds,
        vec![t.finish()],
    );
    profile.start_ns = start_us * 1e3;
    // A call frame's line is where its function starts.
    profile.meta = vec![
        definition_lines_meta(),
        ("tool".to_owned(), "v8".to_owned()),
    ];
    Ok(profile)
}

/// The stack of node `id`, root first, without V8's synthetic "(root)" node.
fn stack_for(
    b: &mut ProfileBuilder,
    nodes: &FxMap<i64, Node>,
    memo: &mut FxMap<i64, i32>,
    id: i64,
) -> i32 {
    if let Some(&s) = memo.get(&id) {
        return s;
    }
    let mut chain = Vec::new();
    let mut cur = Some(id);
    let mut base = -1;
    while let Some(n) = cur {
        if let Some(&s) = memo.get(&n) {
            base = s;
            break;
        }
        let Some(node) = nodes.get(&n) else { break };
        // A cycle in a corrupt file would loop forever; no real tree is deeper than its node count.
        if chain.len() > nodes.len() {
            break;
        }
        chain.push(n);
        cur = node.parent;
    }
    let mut s = base;
    for &n in chain.iter().rev() {
        let node = &nodes[&n];
        if node.func == "(root)" && node.parent.is_none() {
            memo.insert(n, -1);
            continue;
        }
        let func = if node.func.is_empty() {
            "(anonymous)"
        } else {
            node.func
        };
        let url = (!node.url.is_empty()).then_some(node.url);
        let line = node
            .line0
            .filter(|l| *l >= 0.0 && *l < (u32::MAX - 1) as f64)
            .map_or(0, |l| l as u32 + 1);
        let frame = b.frame(func, url, line);
        s = b.stack(s, frame) as i32;
        memo.insert(n, s);
    }
    s
}
