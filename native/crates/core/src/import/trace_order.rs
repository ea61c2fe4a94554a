//! Turns one thread's B/E/X trace events into spans. The trace format allows events out of order yet makes order
//! matter at equal timestamps, so we follow speedscope's reading (its importer is what users compare us with):
//!
//! - `B` events are taken in `ts` order, ties in file order; `X` events become a begin and an end, ordered among
//!   themselves by `ts` then longer first (a longer call cannot nest inside a shorter one at the same start), and
//!   placed after the file's `B` events at equal `ts`.
//! - Ends are taken in `ts` order; at a tie, an end matching the open call (same frame, else same name) goes first.
//! - A begin and an end at the same `ts` open first only when they share a name (a zero-length call).
//! - An end that does not match the open call by name is dropped; calls still open at the end are closed at the
//!   last timestamp seen.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::model::{EventedThreadBuilder, FrameIndex, ProfileBuilder, StackTable, Thread};

#[derive(Clone, Copy, Debug)]
pub struct Begin {
    /// µs as in the file.
    pub ts: f64,
    /// µs; 0 for `B` events.
    pub dur: f64,
    pub name: u32,
    pub key: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct End {
    pub ts: f64,
    pub name: u32,
    pub key: u32,
}

#[derive(Default)]
pub struct ThreadEvents {
    pub pid: i64,
    pub tid: i64,
    /// `B` events in file order.
    pub begins: Vec<Begin>,
    /// `X` events in file order.
    pub xs: Vec<Begin>,
    /// `E` events in file order.
    pub ends: Vec<End>,
}

/// Builds every thread's spans (each with its name), as `build_thread` on each in turn would: same spans, same stacks
/// in the same order. With `workers` > 1 the threads are built on that many threads at once, each trace thread with
/// a stack table of its own; these are then interned into `b` in thread order, which creates exactly the stacks the
/// sequential build creates, in its order (a thread's new stacks appear in the order it first enters them).
pub fn build_threads(
    b: &mut ProfileBuilder,
    frames: &[FrameIndex],
    threads: Vec<(ThreadEvents, String)>,
    t0: f64,
    workers: usize,
) -> Vec<Thread> {
    let workers = workers.min(threads.len());
    if workers <= 1 {
        return threads.into_iter().map(|(te, name)| build_thread(b, frames, te, t0, &name)).collect();
    }
    // Biggest first, each worker taking the next: the longest thread does not start last.
    let mut order: Vec<usize> = (0..threads.len()).collect();
    let events = |te: &ThreadEvents| te.begins.len() + te.xs.len() + te.ends.len();
    order.sort_by_key(|&i| std::cmp::Reverse(events(&threads[i].0)));
    let inputs: Vec<Mutex<Option<(ThreadEvents, String)>>> = threads.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let outputs: Vec<Mutex<Option<(Thread, StackTable)>>> = inputs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            let Some((te, name)) = inputs[i].lock().unwrap_or_else(|p| p.into_inner()).take() else { continue };
            let mut own = ProfileBuilder::new();
            let thread = build_thread(&mut own, frames, te, t0, &name);
            *outputs[i].lock().unwrap_or_else(|p| p.into_inner()) = Some((thread, own.stacks));
        }
    };
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..workers)
            .filter_map(|_| std::thread::Builder::new().name("emberscope-build".to_owned()).spawn_scoped(s, work).ok())
            .collect();
        work();
        for h in helpers {
            if let Err(panic) = h.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    outputs
        .into_iter()
        .map(|slot| {
            let built = slot.into_inner().unwrap_or_else(|p| p.into_inner());
            let (mut thread, stacks) = built.expect("every thread was built");
            let mut global: Vec<u32> = Vec::with_capacity(stacks.len());
            for (&prefix, &frame) in stacks.prefix.iter().zip(&stacks.frame) {
                let prefix = if prefix < 0 { -1 } else { global[prefix as usize] as i32 };
                global.push(b.stack(prefix, frame));
            }
            for s in &mut thread.spans.stack {
                *s = global[*s as usize];
            }
            thread
        })
        .collect()
}

/// Builds the thread's spans; `frames[key]` is the frame of an event key, `t0` the trace's earliest `ts` (µs).
pub fn build_thread(
    b: &mut ProfileBuilder,
    frames: &[FrameIndex],
    te: ThreadEvents,
    t0: f64,
    name: &str,
) -> Thread {
    let ThreadEvents {
        pid,
        tid,
        mut begins,
        mut xs,
        mut ends,
    } = te;
    // X ends, ordered as speedscope orders them (by end, then by the X sort: start, longer first). Built from file
    // order, which for VizTracer is already end order, so this sort is nearly linear.
    let mut x_ends: Vec<(End, f64, f64)> = xs
        .iter()
        .map(|x| {
            (
                End {
                    ts: x.ts + x.dur,
                    name: x.name,
                    key: x.key,
                },
                x.ts,
                x.dur,
            )
        })
        .collect();
    let end_order = |a: &(End, f64, f64), b: &(End, f64, f64)| {
        a.0.ts
            .total_cmp(&b.0.ts)
            .then(a.1.total_cmp(&b.1))
            .then(b.2.total_cmp(&a.2))
    };
    if !x_ends.windows(2).all(|w| end_order(&w[0], &w[1]).is_le()) {
        x_ends.sort_by(end_order);
    }
    // Stable sorts throughout: ties keep file order, which the rules above rely on.
    if !is_sorted_x(&xs) {
        match start_order_of_nested(&xs) {
            Some(sorted) => xs = sorted,
            None => xs.sort_by(x_order),
        }
    }
    if !ends.windows(2).all(|w| w[0].ts <= w[1].ts) {
        ends.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    }
    // Merge: at equal ts, E events (file) before X ends, as a stable sort of E-then-X would place them.
    ends = merge_by_ts(ends, x_ends.into_iter().map(|(e, _, _)| e));
    if begins.is_empty() {
        begins = xs;
    } else {
        begins.extend_from_slice(&xs);
        drop(xs);
        if !begins.windows(2).all(|w| w[0].ts <= w[1].ts) {
            begins.sort_by(|a, b| a.ts.total_cmp(&b.ts));
        }
    }
    let mut thread = EventedThreadBuilder::new(name, pid, tid);
    let spans = &mut thread.thread.spans;
    spans.frame.reserve(begins.len());
    spans.stack.reserve(begins.len());
    spans.start.reserve(begins.len());
    spans.end.reserve(begins.len());
    spans.depth.reserve(begins.len());
    // (name, key) of each open call; the builder keeps the matching spans.
    let mut open: Vec<(u32, u32)> = Vec::new();
    let ns = |ts: f64| (ts - t0) * 1e3;
    let mut last_ts = t0;
    let (mut bi, mut ei) = (0usize, 0usize);
    while bi < begins.len() || ei < ends.len() {
        let take_begin = match (begins.get(bi), ends.get(ei)) {
            (Some(_), None) => true,
            (None, _) => false,
            (Some(bg), Some(en)) => bg.ts < en.ts || (bg.ts == en.ts && bg.name == en.name),
        };
        if take_begin {
            let bg = begins[bi];
            bi += 1;
            let frame = frames.get(bg.key as usize).copied().unwrap_or(0);
            thread.enter(b, frame, ns(bg.ts));
            open.push((bg.name, bg.key));
            last_ts = last_ts.max(bg.ts);
            continue;
        }
        if let Some(&(top_name, top_key)) = open.last() {
            if ends[ei].key != top_key {
                promote_matching_end(&mut ends[ei..], top_name, top_key);
            }
        }
        let en = ends[ei];
        ei += 1;
        last_ts = last_ts.max(en.ts);
        match open.last() {
            Some(&(top_name, _)) if top_name == en.name => {
                open.pop();
                thread.leave(ns(en.ts));
            }
            // Empty stack or a name that is not on top: speedscope drops the end event, and so do we.
            _ => {}
        }
    }
    thread.finish(ns(last_ts))
}

/// Two ts-sorted lists into one; ties take `first`'s element first.
fn merge_by_ts(first: Vec<End>, second: impl ExactSizeIterator<Item = End>) -> Vec<End> {
    if first.is_empty() {
        return second.collect();
    }
    let mut out = Vec::with_capacity(first.len() + second.len());
    let mut second = second.peekable();
    for e in first {
        while let Some(x) = second.next_if(|x| x.ts < e.ts) {
            out.push(x);
        }
        out.push(e);
    }
    out.extend(second);
    out
}

/// The order of X events: by start, longer first.
fn x_order(a: &Begin, b: &Begin) -> std::cmp::Ordering {
    a.ts.total_cmp(&b.ts).then(b.dur.total_cmp(&a.dur))
}

/// X events in the order their calls returned (VizTracer's: callees before their caller) put in `x_order` in linear
/// time, where sorting them was a tenth of the import. Each event becomes a list of itself followed by the lists of
/// the events before it that start within it, its callees, already in start order. The result is used only when it
/// is strictly in `x_order`: no two events compare equal, so it is the one order the stable sort would give too;
/// otherwise (not nested, or ties) None, and the caller sorts.
fn start_order_of_nested(xs: &[Begin]) -> Option<Vec<Begin>> {
    const END: u32 = u32::MAX;
    let n = u32::try_from(xs.len()).ok().filter(|&n| n < END)?;
    // A linked list through `next`; `lists` holds (head, tail) of each finished call not yet claimed by a caller.
    let mut next = vec![END; xs.len()];
    let mut lists: Vec<(u32, u32)> = Vec::new();
    for (i, x) in (0..n).zip(xs) {
        let callees = lists.iter().rposition(|&(head, _)| xs[head as usize].ts < x.ts).map_or(0, |k| k + 1);
        let mut tail = i;
        for &(head, callee_tail) in &lists[callees..] {
            next[tail as usize] = head;
            tail = callee_tail;
        }
        lists.truncate(callees);
        lists.push((i, tail));
    }
    for w in lists.windows(2) {
        next[w[0].1 as usize] = w[1].0;
    }
    let mut out = Vec::with_capacity(xs.len());
    let mut at = lists.first().map_or(END, |&(head, _)| head);
    while at != END && out.len() < xs.len() {
        out.push(xs[at as usize]);
        at = next[at as usize];
    }
    let strictly_ordered = out.windows(2).all(|w| x_order(&w[0], &w[1]).is_lt());
    (out.len() == xs.len() && strictly_ordered).then_some(out)
}

/// X events straight from VizTracer are ordered by end, not start, so this is usually false; cheap to ask anyway.
fn is_sorted_x(xs: &[Begin]) -> bool {
    xs.windows(2)
        .all(|w| w[0].ts < w[1].ts || (w[0].ts == w[1].ts && w[0].dur >= w[1].dur))
}

/// Among the ends sharing the first one's timestamp, moves one that closes the open call to the front: by frame
/// key first, then by name.
fn promote_matching_end(ends: &mut [End], top_name: u32, top_key: u32) {
    let Some(first) = ends.first().copied() else {
        return;
    };
    // The window is capped so a file with a million ends at one timestamp cannot make this quadratic.
    let same_ts = ends
        .iter()
        .skip(1)
        .take(4096)
        .take_while(|e| e.ts <= first.ts)
        .count();
    let group = &ends[1..=same_ts];
    let found = group
        .iter()
        .position(|e| e.key == top_key)
        .or_else(|| group.iter().position(|e| e.name == top_name));
    if let Some(i) = found {
        ends.swap(0, i + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(ts: f64, dur: f64, name: u32) -> Begin {
        Begin { ts, dur, name, key: name }
    }

    /// Calls nested as a program makes them, listed as they return (callees first), with times from `step`.
    fn returned_order(depth: u32, width: u32, step: &mut impl FnMut() -> f64, now: &mut f64, out: &mut Vec<Begin>) {
        for k in 0..width {
            let start = *now;
            *now += step();
            if depth > 0 {
                returned_order(depth - 1, width - k % 2, step, now, out);
            }
            *now += step();
            out.push(x(start, *now - start, out.len() as u32));
        }
    }

    fn sorted(xs: &[Begin]) -> Vec<(f64, f64, u32)> {
        let mut v = xs.to_vec();
        v.sort_by(x_order);
        v.iter().map(|b| (b.ts, b.dur, b.name)).collect()
    }

    #[test]
    fn start_order_of_nested_calls_is_the_sort_or_declines() {
        let mut seed = 7u64;
        let mut rand = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        // Distinct times: always taken, always the sort's order.
        let mut xs = Vec::new();
        returned_order(5, 4, &mut || 0.05 + rand() * 3.0, &mut 1000.0, &mut xs);
        assert!(xs.len() > 300);
        let got = start_order_of_nested(&xs).expect("nested calls with distinct times");
        assert_eq!(got.iter().map(|b| (b.ts, b.dur, b.name)).collect::<Vec<_>>(), sorted(&xs));
        // Whole-number times (ties: a callee starting with its caller, equal calls) and shuffled or reversed input:
        // whatever it returns is the sort's order.
        let mut tied = Vec::new();
        returned_order(4, 3, &mut || (rand() * 2.0).floor(), &mut 0.0, &mut tied);
        let mut shuffled = xs.clone();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, (rand() * (i + 1) as f64) as usize);
        }
        let reversed: Vec<Begin> = xs.iter().rev().copied().collect();
        let same_start = vec![x(1.0, 5.0, 0), x(1.0, 5.0, 1), x(0.0, 9.0, 2), x(-0.0, 9.0, 3)];
        for input in [tied, shuffled, reversed, same_start, Vec::new(), vec![x(1.0, 1.0, 0)]] {
            if let Some(got) = start_order_of_nested(&input) {
                assert_eq!(got.iter().map(|b| (b.ts, b.dur, b.name)).collect::<Vec<_>>(), sorted(&input));
            }
        }
    }
}
