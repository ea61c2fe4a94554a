// A VM host's profile with its generations, as one speedscope file: per thread, a profile of all its samples, then
// one per generation (only the samples attributed to it, see vm-attribution.ts). Speedscope shows them as a list;
// Emberscope opens each as a thread. Written by `emberscope vm -o`.
import type { VmGeneration } from '../contract/api';
import type { Profile, WeightUnit } from '../contract/profile';

const SPEEDSCOPE_UNITS: Partial<Record<WeightUnit, string>> = {
  nanoseconds: 'nanoseconds',
  microseconds: 'microseconds',
  milliseconds: 'milliseconds',
  seconds: 'seconds',
  bytes: 'bytes',
};

interface SampledProfile {
  type: 'sampled';
  name: string;
  unit: string;
  startValue: number;
  endValue: number;
  samples: number[][];
  weights: number[];
}

/**
 * `columns[t][i]` is the generation of sample i of thread t. Frames are shared by every profile of the file; each
 * stack is written root first, as speedscope wants.
 */
export function toSpeedscopeWithGenerations(
  profile: Profile,
  columns: Uint32Array[],
  generations: VmGeneration[],
  attribution: string,
): string {
  const frames: { name: string; file?: string; line?: number }[] = [];
  for (let f = 0; f < profile.frames.length; f++) {
    const file = profile.frames.file[f]!;
    const line = profile.frames.line[f]!;
    frames.push({
      name: profile.strings[profile.frames.func[f]!] ?? '?',
      ...(file >= 0 ? { file: profile.strings[file] } : {}),
      ...(line > 0 ? { line } : {}),
    });
  }
  const stackCache = new Map<number, number[]>();
  const framesOf = (stack: number): number[] => {
    if (stack < 0) return [];
    let cached = stackCache.get(stack);
    if (!cached) {
      cached = [...framesOf(profile.stacks.prefix[stack]!), profile.stacks.frame[stack]!];
      stackCache.set(stack, cached);
    }
    return cached;
  };
  const unit = SPEEDSCOPE_UNITS[profile.unit] ?? 'none';
  const profiles: SampledProfile[] = [];
  const gens = generations.map((g) => g.generation);
  profile.threads.forEach((thread, t) => {
    const column = columns[t] ?? new Uint32Array(0);
    const build = (name: string, keep: (i: number) => boolean): SampledProfile => {
      const samples: number[][] = [];
      const weights: number[] = [];
      let total = 0;
      for (let i = 0; i < thread.samples.length; i++) {
        if (!keep(i)) continue;
        samples.push(framesOf(thread.samples.stack[i]!));
        weights.push(thread.samples.weight[i]!);
        total += thread.samples.weight[i]!;
      }
      return { type: 'sampled', name, unit, startValue: 0, endValue: total, samples, weights };
    };
    const label = `${thread.name} (pid ${thread.pid}, tid ${thread.tid})`;
    profiles.push(build(`${label}: all generations`, () => true));
    for (const g of gens) profiles.push(build(`${label}: generation ${g}`, (i) => i < column.length && column[i] === g));
  });
  return JSON.stringify({
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    name: profile.name,
    exporter: 'emberscope vm',
    // Not part of speedscope's schema (readers ignore it): how samples were given their generation.
    emberscopeAttribution: attribution,
    activeProfileIndex: 0,
    shared: { frames },
    profiles,
  });
}
