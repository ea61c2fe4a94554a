//! Scans a big trace-event array on several threads without ever trusting a guess.
//!
//! Where one element of a JSON array ends cannot be known without reading everything before it (a name may hold
//! `},{"ph":"X"`). So we guess: each extra part starts at something that looks like an element start near its
//! share of the input, and is scanned there, on its own thread, into its own tables. The part before it is scanned
//! with that offset as its stop; only when its own scan lands exactly on the offset, at the start of an element, is
//! the guess proven and the next part's result used (the caller folds it into its tables in file order). When the
//! scan passes the offset instead, the guess was wrong: that part goes on to the end of the array as a plain
//! sequential scan would, and every later part is abandoned. The result is the sequential result either way; only
//! the time differs.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::import::ImportError;
use crate::job::Job;

/// How to split a scan. `Default` is what imports use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Up to `parts` parts (the default: one per core, at most `MAX_PARTS`), none smaller than `min_part` bytes.
    Auto { parts: usize, min_part: usize },
    /// Parts starting at exactly these offsets (increasing; each is a guess like any other). Tests use it to try
    /// every kind of wrong guess.
    At(Vec<usize>),
}

/// Below this a part is not worth a thread (a thread and the merge cost about a millisecond).
pub const MIN_PART: usize = 8 << 20;
/// The merges that follow are serial: more parts than this stop paying.
const MAX_PARTS: usize = 4;

/// Threads worth running at once: one per core, at most `MAX_PARTS`.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_PARTS)
}

impl Default for Plan {
    fn default() -> Self {
        Plan::Auto { parts: workers(), min_part: MIN_PART }
    }
}

impl Plan {
    /// One part: the plain sequential scan.
    pub fn sequential() -> Self {
        Plan::At(Vec::new())
    }

    /// Start offsets of the parts after the first, for an array whose first element is at or after `from`.
    pub fn starts(&self, bytes: &[u8], from: usize) -> Vec<usize> {
        match self {
            Plan::At(v) => v.iter().copied().filter(|&s| s > from && s < bytes.len()).collect(),
            &Plan::Auto { parts, min_part } => guess_starts(bytes, from, parts, min_part),
        }
    }
}

/// Offsets that look like element starts (`{` after `}` `,`, before `"` or `}`), one near each `1/parts` of
/// `bytes[from..]`, each part at least `min_part` bytes.
fn guess_starts(bytes: &[u8], from: usize, parts: usize, min_part: usize) -> Vec<usize> {
    let len = bytes.len().saturating_sub(from);
    let parts = parts.min(len / min_part.max(1));
    let mut out: Vec<usize> = Vec::new();
    for k in 1..parts {
        let target = from + k * (len / parts);
        let after = out.last().map_or(target, |&prev| prev.max(target));
        // A part must not spill into the next one's share: elements are small, so a look within a quarter of a
        // share finds one unless the array holds a huge element (then that part simply is not split off).
        let limit = (after + len / parts / 4).min(bytes.len());
        if let Some(s) = element_start_in(bytes, after, limit) {
            out.push(s);
        }
    }
    out
}

fn element_start_in(bytes: &[u8], from: usize, limit: usize) -> Option<usize> {
    let mut i = from;
    while i < limit {
        i += bytes[i..limit].iter().position(|&b| b == b'{')?;
        let before = last_non_ws(bytes, i).and_then(|j| Some((j, last_non_ws(bytes, j)?)));
        let after = bytes[i + 1..].iter().find(|b| !b.is_ascii_whitespace());
        let after_element = matches!(before, Some((j, k)) if bytes[j] == b',' && bytes[k] == b'}');
        if after_element && matches!(after, Some(b'"' | b'}')) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Offset of the last non-whitespace byte before `i`.
fn last_non_ws(bytes: &[u8], i: usize) -> Option<usize> {
    bytes[..i].iter().rposition(|b| !b.is_ascii_whitespace())
}

/// How the scan of one part ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartEnd {
    /// The array ended: the offset after its `]`, or None when the input ended first.
    Array(Option<usize>),
    /// The scan reached the next part's start, at the start of an element: the next part's result holds.
    AtNext,
    /// An earlier part proved this part's start wrong (or ended the array before it): the result is not needed.
    Abandoned,
}

/// One part as its scan sees it.
pub struct Part<'s> {
    pub index: usize,
    pub start: usize,
    /// Where the next part starts; None for the last part.
    pub stop: Option<usize>,
    shared: &'s Shared,
}

struct Shared {
    /// Parts from this index on are not needed.
    abandon_from: AtomicUsize,
    /// Bytes each part has scanned, for progress.
    done: Vec<AtomicU64>,
    base: u64,
}

impl Part<'_> {
    /// Whether this part's result can no longer be used: check it now and then and return `Abandoned`.
    pub fn abandoned(&self) -> bool {
        self.index >= self.shared.abandon_from.load(Ordering::Relaxed)
    }

    /// The scan passed `stop` without landing on it: every later part is wasted work.
    pub fn passed_stop(&mut self) {
        self.shared.abandon_from.fetch_min(self.index + 1, Ordering::Relaxed);
        self.stop = None;
    }

    /// Records that this part's scan has reached `pos`; progress is the sum over parts.
    pub fn report(&self, pos: usize, job: &Job) {
        self.shared.done[self.index].store(pos.saturating_sub(self.start) as u64, Ordering::Relaxed);
        let sum: u64 = self.shared.base + self.shared.done.iter().map(|d| d.load(Ordering::Relaxed)).sum::<u64>();
        let total = job.progress().1;
        job.set_done(if total > 0 { sum.min(total) } else { sum });
    }
}

/// Scans `first_start..` with `scan`, in parts when `starts` has any: part 0 into `c` on this thread, the others into
/// `fresh()` tables on their own threads, then folds each proven part into `c` with `absorb`, in order. Returns what
/// the sequential scan of the whole array would return, with `c` holding what it would hold.
pub fn scan_in_parts<C: Send>(
    first_start: usize,
    starts: &[usize],
    c: &mut C,
    fresh: impl Fn() -> C + Sync,
    scan: impl Fn(&mut C, &mut Part) -> Result<PartEnd, ImportError> + Sync,
    absorb: impl Fn(&mut C, C),
) -> Result<Option<usize>, ImportError> {
    let shared = Shared {
        abandon_from: AtomicUsize::new(usize::MAX),
        done: (0..=starts.len()).map(|_| AtomicU64::new(0)).collect(),
        base: first_start as u64,
    };
    let part = |index: usize| Part {
        index,
        start: if index == 0 { first_start } else { starts[index - 1] },
        stop: starts.get(index).copied(),
        shared: &shared,
    };
    let run = |c: &mut C, index: usize| {
        let r = scan(c, &mut part(index));
        if !matches!(r, Ok(PartEnd::AtNext)) {
            shared.abandon_from.fetch_min(index + 1, Ordering::Relaxed);
        }
        r
    };
    std::thread::scope(|s| {
        // A part whose thread cannot be started is scanned here later, in turn; so are all after it.
        let handles: Vec<_> = (1..=starts.len())
            .map_while(|index| {
                let run = &run;
                let fresh = &fresh;
                std::thread::Builder::new()
                    .name("emberscope-scan".to_owned())
                    .spawn_scoped(s, move || {
                        let mut own = fresh();
                        let r = run(&mut own, index);
                        (own, r)
                    })
                    .ok()
            })
            .collect();
        let mut end = run(c, 0);
        let mut handles = handles.into_iter();
        let mut index = 0;
        // Parts are joined in order; once the chain breaks, the rest are abandoned and joined (quickly) on drop.
        let result = loop {
            match end {
                Err(e) => break Err(e),
                Ok(PartEnd::Array(at)) => break Ok(at),
                Ok(PartEnd::Abandoned) => {
                    break Err(ImportError::Stated(
                        "internal error: a part of the trace needed for the result was abandoned".to_owned(),
                    ))
                }
                Ok(PartEnd::AtNext) => {
                    index += 1;
                    end = match handles.next() {
                        Some(h) => match h.join() {
                            Ok((own, r)) => {
                                absorb(c, own);
                                r
                            }
                            Err(panic) => std::panic::resume_unwind(panic),
                        },
                        None => run(c, index),
                    };
                }
            }
        };
        shared.abandon_from.fetch_min(index + 1, Ordering::Relaxed);
        // Wasted parts: their results (or panics, from scanning mid-element bytes) are dropped.
        for h in handles {
            let _ = h.join();
        }
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_element_starts_only() {
        let text = br#"[{"a":1}, {"b":"},{x"},{"c":2},{}]"#;
        let starts: Vec<usize> = (0..text.len()).filter_map(|i| element_start_in(text, i, text.len())).collect();
        let at = |s: &str| text.windows(s.len()).position(|w| w == s.as_bytes()).unwrap();
        // `{x` inside the string is not followed by `"`; `{"c"` and `{}` are candidates (the string one would be
        // one too if it were `{"x`: only the scan can tell, which is the point).
        assert!(starts.contains(&at(r#"{"b""#)) && starts.contains(&at(r#"{"c""#)) && starts.contains(&at("{}")));
        assert!(!starts.contains(&at("{x")));
        assert!(guess_starts(text, 1, 2, 100).is_empty(), "parts smaller than min_part");
        let many = format!("[{}{{\"a\":1}}]", r#"{"a":1}, "#.repeat(40));
        let guessed = guess_starts(many.as_bytes(), 1, 3, 8);
        assert_eq!(guessed.len(), 2, "{guessed:?}");
        assert!(guessed.iter().all(|&g| many[g..].starts_with(r#"{"a""#)));
        assert!(guessed[0] > many.len() / 4 && guessed[1] < many.len() * 7 / 8, "{guessed:?}");
    }
}
