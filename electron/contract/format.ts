// Number formatting for people, the one home for every surface (the renderer's views, the CLI's tables and status
// lines, the services' error messages): durations, counts, bytes and shares with three significant digits.
// Pure TypeScript: imports nothing from Node, Electron or React.
import { nsPerUnit, type WeightUnit } from './profile';

/** A duration in ns as a short human string. */
export function formatNs(ns: number): string {
  const a = Math.abs(ns);
  if (a === 0) return '0';
  if (a < 1e3) return `${trim(ns)} ns`;
  if (a < 1e6) return `${trim(ns / 1e3)} µs`;
  if (a < 1e9) return `${trim(ns / 1e6)} ms`;
  if (a < 60e9) return `${trim(ns / 1e9)} s`;
  const min = Math.floor(a / 60e9);
  return `${min} min ${trim((a - min * 60e9) / 1e9)} s`;
}

/** Three significant digits, no trailing zeros. */
function trim(v: number): string {
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return v.toFixed(digits).replace(/\.0+$|(\.\d*?)0+$/, '$1');
}

export function formatCount(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return trim(v);
}

export function formatBytes(v: number): string {
  const a = Math.abs(v);
  if (a < 1024) return `${trim(v)} B`;
  if (a < 1024 ** 2) return `${trim(v / 1024)} KiB`;
  if (a < 1024 ** 3) return `${trim(v / 1024 ** 2)} MiB`;
  return `${trim(v / 1024 ** 3)} GiB`;
}

/** A weight in `unit`. */
export function formatWeight(value: number, unit: WeightUnit): string {
  const ns = nsPerUnit(unit);
  if (ns !== null) return formatNs(value * ns);
  if (unit === 'bytes') return formatBytes(value);
  if (unit === 'samples') return `${formatCount(value)} ${value === 1 ? 'sample' : 'samples'}`;
  return formatCount(value);
}

export function formatPercent(part: number, whole: number): string {
  if (!(whole > 0)) return '–';
  const p = (part / whole) * 100;
  if (p >= 10) return `${p.toFixed(1)}%`;
  if (p >= 0.01) return `${p.toFixed(2)}%`;
  return p > 0 ? '<0.01%' : '0%';
}

/** "a", "a or b", "a, b or c": a list of choices in a sentence. */
export function formatChoices(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}
