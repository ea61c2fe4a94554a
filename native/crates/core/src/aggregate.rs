//! The aggregated form of a profile: per thread, one sample per distinct stack, weighing the stack's self weight.
//! It draws every aggregated view (flame graph, sandwich, function table, call tree) exactly as the full profile
//! does, at a fraction of the size: a 1M-span trace has a few thousand distinct stacks. The app shows it first and
//! fetches the full columns (the timeline) behind it, so the first picture does not wait for a million spans to
//! cross to the page (issue 9, item 11).
//!
//! The string, frame and stack tables are the full profile's, so function and call-path identities are the same in
//! both forms. Samples lose their times (all 0): the aggregated form has no timeline, whatever the file had.

use crate::model::{Profile, SampleTable, SpanTable, Thread};

/// The aggregated form of `p` (see the module comment). Span self time is `SpanTable::for_each_self_weight`'s, the
/// span rule of `renderer/src/model/spans.ts`.
pub fn aggregate(p: &Profile) -> Profile {
    let ns_per_unit = p.unit.ns_per_unit().unwrap_or(1.0);
    // One scratch vector reused by every thread: its length is the stack count, not the span count.
    let mut per_stack = vec![0.0f64; p.stacks.len()];
    let mut touched: Vec<u32> = Vec::new();
    let threads = p
        .threads
        .iter()
        .map(|t| {
            let mut stackless = 0.0;
            let mut add = |stack: i64, weight: f64| {
                if stack < 0 || stack as usize >= per_stack.len() {
                    stackless += weight;
                    return;
                }
                let slot = &mut per_stack[stack as usize];
                if *slot == 0.0 {
                    touched.push(stack as u32);
                }
                *slot += weight;
                // A stack whose weights pass through exactly 0 (a parent's, as its children's durations come off)
                // is pushed again; the drain below takes it once.
            };
            for (&s, &w) in t.samples.stack.iter().zip(&t.samples.weight) {
                add(s as i64, w);
            }
            t.spans.for_each_self_weight(ns_per_unit, |stack, w| add(stack as i64, w));
            touched.sort_unstable();
            touched.dedup();
            let mut samples = SampleTable::default();
            for &s in &touched {
                let w = std::mem::take(&mut per_stack[s as usize]);
                if w != 0.0 {
                    samples.stack.push(s as i32);
                    samples.weight.push(w);
                }
            }
            touched.clear();
            if stackless != 0.0 {
                samples.stack.push(-1);
                samples.weight.push(stackless);
            }
            samples.time = vec![0.0; samples.stack.len()];
            Thread {
                name: t.name.clone(),
                pid: t.pid,
                tid: t.tid,
                samples,
                spans: SpanTable::default(),
                // The sample rows no longer count samples: keep the count the full thread gives.
                counted_samples: Some(t.sample_count(p.unit)),
            }
        })
        .collect();
    Profile {
        version: p.version,
        format: p.format.clone(),
        name: p.name.clone(),
        unit: p.unit,
        has_timeline: false,
        start_ns: p.start_ns,
        duration_ns: p.duration_ns,
        strings: p.strings.clone(),
        frames: p.frames.clone(),
        stacks: p.stacks.clone(),
        threads,
        call_graph: p.call_graph.clone(),
        meta: p.meta.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventedThreadBuilder, ProfileBuilder, SampledThreadBuilder, WeightUnit};
    use crate::summary::summarize;

    #[test]
    fn spans_become_one_sample_per_stack_weighing_self_time() {
        let mut b = ProfileBuilder::new();
        let (main, work) = (b.frame("main", Some("a.py"), 1), b.frame("work", Some("a.py"), 5));
        let mut t = EventedThreadBuilder::new("MainThread", 1, 1);
        t.enter(&mut b, main, 0.0);
        t.enter(&mut b, work, 10.0);
        t.leave(40.0);
        t.enter(&mut b, work, 50.0);
        t.leave(60.0);
        let thread = t.finish(100.0);
        let p = b.finish("chrome", "t", WeightUnit::Nanoseconds, vec![thread]);
        let a = aggregate(&p);
        let s = &a.threads[0].samples;
        let weights: Vec<(Vec<&str>, f64)> = s
            .stack
            .iter()
            .zip(&s.weight)
            .map(|(&st, &w)| (p.stack_frames(st).iter().map(|&f| p.frame_name(f)).collect(), w))
            .collect();
        assert_eq!(weights, vec![(vec!["main"], 60.0), (vec!["main", "work"], 40.0)]);
        assert!(a.threads[0].spans.is_empty());
        assert!(!a.has_timeline);
        // The summary of the aggregated form is the summary of the profile.
        let (full, agg) = (summarize(&p, 10), summarize(&a, 10));
        assert_eq!(full.total_weight, agg.total_weight);
        assert_eq!(format!("{:?}", full.top), format!("{:?}", agg.top));
    }

    #[test]
    fn samples_merge_per_stack_and_keep_the_sample_count() {
        let mut b = ProfileBuilder::new();
        let f = b.frame("f", None, 0);
        let g = b.frame("g", None, 0);
        let (sf, sg) = (b.stack_of(&[f]), b.stack_of(&[f, g]));
        let mut t = SampledThreadBuilder::new("t", 1, 2);
        for (i, s) in [sf, sg, sf, -1, sg, sg].into_iter().enumerate() {
            t.append(s, i as f64, 1.0);
        }
        let p = b.finish("py-spy-raw", "t", WeightUnit::Samples, vec![t.finish()]);
        let a = aggregate(&p);
        let s = &a.threads[0].samples;
        assert_eq!((s.stack.clone(), s.weight.clone()), (vec![sf, sg, -1], vec![2.0, 3.0, 1.0]));
        assert_eq!(a.threads[0].sample_count(a.unit), 6);
        let (full, agg) = (summarize(&p, 10), summarize(&a, 10));
        assert_eq!(format!("{:?}", full.threads), format!("{:?}", agg.threads));
        assert_eq!(format!("{:?}", full.top), format!("{:?}", agg.top));
    }
}
