// Per-generation attribution with a real host, the real agent's live-frames and the real sampler: a loop entered
// under generation 0 keeps counting for generation 0 after generation 1 is applied; when only the function it
// calls changes, the samples after the reload count for generation 1.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createVmHarness, root, type VmHarness } from './vm-harness';

let h: VmHarness;
beforeEach(() => {
  h = createVmHarness();
});
afterEach(async () => {
  await h.dispose();
});

const SCRIPT = (loopExtra: string, workBody: string) => `import time

def work():
${workBody}

def main():
    n = 0
    while True:
        work()
        n += 1${loopExtra}
        if n % 50 == 0:
            time.sleep(0.001)

main()
`;
const WORK_A = '    s = 0\n    for i in range(3000):\n        s += i\n    return s';
const WORK_B = '    s = 0\n    for i in range(3000):\n        s += i * 2\n    return s';

/**
 * Generation of each sample of the script's main thread taken after the reload, from the host's own profile and
 * columns. (The agent's own threads, busy a moment with the reload and pings, run no old code of the script.)
 */
async function generationsAfterReload(hostId: string, index = 1): Promise<number[]> {
  const info = h.vm.info(hostId);
  const at = info.generations[index]!.at * 1e6;
  const profile = h.vm.getProfile(hostId);
  const columns = h.vm.generationColumns(hostId);
  const out: number[] = [];
  profile.threads.forEach((t, ti) => {
    if (t.tid !== info.pid) return;
    for (let i = 0; i < t.samples.length; i++) {
      // 20 ms after the reply: the apply itself is done by then.
      if (profile.startNs + t.samples.time[i]! > at + 20e6) out.push(columns[ti]![i]!);
    }
  });
  return out;
}

describe('generations with a real host', () => {
  it("the playground's particles example: after the edit, the new generation's samples are in the grid version", async () => {
    const source = readFileSync(join(root, 'assets', 'playground', 'particles.py'), 'utf8');
    const info = await h.vm.start({ script: h.script('particles.py', source), rateHz: 200 });
    await new Promise((r) => setTimeout(r, 1500));
    // The edit the example's docstring suggests: find_collisions's body becomes a call of the grid version.
    const start = source.indexOf('def find_collisions(particles):');
    const end = source.indexOf('\n\n\ndef find_collisions_grid');
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    const edited = `${source.slice(0, start)}def find_collisions(particles):\n    return find_collisions_grid(particles)${source.slice(end)}`;
    const report = await h.vm.reload(info.hostId, edited);
    expect(report).toMatchObject({ ok: true, generation: 1, patched: ['find_collisions'] });
    await new Promise((r) => setTimeout(r, 2000));
    const share = (generation: number, name: string) => {
      const p = h.vm.getProfile(info.hostId, generation);
      let hit = 0;
      let all = 0;
      for (const t of p.threads) {
        for (let i = 0; i < t.samples.length; i++) {
          all++;
          for (let s = t.samples.stack[i]!; s >= 0; s = p.stacks.prefix[s]!) {
            if (p.strings[p.frames.func[p.stacks.frame[s]!]!] === name) {
              hit++;
              break;
            }
          }
        }
      }
      return { hit, all };
    };
    const before = share(0, 'find_collisions_grid');
    const after = share(1, 'find_collisions_grid');
    expect(before.hit).toBe(0);
    expect(after.all).toBeGreaterThan(20);
    // The new find_collisions calls the grid version every frame; the rest of a frame moves particles.
    expect(after.hit / after.all).toBeGreaterThan(0.3);
    console.log(`particles: gen 0 ${before.all} samples, gen 1 ${after.all} (${after.hit} in find_collisions_grid)`);
  });

  it('a loop running old code keeps counting for its generation', async () => {
    const info = await h.vm.start({ script: h.script('loop.py', SCRIPT('', WORK_A)), rateHz: 200 });
    await new Promise((r) => setTimeout(r, 600));
    const report = await h.vm.reload(info.hostId, SCRIPT('\n        n += 0', WORK_B));
    expect(report.ok).toBe(true);
    expect(report.patched).toEqual(expect.arrayContaining(['main', 'work']));
    await new Promise((r) => setTimeout(r, 1500));
    const gens = await generationsAfterReload(info.hostId);
    expect(gens.length).toBeGreaterThan(50);
    // main() never returns: everything under it is generation 0.
    expect(gens.filter((g) => g === 0).length / gens.length).toBeGreaterThan(0.95);
    const counts = h.vm.info(info.hostId).generations;
    expect(counts[0]!.samples).toBeGreaterThan(counts[1]!.samples);
  });

  it('when only the called function changes, samples after the reload count for the new generation', async () => {
    const info = await h.vm.start({ script: h.script('loop2.py', SCRIPT('', WORK_A)), rateHz: 200 });
    await new Promise((r) => setTimeout(r, 600));
    const report = await h.vm.reload(info.hostId, SCRIPT('', WORK_B));
    expect(report).toMatchObject({ ok: true, patched: ['work'] });
    await new Promise((r) => setTimeout(r, 1500));
    const gens = await generationsAfterReload(info.hostId);
    expect(gens.length).toBeGreaterThan(50);
    expect(gens.filter((g) => g === 1).length / gens.length).toBeGreaterThan(0.95);
    // getVmProfile({generation: 1}) holds exactly the samples the column gives generation 1.
    const gen1 = h.vm.getProfile(info.hostId, 1);
    const inColumns = h.vm.generationColumns(info.hostId).reduce((n, c) => n + c.filter((g) => g === 1).length, 0);
    expect(gen1.threads.reduce((n, t) => n + t.samples.length, 0)).toBe(inColumns);
  });

  it('a short hot function caught mid-call and called back to back: samples after its return count for the new generation', async () => {
    // crunch() runs ~30 ms (N is calibrated on a long run: one iteration would time only the call) and main's loop
    // calls it again at once: to the sampler the old call and the next ones
    // look like one frame; the agent's frames-returned says when the old call ended.
    const source = (body: string) => `import time

def crunch():
    s = 0
    for i in range(N):
        ${body}
    return s

def main():
    while True:
        crunch()

N = 200_000
t0 = time.perf_counter()
crunch()
N = max(1, int(N * 0.03 / max(time.perf_counter() - t0, 1e-7)))
main()
`;
    const info = await h.vm.start({ script: h.script('short.py', source('s += i')), rateHz: 200 });
    await new Promise((r) => setTimeout(r, 600));
    let generation = 0;
    for (let attempt = 2; attempt < 7; attempt++) {
      const report = await h.vm.reload(info.hostId, source(`s += i * ${attempt}`));
      expect(report).toMatchObject({ ok: true, patched: ['crunch'] });
      generation = report.generation;
      // The list arrives right after the reply; the reload may (rarely) land between two calls: then again.
      const listed = await h.waitFor('onDidChangeVmHost', (p) => p.hostId === info.hostId && p.oldFrames?.generation === generation);
      if (listed.oldFrames!.frames.some((f) => f.name === 'crunch' && f.tid === info.pid)) break;
    }
    // The agent saw it return: the host's list of frames running old code is empty again.
    await h.waitFor('onDidChangeVmHost', (p) => p.hostId === info.hostId && p.oldFrames?.generation === generation && p.oldFrames.frames.length === 0, 5000);
    await new Promise((r) => setTimeout(r, 1500));
    const gens = await generationsAfterReload(info.hostId, generation);
    expect(gens.length).toBeGreaterThan(50);
    expect(gens.filter((g) => g === generation).length / gens.length).toBeGreaterThan(0.95);
  });
});
