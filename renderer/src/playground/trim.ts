// A VM host's samples without the host's own frames. The script runs inside Emberscope's agent (runpy, the agent's
// `__main__`, Agent.run), so every stack of the script starts with those frames, and the agent's own threads
// sample too. The playground shows the script as the user wrote it: each stack keeps only what lies after its
// innermost agent frame, and samples where that is not the user's code (the agent's threads, the library code the
// agent calls: json, ast, between two runs) are left out. Pure and memoized like model/; the views say so.
import { FrameKind, type Profile } from '../../../electron/contract/profile';
import { memoizeByObject } from '../model/memo';
import { StackInterner } from '../model/transforms';

/** A frame of the host machinery: the agent package, runpy that starts it, or exact mode's bootstrap. */
export function isHostFile(file: string): boolean {
  return /[\\/]emberscope_agent[\\/]/.test(file) || /[\\/]emberscope_exact_boot\.py$/.test(file) || /(^|[\\/<])runpy(\.py)?>?$/.test(file) || file === '<frozen runpy>';
}

function buildTrimmed(profile: Profile): Profile {
  const { frames, stacks, strings } = profile;
  const hiddenFrame = new Uint8Array(frames.length);
  let any = false;
  for (let f = 0; f < frames.length; f++) {
    const file = frames.file[f] >= 0 ? strings[frames.file[f]] ?? '' : '';
    if (isHostFile(file)) {
      hiddenFrame[f] = 1;
      any = true;
    }
  }
  if (!any) return profile;
  // Stacks come after their prefixes, so one pass maps each to its trimmed stack (-1: nothing of the script yet).
  const newOf = new Int32Array(stacks.length);
  const passedHost = new Uint8Array(stacks.length);
  const out = new StackInterner();
  for (let s = 0; s < stacks.length; s++) {
    const p = stacks.prefix[s];
    const f = stacks.frame[s];
    const parent = p >= 0 ? newOf[p] : -1;
    // Right after a host frame only the user's code starts a stack again; what else the agent calls stays hidden.
    if (hiddenFrame[f] || (p >= 0 && passedHost[p] && parent < 0 && frames.kind[f] !== FrameKind.User)) {
      newOf[s] = -1;
      passedHost[s] = 1;
      continue;
    }
    passedHost[s] = p >= 0 ? passedHost[p] : 0;
    newOf[s] = out.intern(parent, f);
  }
  const threads = profile.threads.map((t) => {
    const keep: number[] = [];
    for (let i = 0; i < t.samples.length; i++) {
      const s = t.samples.stack[i];
      if (s >= 0 && passedHost[s] && newOf[s] < 0) continue;
      keep.push(i);
    }
    const stack = new Int32Array(keep.length);
    const time = new Float64Array(keep.length);
    const weight = new Float64Array(keep.length);
    keep.forEach((i, k) => {
      const s = t.samples.stack[i];
      stack[k] = s >= 0 ? newOf[s] : -1;
      time[k] = t.samples.time[i];
      weight[k] = t.samples.weight[i];
    });
    return { ...t, samples: { length: keep.length, stack, time, weight } };
  }).filter((t) => t.samples.length > 0 || t.spans.length > 0);
  return {
    ...profile,
    stacks: out.table(),
    threads,
  };
}

/** The profile with the host's frames and the host-only samples left out (the same object when there are none). */
export const trimHostFrames = memoizeByObject(buildTrimmed);
