// Function identity and thread selection.
// A function is (name, file), never a frame: py-spy and Austin put the current line into each frame, so one
// function has many frames (see ProfileSummary in electron/contract/profile.ts). Where every frame's line is its
// function's definition line (meta.frame_lines = "definition": pstats, exact mode, trace events), a function is
// (name, file, line), as pstats keys it, so two `<genexpr>`s of one file stay two rows, as in the native summary.
import type { Profile, SpanTable, Thread } from '../../../electron/contract/profile';
import { memoizeByObject } from './memo';

/** Index into `FuncTable`. */
export type FuncIndex = number;

export interface FuncTable {
  length: number;
  name: string[];
  /** '' when unknown. */
  file: string[];
  /**
   * The definition line where the format gives it (`linesAreDefinitions`), else 0: a sampler's frames carry the line
   * running at the time, and the lowest of those is not where the function is (model/source.ts finds the `def` line
   * in the source when it can be read). The native summary's `line` is the same.
   */
  line: Uint32Array;
  /** Smallest non-zero line among the function's frames, 0 if none: where to start looking for its definition. */
  sampledLine: Uint32Array;
  kind: Uint8Array; // FrameKind
  /** FrameIndex -> FuncIndex. */
  funcOfFrame: Int32Array;
}

/** One thread by index, or every thread merged. */
export type ThreadSelection = number | 'all';

export const computeFuncTable = memoizeByObject((profile: Profile): FuncTable => {
  const frames = profile.frames;
  const funcOfFrame = new Int32Array(frames.length);
  const byKey = new Map<string, number>();
  const name: string[] = [];
  const file: string[] = [];
  const lines: number[] = [];
  const sampled: number[] = [];
  const kinds: number[] = [];
  const byLine = linesAreDefinitions(profile);
  const known = byLine ? knownDefinitionLines(profile) : null;
  for (let f = 0; f < frames.length; f++) {
    const fileIndex = frames.file[f];
    // String indexes make a cheap, exact key; the separator cannot occur in a number.
    const nameFile = `${frames.func[f]}|${fileIndex}`;
    const definition = known ? frames.line[f] || known.get(nameFile) || 0 : 0;
    const key = known ? `${nameFile}|${definition}` : nameFile;
    let fi = byKey.get(key);
    if (fi === undefined) {
      fi = name.length;
      byKey.set(key, fi);
      name.push(profile.strings[frames.func[f]] ?? '');
      file.push(fileIndex >= 0 ? profile.strings[fileIndex] ?? '' : '');
      lines.push(definition);
      sampled.push(0);
      kinds.push(frames.kind[f]);
    }
    const line = frames.line[f];
    if (line > 0 && (sampled[fi] === 0 || line < sampled[fi])) sampled[fi] = line;
    funcOfFrame[f] = fi;
  }
  return {
    length: name.length,
    name,
    file,
    line: Uint32Array.from(lines),
    sampledLine: Uint32Array.from(sampled),
    kind: Uint8Array.from(kinds),
    funcOfFrame,
  };
});

/**
 * `name|file` -> the one definition line its frames know (-1 when they know several). A frame whose line is unknown
 * (V8 writes -1 for some frames of a function whose other frames have its line) joins that line's function, as in
 * the native summary's `definition_lines`.
 */
function knownDefinitionLines(profile: Profile): Map<string, number> {
  const frames = profile.frames;
  const known = new Map<string, number>();
  for (let f = 0; f < frames.length; f++) {
    const line = frames.line[f];
    if (line === 0) continue;
    const nameFile = `${frames.func[f]}|${frames.file[f]}`;
    const seen = known.get(nameFile);
    known.set(nameFile, seen === undefined || seen === line ? line : -1);
  }
  for (const [k, v] of known) if (v < 0) known.delete(k);
  return known;
}

/** True when frames carry their function's definition line (the importer says so in `meta.frame_lines`). */
export function linesAreDefinitions(profile: Profile): boolean {
  return profile.meta?.frame_lines === 'definition';
}

/** The threads a selection covers; an out-of-range index yields none rather than throwing. */
export function selectThreads(profile: Profile, selection: ThreadSelection): Thread[] {
  if (selection === 'all') return profile.threads;
  const thread = profile.threads[selection];
  return thread ? [thread] : [];
}

/** Display label of a thread for pickers. */
export function formatThreadLabel(thread: Thread, index: number): string {
  const name = thread.name || `Thread ${index}`;
  return thread.tid ? `${name} (${thread.tid})` : name;
}

/** The same counts from a trace's summary (what the file holds), for a profile shown in its aggregated form. */
export function countSummaryContent(threads: readonly { samples: number; spans: number }[], selection: ThreadSelection): { samples: number; spans: number } {
  const chosen = selection === 'all' ? threads : threads[selection] ? [threads[selection]] : [];
  return { samples: chosen.reduce((n, t) => n + t.samples, 0), spans: chosen.reduce((n, t) => n + t.spans, 0) };
}

/** Samples and spans over the selected threads (the status bar shows which the file has). */
export function countThreadContent(threads: Thread[]): { samples: number; spans: number } {
  let samples = 0;
  let spans = 0;
  for (const t of threads) {
    samples += t.samples.length;
    spans += countSpanCalls(t.spans);
  }
  return { samples, spans };
}

/** Calls in a span table: its rows, but a call a dropped function cut into pieces (`resumes`) counts once. */
export function countSpanCalls(spans: SpanTable): number {
  let n = spans.length;
  if (spans.resumes) for (let i = 0; i < spans.length; i++) n -= spans.resumes[i];
  return n;
}
