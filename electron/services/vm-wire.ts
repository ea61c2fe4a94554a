// The main process's end of the VM wire protocol (electron/contract/vm-protocol.ts): parses one agent line into a
// VmAgentMessage or refuses it, splits the fd-3 byte stream into lines, and encodes requests.
// Strict on purpose: the agent runs the user's code in the same process, so a line that does not match the spec
// exactly (unknown keys, wrong types, oversized values) is a protocol error, never half-trusted. Checked against
// the JSON examples the Python side is tested with (test/fixtures/vm-protocol/).
import type { VmAgentMessage, VmEvent, VmReloadReport, VmReply, VmRequest, VmRunEnd, VmSourceError } from '../contract/vm-protocol';
import { VM_LIMITS } from '../contract/vm-protocol';
import { isPlainObject } from '../contract/validate';

export type ParsedLine = { ok: true; message: VmAgentMessage } | { ok: false; error: string };

/** Thrown inside the checks below; caught by parseAgentLine. */
class Refusal extends Error {}

/** Longest string field we accept from an agent (tracebacks and sources included), and the agent from us. */
export const MAX_TEXT = 1024 * 1024;
const MAX_LIST = 100_000;

function fail(where: string, what: string, value: unknown): never {
  // The kind of value only: an agent's line is never echoed back into errors and logs.
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  throw new Refusal(`${where}: expected ${what}, got ${kind}`);
}

function obj(value: unknown, where: string, required: string[], optional: string[] = []): Record<string, unknown> {
  if (!isPlainObject(value)) fail(where, 'an object', value);
  for (const key of Object.keys(value)) {
    if (!required.includes(key) && !optional.includes(key)) throw new Refusal(`${where}: unknown key "${key.slice(0, 40)}"`);
  }
  for (const key of required) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) throw new Refusal(`${where}: missing "${key}"`);
  }
  return value;
}

function str(value: unknown, where: string, allowEmpty = true): string {
  if (typeof value !== 'string' || value.length > MAX_TEXT || (!allowEmpty && value === '')) fail(where, 'a string', value);
  return value;
}

function int(value: unknown, where: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) fail(where, `an integer >= ${min}`, value);
  return value;
}

function num(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(where, 'a non-negative number', value);
  return value;
}

function list<T>(value: unknown, where: string, item: (v: unknown, where: string) => T): T[] {
  if (!Array.isArray(value) || value.length > MAX_LIST) fail(where, 'an array', value);
  return value.map((v, i) => item(v, `${where}[${i}]`));
}

function sourceError(value: unknown, where: string): VmSourceError {
  const e = obj(value, where, ['file', 'line', 'col', 'message', 'traceback']);
  str(e.file, `${where}.file`);
  int(e.line, `${where}.line`);
  int(e.col, `${where}.col`);
  str(e.message, `${where}.message`);
  str(e.traceback, `${where}.traceback`);
  return e as unknown as VmSourceError;
}

function reloadReport(value: unknown, where: string): VmReloadReport {
  const r = obj(value, where, ['generation', 'ok', 'files', 'modules', 'patched', 'added', 'removed', 'refused', 'ms', 'staleClasses'], ['error']);
  int(r.generation, `${where}.generation`);
  if (typeof r.ok !== 'boolean') fail(`${where}.ok`, 'a boolean', r.ok);
  for (const key of ['files', 'modules', 'patched', 'added', 'removed']) list(r[key], `${where}.${key}`, str);
  list(r.refused, `${where}.refused`, (v, w) => {
    const x = obj(v, w, ['name', 'reason']);
    str(x.name, `${w}.name`);
    str(x.reason, `${w}.reason`);
  });
  num(r.ms, `${where}.ms`);
  int(r.staleClasses, `${where}.staleClasses`);
  if (r.error !== undefined) sourceError(r.error, `${where}.error`);
  // A failed reload says why; a reload that worked has nothing to point at.
  if (r.ok === false && r.error === undefined) throw new Refusal(`${where}: a failed reload must carry "error"`);
  return r as unknown as VmReloadReport;
}

function runEnd(value: unknown, where: string): VmRunEnd {
  if (!isPlainObject(value)) fail(where, 'an object', value);
  switch (value.cause) {
    case 'return':
    case 'interrupted':
      obj(value, where, ['cause']);
      break;
    case 'exception':
      sourceError(obj(value, where, ['cause', 'error']).error, `${where}.error`);
      break;
    case 'sys.exit': {
      const e = obj(value, where, ['cause', 'code'], ['message']);
      if (typeof e.code !== 'number' || !Number.isSafeInteger(e.code)) fail(`${where}.code`, 'an integer', e.code);
      if (e.message !== undefined) str(e.message, `${where}.message`);
      break;
    }
    default:
      fail(`${where}.cause`, '"return", "exception", "sys.exit" or "interrupted"', value.cause);
  }
  return value as unknown as VmRunEnd;
}

function checkReply(m: Record<string, unknown>): VmReply {
  int(m.reply, 'reply');
  if (m.ok === false) {
    str(obj(m, 'reply', ['reply', 'ok', 'error']).error, 'error');
  } else if (m.ok === true) {
    if (Object.prototype.hasOwnProperty.call(m, 'report')) {
      reloadReport(obj(m, 'reply', ['reply', 'ok', 'report']).report, 'report');
    } else {
      const r = obj(m, 'reply', ['reply', 'ok'], ['result']);
      if (r.result !== undefined) {
        const res = obj(r.result, 'result', [], ['generation', 'pong']);
        if (res.generation !== undefined) int(res.generation, 'result.generation');
        if (res.pong !== undefined && res.pong !== true) fail('result.pong', 'true', res.pong);
      }
    }
  } else {
    fail('ok', 'a boolean', m.ok);
  }
  return m as unknown as VmReply;
}

function checkEvent(m: Record<string, unknown>): VmEvent {
  switch (m.event) {
    case 'hello': {
      const e = obj(m, 'hello', ['event', 'protocol', 'pid', 'python', 'implementation', 'executable'], ['stackSignal']);
      int(e.protocol, 'hello.protocol', 1);
      int(e.pid, 'hello.pid', 1);
      str(e.python, 'hello.python', false);
      str(e.implementation, 'hello.implementation', false);
      str(e.executable, 'hello.executable');
      if (e.stackSignal !== undefined) int(e.stackSignal, 'hello.stackSignal', 1);
      break;
    }
    case 'started': {
      const e = obj(m, 'started', ['event', 'generation', 't']);
      if (e.generation !== 0) fail('started.generation', '0', e.generation);
      num(e.t, 'started.t');
      break;
    }
    case 'reload':
      reloadReport(obj(m, 'reload', ['event', 'report']).report, 'reload.report');
      break;
    case 'live-frames': {
      const e = obj(m, 'live-frames', ['event', 'generation', 'threads']);
      int(e.generation, 'live-frames.generation');
      list(e.threads, 'live-frames.threads', (t, w) => {
        const th = obj(t, w, ['tid', 'frames']);
        int(th.tid, `${w}.tid`);
        list(th.frames, `${w}.frames`, (f, wf) => {
          const fr = obj(f, wf, ['name', 'file', 'depth', 'oldGeneration']);
          str(fr.name, `${wf}.name`, false);
          str(fr.file, `${wf}.file`);
          int(fr.depth, `${wf}.depth`);
          int(fr.oldGeneration, `${wf}.oldGeneration`);
        });
      });
      break;
    }
    case 'frames-returned': {
      const e = obj(m, 'frames-returned', ['event', 'generation', 't', 'frames']);
      int(e.generation, 'frames-returned.generation');
      num(e.t, 'frames-returned.t');
      list(e.frames, 'frames-returned.frames', (f, w) => {
        const fr = obj(f, w, ['tid', 'name', 'file', 'depth']);
        int(fr.tid, `${w}.tid`);
        str(fr.name, `${w}.name`, false);
        str(fr.file, `${w}.file`);
        int(fr.depth, `${w}.depth`);
      });
      break;
    }
    case 'modules':
      list(obj(m, 'modules', ['event', 'files']).files, 'modules.files', (v, w) => str(v, w, false));
      break;
    case 'ended':
      runEnd(obj(m, 'ended', ['event', 'end']).end, 'ended.end');
      break;
    default:
      fail('event', 'a known event name', m.event);
  }
  return m as unknown as VmEvent;
}

/** Parses one line (without its '\n') from the agent. Never throws. */
export function parseAgentLine(line: string): ParsedLine {
  if (line.length > VM_LIMITS.maxLineBytes) return { ok: false, error: `line longer than ${VM_LIMITS.maxLineBytes} bytes` };
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  try {
    if (!isPlainObject(raw)) fail('message', 'an object', raw);
    if (Object.prototype.hasOwnProperty.call(raw, 'reply')) return { ok: true, message: checkReply(raw) };
    if (Object.prototype.hasOwnProperty.call(raw, 'event')) return { ok: true, message: checkEvent(raw) };
    throw new Refusal('message: neither a reply nor an event');
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, error: err.message };
    throw err;
  }
}

/** One request as a line. */
export function encodeRequest(request: VmRequest): string {
  return `${JSON.stringify(request)}\n`;
}

/**
 * Splits a byte stream into '\n'-terminated UTF-8 lines. A line longer than the limit is an error (the channel is
 * then closed by the caller), so a runaway agent cannot make us buffer without bound.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly onLine: (line: string) => void, private readonly maxBytes = VM_LIMITS.maxLineBytes) {}

  /** Feeds bytes; throws when a line grows past the limit. */
  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      this.checkSize(piece.length);
      const line = this.parts.length === 0 ? piece : Buffer.concat([...this.parts, piece]);
      this.parts = [];
      this.size = 0;
      start = nl + 1;
      this.onLine(line.toString('utf8'));
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.checkSize(rest.length);
      this.parts.push(rest);
      this.size += rest.length;
    }
  }

  private checkSize(extra: number): void {
    if (this.size + extra > this.maxBytes) throw new Error(`the agent sent a line longer than ${this.maxBytes} bytes`);
  }
}
