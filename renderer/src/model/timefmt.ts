// Times at the precision the zoom gives them: an axis tick or a start time must differ from its neighbour one
// step (or one pixel) away, so "1.75 ms" becomes "1.7503 ms" when the view spans 40 µs. Pure.

const UNITS: readonly [number, string][] = [[1e9, 's'], [1e6, 'ms'], [1e3, 'µs'], [1, 'ns']];

/** The unit a value is read in: by its own size, or by the resolution for 0 (the axis's first tick). */
function pickUnit(ns: number, resolutionNs: number): [number, string] {
  const a = Math.abs(ns) || Math.abs(resolutionNs);
  for (const u of UNITS) if (a >= u[0]) return u;
  return UNITS[UNITS.length - 1];
}

/**
 * `ns` in s/ms/µs/ns with as many decimals as needed for values `resolutionNs` apart to read differently (at most
 * ns precision).
 */
export function formatNsAt(ns: number, resolutionNs: number): string {
  const [size, name] = pickUnit(ns, resolutionNs);
  const res = resolutionNs > 0 && Number.isFinite(resolutionNs) ? resolutionNs : size;
  const value = ns / size;
  const needed = Math.ceil(Math.log10(size / res) - 1e-9);
  const decimals = Math.min(Math.max(needed, 0), Math.round(Math.log10(size)));
  return `${value.toFixed(decimals)} ${name}`;
}
