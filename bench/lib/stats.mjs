// Small statistics and printing helpers shared by the benches. Figures are medians with their spread because the
// bench machine has 2 noisy cores: a single run proves little, a median of several says something.

/** Median of the finite numbers in xs (NaN when there are none). */
export function median(xs) {
  return percentile(xs, 50);
}

/** Linear-interpolated percentile p (0..100) of the finite numbers in xs. */
export function percentile(xs, p) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const at = ((v.length - 1) * p) / 100;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return v[lo] + (v[hi] - v[lo]) * (at - lo);
}

export function minOf(xs) {
  return Math.min(...xs.filter((x) => Number.isFinite(x)));
}

export function maxOf(xs) {
  return Math.max(...xs.filter((x) => Number.isFinite(x)));
}

/** { median, min, max, n } of xs. */
export function summarize(xs) {
  return { median: median(xs), min: minOf(xs), max: maxOf(xs), n: xs.filter((x) => Number.isFinite(x)).length };
}

/** Rounds to `digits` decimals, keeping NaN as null so it survives JSON. */
export function round(x, digits = 1) {
  if (!Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** "PASS" / "MISS" / "n/a" for a figure against a target. `better` is 'higher' or 'lower'. */
export function verdict(value, target, better) {
  if (!Number.isFinite(value)) return 'n/a';
  const ok = better === 'higher' ? value >= target : better === 'lower-strict' ? value < target : value <= target;
  return ok ? 'PASS' : 'MISS';
}

/** Prints rows (arrays of cells) as an aligned text table with a header row. */
export function printTable(header, rows, out = process.stdout) {
  const cells = [header, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  out.write(`${line(cells[0])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of cells.slice(1)) out.write(`${line(r)}\n`);
}

/** "12.3 (min 11.0, max 14.2)" */
export function formatSpread(s, digits = 1) {
  if (!s || !Number.isFinite(s.median)) return 'n/a';
  if (s.n <= 1) return `${round(s.median, digits)}`;
  return `${round(s.median, digits)} (${round(s.min, digits)}–${round(s.max, digits)})`;
}

/** Progress lines go to stderr so stdout holds only the figures. */
export function log(...parts) {
  process.stderr.write(`[bench] ${parts.join(' ')}\n`);
}
