// Exact mode's options as every surface states them (the app's Record form, the CLI's `record --exact`, the
// `recordExact` request), their one check, and their translation into the tracer's keyword arguments
// (`_emberscope_tracer.start`, passed through EMBERSCOPE_EXACT_OPTIONS). Pure TypeScript: imports nothing.

export interface ExactOptions {
  /** Keep only calls of at least this many µs. Default 0: every call. */
  minDurationUs?: number;
  /** Keep only calls less than this many levels deep. Default: no limit. */
  maxDepth?: number;
  /** Keep only code whose file starts with one of these path prefixes. */
  include?: string[];
  /** Leave out code whose file starts with one of these. */
  exclude?: string[];
  /** Also record calls of C functions (builtins). */
  cCalls?: boolean;
  /** Keep only the last this many seconds (ring mode). */
  ringSeconds?: number;
  /** Stop recording when a process's file reaches this many MiB (the program goes on). Default 2048. */
  maxSizeMb?: number;
}

export const EXACT_LIMITS = {
  minDurationUs: [0, 3.6e9],
  maxDepth: [1, 100_000],
  ringSeconds: [0.1, 1e7],
  maxSizeMb: [1, 1 << 20],
} as const;

const NUMBERS = Object.keys(EXACT_LIMITS) as (keyof typeof EXACT_LIMITS)[];
const LISTS = ['include', 'exclude'] as const;
const MAX_PREFIXES = 64;
const MAX_PREFIX_LENGTH = 4096;

/** Null when `options` is a valid ExactOptions, else a sentence naming the field (`where.field`) and what is wrong. */
export function checkExactOptions(options: unknown, where = 'exact'): string | null {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return `${where}: expected an object`;
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(NUMBERS as string[]).includes(key) && !(LISTS as readonly string[]).includes(key) && key !== 'cCalls') {
      return `${where}.${key}: unknown option (expected ${[...NUMBERS, ...LISTS, 'cCalls'].join(', ')})`;
    }
  }
  for (const key of NUMBERS) {
    const v = o[key];
    if (v === undefined) continue;
    const [min, max] = EXACT_LIMITS[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      return `${where}.${key}: expected a number from ${min} to ${max}, got ${JSON.stringify(v)}`;
    }
  }
  for (const key of LISTS) {
    const v = o[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length > MAX_PREFIXES || !v.every((p) => typeof p === 'string' && p !== '' && p.length <= MAX_PREFIX_LENGTH)) {
      return `${where}.${key}: expected at most ${MAX_PREFIXES} non-empty path prefixes`;
    }
  }
  if (o.cCalls !== undefined && typeof o.cCalls !== 'boolean') return `${where}.cCalls: expected true or false`;
  return null;
}

/** The tracer's keyword arguments (snake_case, ns and bytes). */
export function toTracerOptions(o: ExactOptions): Record<string, unknown> {
  return {
    ...(o.minDurationUs !== undefined ? { min_duration_ns: Math.round(o.minDurationUs * 1000) } : {}),
    ...(o.maxDepth !== undefined ? { max_depth: Math.floor(o.maxDepth) } : {}),
    ...(o.include?.length ? { include: o.include } : {}),
    ...(o.exclude?.length ? { exclude: o.exclude } : {}),
    ...(o.cCalls ? { c_calls: true } : {}),
    ...(o.ringSeconds !== undefined ? { ring_seconds: o.ringSeconds } : {}),
    ...(o.maxSizeMb !== undefined ? { max_bytes: Math.floor(o.maxSizeMb) * 1024 * 1024 } : {}),
  };
}
