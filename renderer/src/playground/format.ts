// Wording of the playground's figures: normalized diff values, signed changes, host states and ends.
import type { VmHostInfo, VmRefusal, VmReloadReport } from '../../../electron/contract/api';
import type { WeightUnit } from '../../../electron/contract/profile';
import { DiffClass, type DiffNormalization, type DiffValue } from '../model/diff';
import { formatCount, formatWeight } from '../model/format';

/** A normalized value: a share as a percentage, or a rate per second of wall time in the profile's unit. */
export function formatDiffValue(v: number, norm: DiffNormalization, unit: WeightUnit): string {
  if (norm === 'proportional') return formatShare(v);
  if (v === 0) return '0';
  if (unit === 'samples') return `${formatCount(Number(v.toPrecision(3)))}/s`;
  return `${formatWeight(v, unit)}/s`;
}

function formatShare(v: number): string {
  const p = v * 100;
  if (p === 0) return '0%';
  const a = Math.abs(p);
  return `${a >= 10 ? p.toFixed(1) : a >= 0.01 ? p.toFixed(2) : p > 0 ? '<0.01' : '>-0.01'}%`;
}

/** "+12.3%" / "−4.1/s": the change with an explicit sign (a true minus sign). */
export function formatDelta(v: DiffValue, norm: DiffNormalization, unit: WeightUnit): string {
  if (v.delta === 0) return '0';
  const text = formatDiffValue(Math.abs(v.delta), norm, unit);
  return `${v.delta > 0 ? '+' : '−'}${norm === 'proportional' ? text.replace('%', ' pp') : text}`;
}

/** The relative change, "−72%", or "new" / "gone" for one-sided functions. */
export function formatRelative(v: DiffValue): string {
  if (v.cls === DiffClass.OnlyAfter) return 'new';
  if (v.cls === DiffClass.OnlyBefore) return 'gone';
  // From nothing, within noise: no ratio to give.
  if (v.before === 0) return '';
  const r = (v.after - v.before) / v.before;
  return `${r > 0 ? '+' : r < 0 ? '−' : ''}${Math.abs(r * 100).toFixed(Math.abs(r) >= 0.1 ? 0 : 1)}%`;
}

export const CLASS_NAMES: Record<DiffClass, string> = {
  [DiffClass.Neutral]: 'neutral',
  [DiffClass.Faster]: 'faster',
  [DiffClass.Slower]: 'slower',
  [DiffClass.OnlyBefore]: 'only-before',
  [DiffClass.OnlyAfter]: 'only-after',
};

/** 83.4 s -> "1:23"; under a minute "12.3 s". */
export function formatUptime(ms: number): string {
  const s = Math.max(0, ms / 1000);
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  const rest = Math.floor(s - m * 60);
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:${String(rest).padStart(2, '0')}` : `${m}:${String(rest).padStart(2, '0')}`;
}

export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}:${String(d.getSeconds()).padStart(2, '0')}`;
}

/** Headline of how a host ended, and whether it is bad news. */
export function describeHostEnd(info: VmHostInfo): { headline: string; bad: boolean } | null {
  const end = info.end;
  if (!end) return null;
  const bad = !(end.cause === 'return' || end.cause === 'stopped' || end.cause === 'interrupted' || (end.cause === 'sys.exit' && !end.exitCode));
  return { headline: end.message || end.cause, bad };
}

/**
 * The refusals of the reload that made `info.generation` that still hold: a "running now" refusal (a function that
 * was running at the reload keeps its old code there) lasts while the host lists that frame as running old code
 * (`info.oldFrames`, which the agent's `frames-returned` shrinks); the other refusals last.
 */
export function refusalsInEffect(info: VmHostInfo, report: VmReloadReport): VmRefusal[] {
  const old = info.oldFrames;
  if (!old || old.generation !== report.generation) return report.refused;
  return report.refused.filter((r) => {
    const depth = /^running now\b.*\(depth (\d+)\)/.exec(r.reason);
    if (!depth) return true;
    // The refusal names the function as the report does (module-prefixed outside __main__), at that depth.
    return old.frames.some((f) => f.depth === Number(depth[1]) && (r.name === f.name || r.name.endsWith(`.${f.name}`)));
  });
}
