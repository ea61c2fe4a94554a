// Review: what a `serve --host` client without --allow-remote-exec may write. Such a client may not start programs;
// writing a Python file the user will run (their own script, a sitecustomize.py beside a module of a virtualenv) is
// starting a program by other means. Real CLI, real WebSocket client, real files.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, startServeCli, WireClient, type ServeCli } from './robustness-client';

let tmp: string;
const serves: ServeCli[] = [];
const clients: WireClient[] = [];

beforeAll(() => {
  buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'emberscope-review-writes-'));
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(serves.splice(0).map((s) => s.stop()));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function connect(args: string[]): Promise<WireClient> {
  const serve = await startServeCli(args, { cwd: tmp, env: { EMBERSCOPE_HOME: join(tmp, 'home') } });
  serves.push(serve);
  const client = await WireClient.connect(serve.socketUrl);
  clients.push(client);
  return client;
}

describe('serve --host 0.0.0.0 without --allow-remote-exec', () => {
  it('refuses to write Python files: not a script it read, not a new one beside it, not a playground script', async () => {
    const client = await connect(['--host', '0.0.0.0']);
    const site = join(tmp, 'venv', 'site-packages');
    mkdirSync(site, { recursive: true });
    const module = join(site, 'helpers.py');
    writeFileSync(module, 'X = 1\n');
    const playground = join(tmp, 'home', 'playground');
    mkdirSync(playground, { recursive: true });
    writeFileSync(join(playground, 'mine.py'), 'print("my work")\n');

    // Reading stays allowed (the token lets its holder read what the user can; the server says so at start).
    expect(await client.call('readVmScript', { path: module })).toEqual({ path: module, text: 'X = 1\n' });
    const overwrite = await client.request('writeVmScript', { path: module, text: 'import os\n' });
    const plant = await client.request('writeVmScript', { path: join(site, 'sitecustomize.py'), text: 'import os\n' });
    const run = await client.request('startVmHost', { source: 'import os\n', name: 'mine.py' });
    for (const result of [overwrite, plant, run]) {
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe('permission-denied');
        expect(result.error.message).toMatch(/was refused: this server listens on 0\.0\.0\.0.*--allow-remote-exec/);
      }
    }
    expect(readFileSync(module, 'utf8')).toBe('X = 1\n');
    expect(existsSync(join(site, 'sitecustomize.py'))).toBe(false);
    expect(readFileSync(join(playground, 'mine.py'), 'utf8')).toBe('print("my work")\n');
  });
});

describe('serve on loopback', () => {
  it('still saves a script the editor opened (the token holder is the user)', async () => {
    const client = await connect([]);
    const script = join(tmp, 'own.py');
    writeFileSync(script, 'A = 1\n');
    await client.call('readVmScript', { path: script });
    expect(await client.call('writeVmScript', { path: script, text: 'A = 2\n' })).toEqual({ path: script });
    expect(readFileSync(script, 'utf8')).toBe('A = 2\n');
  });
});
