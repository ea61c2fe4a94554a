//! The sampled part of some trace files (Hermes, Chrome's "Global Samples"): a `stackFrames` object of
//! `{name, parent}` frames keyed by id, and `samples` of `{ts, pid, tid, sf}`. Each (pid, tid) becomes a sampled
//! thread; a sample's weight is the time until the thread's next sample, in µs.

use std::borrow::Cow;
use std::fmt;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::import::json_util::{id_of, split_located_name, FxMap, IdField, LaxStr, Num};
use crate::model::{ProfileBuilder, SampledThreadBuilder, Thread};

#[derive(Deserialize)]
pub struct RawSample {
    #[serde(default)]
    pub ts: Option<Num>,
    #[serde(default)]
    pub pid: IdField,
    #[serde(default)]
    pub tid: IdField,
    #[serde(default)]
    pub sf: IdField,
}

#[derive(Deserialize)]
pub struct StackFrame<'a> {
    #[serde(borrow, default)]
    pub name: LaxStr<'a>,
    #[serde(default)]
    pub parent: IdField,
}

/// `stackFrames`, keyed by the numeric (or hashed) id.
pub struct StackFrames<'a>(pub FxMap<i64, StackFrame<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for StackFrames<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StackFrames<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of stack frames")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = FxMap::default();
                while let Some(LaxStr(key)) = m.next_key::<LaxStr<'de>>()? {
                    let frame: StackFrame = m.next_value()?;
                    let id = id_of(&IdField::Str(key.map(Cow::into_owned).unwrap_or_default()));
                    out.insert(id, frame);
                }
                Ok(StackFrames(out))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<Self::Value, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(StackFrames(FxMap::default()))
            }
        }
        d.deserialize_any(V)
    }
}

pub fn min_ts(samples: &[RawSample]) -> Option<f64> {
    samples
        .iter()
        .filter_map(|s| s.ts.and_then(Num::finite))
        .min_by(|a, b| a.total_cmp(b))
}

/// One sampled thread per (pid, tid) in `samples`, times relative to `t0` (µs).
pub fn build_threads(
    b: &mut ProfileBuilder,
    frames: &StackFrames,
    samples: &[RawSample],
    t0: f64,
    name_thread: &dyn Fn(i64, i64) -> String,
) -> Vec<Thread> {
    let mut by_thread: FxMap<(i64, i64), Vec<(f64, i64)>> = FxMap::default();
    let mut order: Vec<(i64, i64)> = Vec::new();
    for s in samples {
        let Some(ts) = s.ts.and_then(Num::finite) else {
            continue;
        };
        let key = (id_of(&s.pid), id_of(&s.tid));
        by_thread
            .entry(key)
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push((ts, id_of(&s.sf)));
    }
    let mut memo: FxMap<i64, i32> = FxMap::default();
    let mut out = Vec::with_capacity(order.len());
    for key in order {
        let Some(mut list) = by_thread.remove(&key) else {
            continue;
        };
        list.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut t = SampledThreadBuilder::new(&name_thread(key.0, key.1), key.0, key.1);
        for (i, &(ts, sf)) in list.iter().enumerate() {
            let stack = stack_for(b, frames, &mut memo, sf);
            // The last sample has no successor: give it its predecessor's interval.
            let weight = match (list.get(i + 1), i.checked_sub(1).and_then(|p| list.get(p))) {
                (Some(next), _) => next.0 - ts,
                (None, Some(prev)) => ts - prev.0,
                (None, None) => 0.0,
            };
            t.append(stack, (ts - t0) * 1e3, weight);
        }
        out.push(t.finish());
    }
    out
}

/// The interned stack of frame `sf`, walking `parent` links iteratively (a cycle or a missing parent ends it).
fn stack_for(
    b: &mut ProfileBuilder,
    frames: &StackFrames,
    memo: &mut FxMap<i64, i32>,
    sf: i64,
) -> i32 {
    if let Some(&s) = memo.get(&sf) {
        return s;
    }
    let mut chain = Vec::new();
    let mut cur = Some(sf);
    let mut base: i32 = -1;
    while let Some(id) = cur {
        if let Some(&s) = memo.get(&id) {
            base = s;
            break;
        }
        let Some(f) = frames.0.get(&id) else { break };
        // A cycle in a corrupt file would loop forever; a real chain is never longer than the frame count.
        if chain.len() > frames.0.len() {
            break;
        }
        chain.push(id);
        cur = match f.parent {
            IdField::Missing => None,
            ref p => Some(id_of(p)),
        };
    }
    let mut s = base;
    for &id in chain.iter().rev() {
        let name = frames
            .0
            .get(&id)
            .and_then(|f| f.name.0.as_deref())
            .unwrap_or("(unnamed)");
        let (func, file, line) = split_located_name(name);
        let frame = b.frame(func, file, line);
        s = b.stack(s, frame) as i32;
        memo.insert(id, s);
    }
    s
}
