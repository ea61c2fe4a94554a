// Issue 8, point 7: what the `serve` token (and the desktop renderer) may start. Against the real CLI (`serve`,
// `record`), real WebSocket clients and real programs: `/usr/bin/env /bin/sh -c …` as a "record" that writes a marker
// file shows whether a program ran, and what it is then reported as.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SessionTarget } from '../../electron/contract/api';
import { startServer, type RunningServer } from '../../electron/server/server';
import { confirmNewCommands, formatCommandLine, type ExecRequest } from '../../electron/services/exec-policy';
import { createServices, type EmberscopeServices } from '../../electron/services/services';
import { buildCli, runCli, startServeCli, WireClient, type ServeCli } from './robustness-client';

const OPTIONS = { rateHz: 100, nonblocking: false, includeIdle: false, gilOnly: false, subprocesses: false };
let tmp: string;
let serves: ServeCli[] = [];
let clients: WireClient[] = [];
let marks = 0;

beforeAll(() => {
  buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'emberscope-robust-exec-'));
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(serves.splice(0).map((s) => s.stop()));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A record target that is not Python: `/usr/bin/env /bin/sh -c 'echo ran >> MARKER'`; and its marker file. */
function shellTarget(): { target: SessionTarget; marker: string } {
  const marker = join(tmp, `marker-${++marks}`);
  return { target: { kind: 'record', interpreter: '/usr/bin/env', script: '/bin/sh', args: ['-c', 'echo ran >> "$0"', marker], cwd: tmp }, marker };
}

async function serveAndConnect(args: string[]): Promise<{ serve: ServeCli; client: WireClient }> {
  const serve = await startServeCli(args, { cwd: tmp, env: { EMBERSCOPE_HOME: join(tmp, 'home') } });
  serves.push(serve);
  const client = await WireClient.connect(serve.socketUrl);
  clients.push(client);
  return { serve, client };
}

const NOT_PYTHON = /ran `\/usr\/bin\/env \/bin\/sh -c 'echo ran >> "\$0"' \S+marker-\d+`: \/usr\/bin\/env is not a Python interpreter, and the program exited with code 0/;

describe('serve on loopback', () => {
  it('says what the token grants, runs what the token holder asks, and reports a non-Python program as what it was', async () => {
    const { serve, client } = await serveAndConnect([]);
    expect(serve.stderr()).toMatch(/whoever has it can open any file you \(\S+\) can read and run any program as you/);
    const { target, marker } = shellTarget();
    const result = await client.request('startSession', { target, options: OPTIONS });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      // It ran (the marker is there): not a "spawn-failed".
      expect(result.error.code).toBe('not-python');
      expect(result.error.message).toMatch(NOT_PYTHON);
    }
    expect(readFileSync(marker, 'utf8')).toBe('ran\n');
  });
});

describe('serve --host on a non-loopback address', () => {
  it('refuses record and attach without --allow-remote-exec, says so at start, and still serves the rest', async () => {
    const { serve, client } = await serveAndConnect(['--host', '0.0.0.0']);
    expect(serve.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\//);
    expect(serve.stderr()).toMatch(/serving on 0\.0\.0\.0: .*Starting or attaching to programs is off for clients; --allow-remote-exec turns it on/);
    const { target, marker } = shellTarget();
    const record = await client.request('startSession', { target, options: OPTIONS });
    expect(record.ok).toBe(false);
    if (!record.ok) {
      expect(record.error.code).toBe('permission-denied');
      expect(record.error.message).toMatch(/^recording `\/usr\/bin\/env \/bin\/sh -c .*` was refused: this server listens on 0\.0\.0\.0.*--allow-remote-exec/);
    }
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const attach = await client.request('startSession', { target: { kind: 'attach', pid: sleeper.pid }, options: OPTIONS });
      expect(attach.ok).toBe(false);
      if (!attach.ok) {
        expect(attach.error.code).toBe('permission-denied');
        expect(attach.error.message).toMatch(new RegExp(`^attaching to pid ${sleeper.pid} \\(sleep 30\\) was refused`));
      }
    } finally {
      sleeper.kill('SIGKILL');
    }
    // Give a program every chance to have run before concluding it did not.
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(marker)).toBe(false);
    expect(await client.call('listTraces')).toEqual([]);
  });

  it('keeps the Host check: a name that is not this machine is refused (DNS rebinding)', async () => {
    const { serve } = await serveAndConnect(['--host', '0.0.0.0']);
    await expect(WireClient.connect(serve.socketUrl, { Host: `attacker.example:${serve.port}` })).rejects.toThrow(/upgrade refused: 403/);
    const viaOrigin = WireClient.connect(serve.socketUrl, { Origin: `http://attacker.example:${serve.port}` });
    await expect(viaOrigin).rejects.toThrow(/upgrade refused: 403/);
    const ok = await WireClient.connect(serve.socketUrl, { Origin: `http://127.0.0.1:${serve.port}` });
    clients.push(ok);
  });

  it('with --allow-remote-exec runs what clients ask, after saying plainly what that grants', async () => {
    const { serve, client } = await serveAndConnect(['--host', '0.0.0.0', '--allow-remote-exec']);
    expect(serve.stderr()).toMatch(/warning: serving on 0\.0\.0\.0 with --allow-remote-exec: anyone who can reach this address and has the URL can run any program as \S+ on this machine/);
    const { target, marker } = shellTarget();
    const result = await client.request('startSession', { target, options: OPTIONS });
    expect(result.ok ? 'ok' : result.error.code).toBe('not-python');
    expect(readFileSync(marker, 'utf8')).toBe('ran\n');
  });
});

describe('emberscope record', () => {
  it('reports a program that ran but was not Python as what it was', async () => {
    const marker = join(tmp, 'cli-marker');
    const r = await runCli(['record', '-o', join(tmp, 'never.json'), '--', '/usr/bin/env', '/bin/sh', '-c', 'echo ran >> "$0"', marker], {
      cwd: tmp,
      env: { EMBERSCOPE_HOME: join(tmp, 'home') },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ran `\/usr\/bin\/env \/bin\/sh -c .*cli-marker`: \/usr\/bin\/env is not a Python interpreter, and the program exited with code 0/);
    expect(r.stderr).not.toMatch(/spawn/);
    expect(readFileSync(marker, 'utf8')).toBe('ran\n');
  });
});

describe('desktop policy: a new command line needs the user', () => {
  // The desktop app's main process passes Electron's dialog.showMessageBox as `confirm`; here a scripted answer
  // plays the user, and everything else (services, server, WebSocket client, programs) is real.
  let server: RunningServer | undefined;
  let services: EmberscopeServices | undefined;
  afterEach(async () => {
    await server?.close();
    await services?.dispose();
    server = services = undefined;
  });

  async function start(dataDir: string, answer: (r: ExecRequest, line: string) => boolean, asked: string[]): Promise<WireClient> {
    const execPolicy = confirmNewCommands({
      dataDir,
      confirm: async (request, line) => {
        asked.push(line);
        await new Promise((r) => setTimeout(r, 50)); // a user takes a moment
        return answer(request, line);
      },
    });
    services = createServices({ host: 'electron', dataDir, execPolicy });
    server = await startServer({ services, staticDir: tmp });
    const client = await WireClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`);
    clients.push(client);
    return client;
  }

  it('shows exactly what will run, runs nothing when declined, remembers an approval per exact command line', async () => {
    const dataDir = join(tmp, 'desktop-home');
    const asked: string[] = [];
    let allow = false;
    let client = await start(dataDir, () => allow, asked);
    const { target, marker } = shellTarget();
    const declined = await client.request('startSession', { target, options: OPTIONS });
    expect(declined.ok ? 'ok' : declined.error.code).toBe('cancelled');
    if (!declined.ok) expect(declined.error.message).toMatch(/was not run: you declined it/);
    expect(asked).toEqual([`/usr/bin/env /bin/sh -c 'echo ran >> "$0"' ${marker}`]);
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(marker)).toBe(false);

    // Approved: it runs; two identical requests at once make one dialog.
    allow = true;
    const both = await Promise.all([0, 1].map(() => client.request('startSession', { target, options: OPTIONS })));
    expect(both.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['not-python', 'not-python']);
    expect(asked).toHaveLength(2);
    expect(readFileSync(marker, 'utf8')).toBe('ran\nran\n');

    // Remembered across runs (on disk), for that exact command line only.
    await client.close();
    await server!.close();
    await services!.dispose();
    allow = false;
    client = await start(dataDir, () => allow, asked);
    expect((await client.request('startSession', { target, options: OPTIONS })).ok).toBe(false);
    expect(asked).toHaveLength(2);
    expect(readFileSync(marker, 'utf8')).toBe('ran\nran\nran\n');
    const changed = { ...target, args: [...(target as { args: string[] }).args, 'extra'] };
    const refused = await client.request('startSession', { target: changed, options: OPTIONS });
    expect(refused.ok ? 'ok' : refused.error.code).toBe('cancelled');
    expect(asked).toHaveLength(3);
    expect(JSON.parse(readFileSync(join(dataDir, 'approved-commands.json'), 'utf8')).approved).toHaveLength(1);
  });

  it('spells out characters that could disguise a command line', () => {
    expect(formatCommandLine(['/usr/bin/python3', 'a b.py', "it's", ''])).toBe(`/usr/bin/python3 'a b.py' 'it'\\''s' ''`);
    expect(formatCommandLine(['python3', 'safe.py\u202e\nyp.evil'])).toBe(`python3 $'safe.py\\u202e\\x0ayp.evil'`);
    expect(formatCommandLine(['sh', '-c', 'rm -rf ~\x1b[2K'])).toBe(`sh -c $'rm -rf ~\\x1b[2K'`);
  });
});
