// A tiny builder of columnar Profiles for the renderer's unit tests. Frames are written 'name' or 'name@file#line';
// bare names get file 'app.py'. Not a test file itself (no .test.ts suffix).
import { FrameKind, PROFILE_VERSION, type Profile, type WeightUnit } from '../../electron/contract/profile';

export interface SpanSpec {
  name: string;
  start: number;
  end: number;
  children?: SpanSpec[];
}

interface ThreadBuild {
  name: string;
  samples: { stack: number[]; time: number[]; weight: number[] };
  spans: { stack: number[]; frame: number[]; start: number[]; end: number[]; depth: number[] };
}

export class TestProfileBuilder {
  private strings: string[] = [];
  private stringIndex = new Map<string, number>();
  private frames = { func: [] as number[], file: [] as number[], line: [] as number[], kind: [] as number[] };
  private frameIndex = new Map<string, number>();
  private stacks = { prefix: [] as number[], frame: [] as number[] };
  private stackIndex = new Map<string, number>();
  private threads: ThreadBuild[] = [];
  private nextTime = 0;

  constructor(private unit: WeightUnit = 'samples', private hasTimeline = true) {}

  private str(s: string): number {
    let i = this.stringIndex.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.stringIndex.set(s, i);
    }
    return i;
  }

  frame(spec: string, kind: FrameKind = FrameKind.User): number {
    let f = this.frameIndex.get(spec);
    if (f !== undefined) return f;
    const m = /^([^@]+)(?:@([^#]*))?(?:#(\d+))?$/.exec(spec)!;
    f = this.frames.func.length;
    this.frames.func.push(this.str(m[1]));
    this.frames.file.push(this.str(m[2] ?? 'app.py'));
    this.frames.line.push(m[3] ? Number(m[3]) : 0);
    this.frames.kind.push(kind);
    this.frameIndex.set(spec, f);
    return f;
  }

  stack(path: string[]): number {
    let prefix = -1;
    for (const spec of path) {
      const frame = this.frame(spec);
      const key = `${prefix}/${frame}`;
      let s = this.stackIndex.get(key);
      if (s === undefined) {
        s = this.stacks.frame.length;
        this.stacks.prefix.push(prefix);
        this.stacks.frame.push(frame);
        this.stackIndex.set(key, s);
      }
      prefix = s;
    }
    return prefix;
  }

  private thread(index: number): ThreadBuild {
    while (this.threads.length <= index) {
      this.threads.push({
        name: `thread-${this.threads.length}`,
        samples: { stack: [], time: [], weight: [] },
        spans: { stack: [], frame: [], start: [], end: [], depth: [] },
      });
    }
    return this.threads[index];
  }

  /** A sample with `path` root first ([] = empty stack). Time defaults to one ns after the previous sample. */
  sample(path: string[], weight = 1, time?: number, thread = 0): this {
    const t = this.thread(thread);
    const at = time ?? this.nextTime;
    this.nextTime = at + 1;
    t.samples.stack.push(path.length ? this.stack(path) : -1);
    t.samples.time.push(at);
    t.samples.weight.push(weight);
    return this;
  }

  /** Nested calls in start order (ns). */
  spans(roots: SpanSpec[], thread = 0): this {
    const t = this.thread(thread);
    const visit = (spec: SpanSpec, path: string[]) => {
      const full = [...path, spec.name];
      const stack = this.stack(full);
      t.spans.stack.push(stack);
      t.spans.frame.push(this.frame(spec.name));
      t.spans.start.push(spec.start);
      t.spans.end.push(spec.end);
      t.spans.depth.push(path.length);
      for (const c of spec.children ?? []) visit(c, full);
    };
    for (const r of roots) visit(r, []);
    return this;
  }

  build(): Profile {
    let duration = 0;
    for (const t of this.threads) {
      for (const e of t.spans.end) duration = Math.max(duration, e);
      const n = t.samples.time.length;
      if (n) duration = Math.max(duration, t.samples.time[n - 1] + 1);
    }
    return {
      version: PROFILE_VERSION,
      format: 'test',
      name: 'test',
      unit: this.unit,
      hasTimeline: this.hasTimeline,
      startNs: 0,
      durationNs: duration,
      strings: this.strings,
      frames: {
        length: this.frames.func.length,
        func: Uint32Array.from(this.frames.func),
        file: Int32Array.from(this.frames.file),
        line: Uint32Array.from(this.frames.line),
        kind: Uint8Array.from(this.frames.kind),
      },
      stacks: {
        length: this.stacks.frame.length,
        prefix: Int32Array.from(this.stacks.prefix),
        frame: Uint32Array.from(this.stacks.frame),
      },
      threads: this.threads.map((t, i) => ({
        name: t.name,
        pid: 1,
        tid: i + 1,
        samples: {
          length: t.samples.stack.length,
          stack: Int32Array.from(t.samples.stack),
          time: Float64Array.from(t.samples.time),
          weight: Float64Array.from(t.samples.weight),
        },
        spans: {
          length: t.spans.stack.length,
          stack: Uint32Array.from(t.spans.stack),
          frame: Uint32Array.from(t.spans.frame),
          start: Float64Array.from(t.spans.start),
          end: Float64Array.from(t.spans.end),
          depth: Uint16Array.from(t.spans.depth),
        },
      })),
      meta: {},
    };
  }
}
