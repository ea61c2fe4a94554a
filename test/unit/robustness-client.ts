// A bare WebSocket client for the robustness suites: speaks the wire protocol (codec frames) to a real `serve`, with
// no retry and no reconnection, so a test sees exactly what the server answered (or that it did not).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { findAppRoot } from '../../electron/services/native';
import { decodeFrame, encodeFrame } from '../../electron/contract/codec';
import type { ContractErrorShape } from '../../electron/contract/api';

export type WireResult = { ok: true; value: unknown } | { ok: false; error: ContractErrorShape };

export class WireClient {
  private nextId = 1;
  private readonly pending = new Map<number, (result: WireResult) => void>();
  readonly events: { event: string; payload: unknown }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const message = decodeFrame(data) as { t: string; id?: number; ok?: boolean; value?: unknown; error?: ContractErrorShape; event?: string; payload?: unknown };
      if (message.t === 'evt') {
        this.events.push({ event: message.event!, payload: message.payload });
        if (this.events.length > 1000) this.events.shift();
        return;
      }
      const done = this.pending.get(message.id!);
      this.pending.delete(message.id!);
      done?.(message.ok ? { ok: true, value: message.value } : { ok: false, error: message.error! });
    });
  }

  /** Connects to `ws://HOST:PORT/ws?token=…`; rejects with the HTTP status when the upgrade is refused. */
  static connect(url: string, headers: Record<string, string> = {}): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => resolve(new WireClient(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** The WebSocket URL of a page URL printed by `serve` (`http://H:P/?token=T`). */
  static socketUrl(pageUrl: string): string {
    const url = new URL(pageUrl);
    return `ws://${url.host}/ws?token=${url.searchParams.get('token')}`;
  }

  request(method: string, arg?: unknown): Promise<WireResult> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(encodeFrame(arg === undefined ? { t: 'req', id, method } : { t: 'req', id, method, arg }));
    });
  }

  /** Like `request`, but resolves to the value and throws the error's `code: message`. */
  async call(method: string, arg?: unknown): Promise<unknown> {
    const result = await this.request(method, arg);
    if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
    return result.value;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** Open file descriptors of this process (Linux). */
export function countOpenFds(): number {
  return readdirSync('/proc/self/fd').length;
}

const ROOT = findAppRoot();
const BIN = join(ROOT, 'bin', 'emberscope.mjs');

/** Builds the JS bundles from the current sources, so the CLI under test is this tree's (as cli-live does).
 * `cliOnly` builds dist/cli.mjs alone, for suites that run nothing else. */
export function buildCli(opts: { cliOnly?: boolean } = {}): void {
  execFileSync(process.execPath, [join(ROOT, 'build', 'build-js.mjs'), ...(opts.cliOnly ? ['--cli'] : [])], { cwd: ROOT, stdio: 'ignore' });
}

/** Runs a one-shot `emberscope ARGS…` (open, convert, …) from the app root and returns what it printed. */
export function runCliSync(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `emberscope ARGS…` to its end. `onStderr` sees stderr as it grows (to act once something has started). */
export function runCli(
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; onStderr?: (text: string, child: ChildProcess) => void },
): Promise<CliRun> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    opts.onStderr?.(stderr, child);
  });
  return new Promise((done) => child.once('close', (code, signal) => done({ code, signal, stdout, stderr })));
}

export interface ServeCli {
  /** The page URL serve printed (with its token). */
  url: string;
  /** `ws://…/ws?token=…` for that URL, with 127.0.0.1 as host. */
  socketUrl: string;
  port: number;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `emberscope serve ARGS…` (the real CLI) and resolves once it printed its URL. */
export function startServeCli(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<ServeCli> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 30 s:\n${stdout}${stderr}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /serving on (http:\/\/\S+\/\?token=[0-9a-f]+)/.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      const page = new URL(m[1]!);
      const port = Number(page.port);
      resolve({
        url: m[1]!,
        socketUrl: `ws://127.0.0.1:${port}/ws?token=${page.searchParams.get('token')}`,
        port,
        child,
        stderr: () => stderr,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before printing a URL:\n${stdout}${stderr}`)));
  });
}
