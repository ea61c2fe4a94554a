// Tests wait on conditions, never on a fixed sleep: `waitUntil` polls a check until it holds and fails with what it
// waited for when the limit passes. The limit only guards against a hang; a passing run waits as long as it must.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Resolves with the first truthy value of `check`; throws after `limitMs` naming `what` and the last value. */
export async function waitUntil<T>(what: string, check: () => T | Promise<T>, limitMs = 30_000): Promise<NonNullable<T>> {
  const until = Date.now() + limitMs;
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (last) return last as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out after ${limitMs} ms waiting for ${what} (last value: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The batches of a live session's recording so far, as the sampler cut them: one line per cut, empty ones too (a
 * paused session still cuts one per batch interval), so their number tells how far the sampler has got, where a
 * fixed sleep would guess. A line still being written (no newline yet) is left out.
 */
export function readRecordedBatches(path: string): { stats: { samples: number } }[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').slice(1, -1).map((line) => JSON.parse(line).batch);
}

/** The recording of the session on `pid` under `home` (EMBERSCOPE_HOME), or '' before it exists. */
export function findRecording(home: string, pid: number | string): string {
  const dir = join(home, 'recordings');
  const name = existsSync(dir) ? readdirSync(dir).find((n) => n.endsWith(`-${pid}.jsonl`)) : undefined;
  return name ? join(dir, name) : '';
}
