//! Folded stacks (`a;b;c weight`), aggregated by stack over all threads: what FlameGraph's `flamegraph.pl`,
//! inferno and speedscope read. Frames with a file are written py-spy style, `func (file:line)`, so our folded
//! importer gets the file and line back; bare frames are written as their name.
//!
//! What does not survive: threads, time order, spans' nesting beyond self time (a span thread is written as its
//! self time per stack), and the unit (folded weights are plain numbers).

use std::io::{BufWriter, Write};

use crate::export::speedscope::json_num;
use crate::export::Exporter;
use crate::model::{FrameIndex, Profile};

pub struct FoldedExporter;

impl Exporter for FoldedExporter {
    fn write(&self, profile: &Profile, out: &mut dyn Write) -> std::io::Result<()> {
        let weights = aggregate_self_by_stack(profile);
        let mut w = BufWriter::with_capacity(1 << 16, out);
        let labels: Vec<String> = (0..profile.frames.len()).map(|f| label_frame(profile, f as FrameIndex)).collect();
        for (stack, &weight) in weights.iter().enumerate() {
            if weight <= 0.0 {
                continue;
            }
            for (i, f) in profile.stack_frames(stack as i32).iter().enumerate() {
                if i > 0 {
                    w.write_all(b";")?;
                }
                w.write_all(labels[*f as usize].as_bytes())?;
            }
            writeln!(w, " {}", json_num(weight))?;
        }
        // Samples without a frame are written as py-spy writes them, a line with no stack (` 3`): they are samples
        // the profiler took, and the importer counts them.
        let frameless: f64 = profile
            .threads
            .iter()
            .flat_map(|t| t.samples.stack.iter().zip(&t.samples.weight))
            .filter(|&(&s, _)| s < 0)
            .map(|(_, &x)| x)
            .sum();
        if frameless > 0.0 {
            writeln!(w, " {}", json_num(frameless))?;
        }
        w.flush()
    }
}

/// Weight per stack index: sample weights, plus each span's self time (its duration minus its direct children's)
/// converted to the profile's unit.
fn aggregate_self_by_stack(p: &Profile) -> Vec<f64> {
    let mut weights = vec![0.0f64; p.stacks.len()];
    let per = p.unit.ns_per_unit().unwrap_or(1.0);
    for t in &p.threads {
        for (&s, &x) in t.samples.stack.iter().zip(&t.samples.weight) {
            if s >= 0 {
                weights[s as usize] += x;
            }
        }
        t.spans.for_each_self_weight(per, |s, w| weights[s as usize] += w);
    }
    weights
}

/// `;` separates frames and a newline ends the record, so neither may appear inside one.
fn label_frame(p: &Profile, f: FrameIndex) -> String {
    let name = p.frame_name(f).replace([';', '\n', '\r'], "_");
    let name = if name.is_empty() { "<unnamed>".to_owned() } else { name };
    match p.frame_file(f) {
        Some(file) => {
            let file = file.replace([';', '\n', '\r', ')'], "_");
            format!("{name} ({file}:{})", p.frames.line[f as usize])
        }
        None => name,
    }
}
