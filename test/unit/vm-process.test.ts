// Pieces of the host process layer on their own: the output ring keeps the newest text within its bound, and the
// guardian kills a process group it watches when its pipe closes, and never one it was told to forget.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GroupGuardian } from '../../electron/services/vm-guardian';
import { TextRing } from '../../electron/services/vm-process';
import { isAlive as alive } from './vm-harness';

async function until(probe: () => boolean, limitMs = 3000): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (!probe()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

describe('TextRing', () => {
  it('keeps the newest characters within its bound, in order', () => {
    const ring = new TextRing(10);
    for (let i = 0; i < 100; i++) ring.push(String(i % 10));
    expect(ring.text()).toBe('0123456789');
    ring.push('abc');
    expect(ring.text()).toBe('3456789abc');
    expect(ring.tail(4)).toBe('9abc');
    ring.push('x'.repeat(50));
    expect(ring.text()).toBe('x'.repeat(10));
  });
});

describe('GroupGuardian', () => {
  it('kills the groups it watches when closed, not the ones it forgot', async () => {
    const start = () => {
      const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
      child.unref();
      return child.pid!;
    };
    const [watched, forgotten] = [start(), start()];
    const guardian = new GroupGuardian();
    guardian.watch(watched);
    guardian.watch(forgotten);
    guardian.forget(forgotten);
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(watched) && alive(forgotten)).toBe(true);
    guardian.close();
    expect(await until(() => !alive(watched))).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(forgotten)).toBe(true);
    process.kill(-forgotten, 'SIGKILL');
  });
});
