// No host outlives the main process: a Node child starts VM hosts (each with a script child of its own, one of them
// stuck in C holding the GIL), is killed with SIGKILL (no cleanup runs), and every host process and the scripts'
// children must be gone within 2 s. The agents notice EOF on their control channel and kill their process group,
// PR_SET_PDEATHSIG ends an agent that cannot, and the guardian (vm-guardian.ts) kills the groups that remain.
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive as alive, root } from './vm-harness';

describe('no orphans', () => {
  it('hosts and their children are gone within 2 s after the main process is SIGKILLed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emberscope-orphans-'));
    try {
      const script = join(dir, 'parent.py');
      // A script that starts a child of its own (sleep), prints its pid, and loops.
      writeFileSync(
        script,
        'import subprocess, time\np = subprocess.Popen(["sleep", "60"])\nprint("child", p.pid, flush=True)\nwhile True:\n    time.sleep(0.05)\n',
      );
      // The same, then stuck in C holding the GIL (a regular expression backtracking for minutes): its agent cannot
      // act on EOF; the guardian (vm-guardian.ts) kills its group.
      const stuck = join(dir, 'stuck.py');
      writeFileSync(
        stuck,
        'import re, subprocess\np = subprocess.Popen(["sleep", "60"])\nprint("child", p.pid, flush=True)\nre.match(r"(a+)+$", "a" * 40 + "b")\n',
      );
      const driver = join(dir, 'driver.mts');
      writeFileSync(
        driver,
        `import { createVmHarness } from ${JSON.stringify(join(root, 'test', 'unit', 'vm-harness.ts'))};
const h = createVmHarness();
const hosts = [];
for (let i = 0; i < 3; i++) hosts.push(await h.vm.start({ script: i === 2 ? ${JSON.stringify(stuck)} : ${JSON.stringify(script)} }));
await h.waitFor('onDidVmOutput', () => hosts.every((x) => /child \\d+/.test(h.output(x.hostId))));
const children = hosts.map((x) => Number(/child (\\d+)/.exec(h.output(x.hostId))[1]));
console.log(JSON.stringify({ hosts: hosts.map((x) => x.pid), children }));
setInterval(() => undefined, 1000);
`,
      );
      // `--import tsx` in this very process: tsx's CLI would run the driver in a grandchild that outlives the kill.
      const child = spawn(process.execPath, ['--import', 'tsx', driver], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: process.env,
      });
      const pids = await new Promise<{ hosts: number[]; children: number[] }>((resolvePids, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) resolvePids(JSON.parse(line));
        });
        child.once('exit', (code) => reject(new Error(`driver exited (${code}) early: ${out}`)));
      });
      const all = [...pids.hosts, ...pids.children];
      expect(all).toHaveLength(6);
      expect(all.every(alive)).toBe(true);
      child.kill('SIGKILL');
      const killedAt = Date.now();
      while (all.some(alive) && Date.now() - killedAt < 2000) await new Promise((r) => setTimeout(r, 20));
      const left = all.filter(alive);
      for (const pid of left) process.kill(pid, 'SIGKILL'); // never leave them behind, even when failing
      expect(left.map((pid) => (pids.hosts.includes(pid) ? `host ${pid}` : `child ${pid}`))).toEqual([]);
      console.log(`all ${all.length} processes gone ${Date.now() - killedAt} ms after SIGKILL`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
