// Validation of everything that arrives over a transport before it reaches a service. The renderer is treated as
// untrusted (a compromised page, a hostile local web page that guessed the port, a buggy build): every request is
// checked against a strict per-method schema, so unknown keys, wrong types, prototype-pollution keys and oversized
// values are refused with 'bad-request' before any service code runs.
// Pure TypeScript: imports nothing from Node, Electron or React.
import { formatChoices } from './format';
import { checkExactOptions } from './exact';
import { ERROR_CODES, EXPORT_FORMAT_NAMES, isExportFormat, REQUEST_NAMES, type ErrorCode, type RequestName, type SamplingOptions } from './api';

export const LIMITS = {
  /** Largest `uploadChunk` data. */
  maxChunkBytes: 16 * 1024 * 1024,
  /** Largest total upload (`uploadChunk.totalBytes`); bigger files are opened by path. */
  maxUploadBytes: 4 * 1024 ** 3,
  maxPathLength: 4096,
  maxNameLength: 1024,
  maxIdLength: 128,
  /** Largest JSON part of a request frame; requests carry small arguments, only upload data is big (and binary). */
  maxRequestJsonBytes: 1024 * 1024,
  /** Largest request frame a byte transport accepts: one chunk plus its JSON envelope. */
  maxRequestFrameBytes: 16 * 1024 * 1024 + 1024 * 1024,
  /** Longest error message passed to a client; longer ones are cut so a service can't flood the renderer. */
  maxErrorMessageLength: 4000,
  /** Command-line arguments of a recorded script: count and length of each. */
  maxScriptArgs: 1000,
  maxScriptArgLength: 32 * 1024,
  /** Sampling rate bounds (SamplingOptions.rateHz) and the longest timed session (a week). */
  minRateHz: 1,
  maxRateHz: 2000,
  maxDurationSeconds: 7 * 24 * 3600,
  /** Linux's largest possible pid_max (2^22). */
  maxPid: 2 ** 22,
  /** VM hosts: the largest script text (editor open/save, reload source) and sampling rate; generations counted. */
  maxVmSourceLength: 4 * 1024 * 1024,
  maxVmRateHz: 1000,
  maxVmGeneration: 1_000_000,
  /** Largest source file `getSource` reads (the per-line view); bigger ones are refused with a message. */
  maxSourceBytes: 4 * 1024 * 1024,
  /**
   * Requests one connection may have in flight (more are refused at once), and how many of those that import a file
   * or copy a whole profile (HEAVY_REQUESTS, each can take a second and hundreds of MB) run at a time: the others
   * wait their turn. One client cannot queue the memory of the machine away; the app itself never has more than a few.
   */
  maxInFlightPerConnection: 64,
  maxHeavyInFlightPerConnection: 2,
  /** A client that leaves this much of its answers unread is cut off (server.ts): it is not reading them. */
  maxUnreadBytesPerConnection: 1024 * 1024 * 1024,
} as const;

/**
 * Requests that import a file or copy a whole profile or file (see LIMITS.maxHeavyInFlightPerConnection). Uploads
 * have their own caps (services/uploads.ts: per connection, in total, per chunk).
 */
export const HEAVY_REQUESTS: ReadonlySet<string> = new Set<RequestName>([
  'openTrace', 'openSample', 'getProfile', 'exportTrace', 'getSource', 'getSessionProfile', 'getVmProfile',
]);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

function isRequestName(value: unknown): value is RequestName {
  return typeof value === 'string' && (REQUEST_NAMES as readonly string[]).includes(value);
}

/** Keys that, assigned naively, change an object's prototype or shadow its constructor. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Job and trace ids: short, printable, safe to put in file names and logs. */
const ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;


/** Returns null when valid, else a message naming the offending field. */
type ArgValidator = (arg: unknown) => string | null;

/** Plain object check that works across realms (Electron IPC, structuredClone, vm contexts). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) return false;
  return Object.prototype.toString.call(value) === '[object Object]';
}

function isUint8Array(value: unknown): value is Uint8Array {
  return ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]';
}

/** Checks `value` is a plain object with all `required` keys and nothing beyond them and `optional` ones. */
function checkKeys(value: unknown, where: string, required: string[], optional: string[] = []): string | null {
  if (!isPlainObject(value)) return `${where}: expected an object, got ${summarizeValue(value)}`;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return `${where}: forbidden key "${key}"`;
    if (!required.includes(key) && !optional.includes(key)) return `${where}: unknown key "${truncate(key, 40)}"`;
  }
  for (const key of required) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) return `${where}: missing "${key}"`;
  }
  return null;
}

function checkString(value: unknown, where: string, maxLength: number, allowEmpty = false): string | null {
  if (typeof value !== 'string') return `${where}: expected a string, got ${summarizeValue(value)}`;
  if (!allowEmpty && value.length === 0) return `${where}: must not be empty`;
  if (value.length > maxLength) return `${where}: longer than ${maxLength} characters`;
  if (value.includes('\0')) return `${where}: contains a NUL character`;
  return null;
}

function checkId(value: unknown, where: string): string | null {
  const err = checkString(value, where, LIMITS.maxIdLength);
  if (err) return err;
  return ID_PATTERN.test(value as string) ? null : `${where}: must match ${ID_PATTERN.source}`;
}

function checkOffset(value: unknown, where: string, max: number): string | null {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    return `${where}: expected a non-negative integer, got ${summarizeValue(value)}`;
  }
  return value > max ? `${where}: larger than ${max}` : null;
}

function checkBoolean(value: unknown, where: string): string | null {
  return typeof value === 'boolean' ? null : `${where}: expected a boolean, got ${summarizeValue(value)}`;
}

/** Requests without an argument accept `undefined` (memory, IPC) or `null` (JSON has no undefined). */
const validateNoArg: ArgValidator = (arg) => (arg === undefined || arg === null ? null : 'expects no argument');

const validateJobArg = (extra: Record<string, (v: unknown, where: string) => string | null>): ArgValidator => {
  const keys = ['jobId', ...Object.keys(extra)];
  return (arg) => {
    const err = checkKeys(arg, 'argument', keys);
    if (err) return err;
    const obj = arg as Record<string, unknown>;
    for (const key of keys) {
      const check = key === 'jobId' ? checkId : extra[key]!;
      const fieldErr = check(obj[key], key);
      if (fieldErr) return fieldErr;
    }
    return null;
  };
};

const validateTraceArg: ArgValidator = (arg) =>
  checkKeys(arg, 'argument', ['traceId']) ?? checkId((arg as Record<string, unknown>).traceId, 'traceId');

const validateUploadChunk: ArgValidator = (arg) => {
  const err = checkKeys(arg, 'argument', ['jobId', 'name', 'offset', 'totalBytes', 'data', 'last']);
  if (err) return err;
  const a = arg as Record<string, unknown>;
  const fieldErr =
    checkId(a.jobId, 'jobId') ??
    checkString(a.name, 'name', LIMITS.maxNameLength) ??
    checkOffset(a.totalBytes, 'totalBytes', LIMITS.maxUploadBytes) ??
    checkOffset(a.offset, 'offset', LIMITS.maxUploadBytes) ??
    checkBoolean(a.last, 'last');
  if (fieldErr) return fieldErr;
  if (!isUint8Array(a.data)) return `data: expected a Uint8Array, got ${summarizeValue(a.data)}`;
  if (a.data.byteLength > LIMITS.maxChunkBytes) return `data: chunk larger than ${LIMITS.maxChunkBytes} bytes`;
  if ((a.offset as number) + a.data.byteLength > (a.totalBytes as number)) return 'data: chunk ends after totalBytes';
  return null;
};

const validateSessionArg: ArgValidator = (arg) =>
  checkKeys(arg, 'argument', ['sessionId']) ?? checkId((arg as Record<string, unknown>).sessionId, 'sessionId');

/** A dotted Python module name (`pytest`, `http.server`): what `python -m` accepts, and never an option. */
export const MODULE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function checkModule(value: unknown): string | null {
  return checkString(value, 'target.module', 200) ?? (MODULE_NAME.test(value as string) ? null : `target.module: expected a Python module name such as pytest or http.server, got ${summarizeValue(value)}`);
}

function checkTarget(target: unknown): string | null {
  if (!isPlainObject(target)) return `target: expected an object, got ${summarizeValue(target)}`;
  if (target.kind === 'attach') {
    const err = checkKeys(target, 'target', ['kind', 'pid']);
    if (err) return err;
    return typeof target.pid === 'number' && Number.isSafeInteger(target.pid) && target.pid > 0 && target.pid <= LIMITS.maxPid
      ? null
      : `target.pid: expected a positive integer up to ${LIMITS.maxPid}, got ${summarizeValue(target.pid)}`;
  }
  if (target.kind !== 'record') return `target.kind: expected "attach" or "record", got ${summarizeValue(target.kind)}`;
  const err =
    checkKeys(target, 'target', ['kind', 'script', 'args'], ['interpreter', 'cwd', 'module']) ??
    (target.module === undefined
      ? checkString(target.script, 'target.script', LIMITS.maxPathLength)
      : checkModule(target.module) ?? (target.script === '' ? null : `target.script: must be "" when target.module is set, got ${summarizeValue(target.script)}`)) ??
    (target.interpreter === undefined ? null : checkString(target.interpreter, 'target.interpreter', LIMITS.maxPathLength)) ??
    (target.cwd === undefined ? null : checkString(target.cwd, 'target.cwd', LIMITS.maxPathLength));
  return err ?? checkScriptArgs(target.args, 'target.args');
}

/** Keys, types and values of `SamplingOptions`; null when valid, else a message naming the field. */
export function checkSamplingOptions(options: unknown): string | null {
  const err = checkKeys(options, 'options', ['rateHz', 'nonblocking', 'includeIdle', 'gilOnly', 'subprocesses'], ['durationSeconds']);
  if (err) return err;
  const o = options as Record<string, unknown>;
  for (const key of ['nonblocking', 'includeIdle', 'gilOnly', 'subprocesses']) {
    const boolErr = checkBoolean(o[key], `options.${key}`);
    if (boolErr) return boolErr;
  }
  return checkSamplingValues(o, { rate: 'options.rateHz', duration: 'options.durationSeconds' });
}

/** The defaults of the app's attach/record form and of the CLI's `attach`/`record` (the core's default rate too). */
export const DEFAULT_SAMPLING_OPTIONS: Readonly<SamplingOptions> = {
  rateHz: 100,
  nonblocking: false,
  includeIdle: false,
  gilOnly: false,
  subprocesses: false,
};

/**
 * The one check of a rate and a duration limit, for every surface: the transports (`options.rateHz`), the CLI
 * (`--rate`) and the app's form ("Rate"), each naming the field its own way. `given` shows what the user typed
 * when it was not a number at all. Returns null when both are fine, else a sentence that says what was given.
 */
export function checkSamplingValues(
  o: { rateHz?: unknown; durationSeconds?: unknown },
  names: { rate: string; duration: string },
  given: { rate?: string; duration?: string } = {},
): string | null {
  const shown = (v: unknown, typed: string | undefined) =>
    typed !== undefined ? `'${truncate(typed, 40)}'` : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'nothing') : summarizeValue(v);
  const rate = o.rateHz;
  // An integer: the sampler takes whole samples per second (a u32), and 250.5 would be silently truncated.
  if (typeof rate !== 'number' || !Number.isInteger(rate) || rate < LIMITS.minRateHz || rate > LIMITS.maxRateHz) {
    return `${names.rate} must be a whole number of samples per second between ${LIMITS.minRateHz} and ${LIMITS.maxRateHz} (got ${shown(rate, given.rate)})`;
  }
  const duration = o.durationSeconds;
  if (duration !== undefined && (typeof duration !== 'number' || !Number.isFinite(duration) || duration <= 0 || duration > LIMITS.maxDurationSeconds)) {
    return `${names.duration} must be a positive number of seconds, at most a week (${LIMITS.maxDurationSeconds}), or none for no limit (got ${shown(duration, given.duration)})`;
  }
  return null;
}

// ---- VM hosts ----

/** A playground script's name: a plain file name ending in .py (no folder, nothing hidden). */
const VM_SCRIPT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\.py$/;

const checkPath = (v: unknown, where: string) => checkString(v, where, LIMITS.maxPathLength);

function checkOptional(obj: Record<string, unknown>, key: string, check: (v: unknown, where: string) => string | null): string | null {
  return obj[key] === undefined ? null : check(obj[key], key);
}

function checkScriptArgs(args: unknown, where: string): string | null {
  if (!Array.isArray(args)) return `${where}: expected an array of strings, got ${summarizeValue(args)}`;
  if (args.length > LIMITS.maxScriptArgs) return `${where}: more than ${LIMITS.maxScriptArgs} arguments`;
  for (let i = 0; i < args.length; i++) {
    const err = checkString(args[i], `${where}[${i}]`, LIMITS.maxScriptArgLength, true);
    if (err) return err;
  }
  return null;
}

const checkVmSource = (v: unknown, where: string) => checkString(v, where, LIMITS.maxVmSourceLength, true);

const validateStartVmHost: ArgValidator = (arg) => {
  const err = checkKeys(arg, 'argument', [], ['script', 'source', 'name', 'args', 'interpreter', 'cwd', 'rateHz', 'exact', 'exactOptions']);
  if (err) return err;
  const a = arg as Record<string, unknown>;
  if ((a.script === undefined) === (a.source === undefined)) return 'give either script (a path) or source and name';
  if (a.source !== undefined) {
    if (typeof a.name !== 'string' || !VM_SCRIPT_NAME.test(a.name)) {
      return `name: expected a file name like "loop.py" (letters, digits, _ . -), got ${summarizeValue(a.name)}`;
    }
  } else if (a.name !== undefined) {
    return 'name: only with source (a script on disk is named by its path)';
  }
  const rate = a.rateHz;
  if (rate !== undefined && (typeof rate !== 'number' || !Number.isInteger(rate) || rate < LIMITS.minRateHz || rate > LIMITS.maxVmRateHz)) {
    return `rateHz: expected ${LIMITS.minRateHz}–${LIMITS.maxVmRateHz} (an integer), got ${summarizeValue(rate)}`;
  }
  if (a.exact !== undefined && typeof a.exact !== 'boolean') return `exact: expected true or false, got ${summarizeValue(a.exact)}`;
  if (a.exactOptions !== undefined) {
    if (a.exact !== true) return 'exactOptions: only with exact: true';
    const bad = checkExactOptions(a.exactOptions, 'exactOptions');
    if (bad) return bad;
  }
  return (
    checkOptional(a, 'script', checkPath) ??
    checkOptional(a, 'source', checkVmSource) ??
    checkOptional(a, 'args', checkScriptArgs) ??
    checkOptional(a, 'interpreter', checkPath) ??
    checkOptional(a, 'cwd', checkPath)
  );
};

const validateHostArg: ArgValidator = (arg) =>
  checkKeys(arg, 'argument', ['hostId']) ?? checkId((arg as Record<string, unknown>).hostId, 'hostId');

const VM_VALIDATORS = {
  startVmHost: validateStartVmHost,
  stopVmHost: validateHostArg,
  interruptVmHost: validateHostArg,
  killVmHost: validateHostArg,
  recycleVmHost: validateHostArg,
  closeVmHost: validateHostArg,
  listVmHosts: validateNoArg,
  reloadVmHost: (arg) => {
    const err = checkKeys(arg, 'argument', ['hostId'], ['source']);
    if (err) return err;
    const a = arg as Record<string, unknown>;
    return checkId(a.hostId, 'hostId') ?? checkOptional(a, 'source', checkVmSource);
  },
  readVmScript: (arg) => checkKeys(arg, 'argument', ['path']) ?? checkPath((arg as Record<string, unknown>).path, 'path'),
  writeVmScript: (arg) => {
    const err = checkKeys(arg, 'argument', ['path', 'text']);
    if (err) return err;
    const a = arg as Record<string, unknown>;
    return checkPath(a.path, 'path') ?? checkVmSource(a.text, 'text');
  },
  getVmProfile: (arg) => {
    const err = checkKeys(arg, 'argument', ['hostId'], ['generation']);
    if (err) return err;
    const a = arg as Record<string, unknown>;
    return checkId(a.hostId, 'hostId') ?? checkOptional(a, 'generation', (v, w) => checkOffset(v, w, LIMITS.maxVmGeneration));
  },
  listVmExamples: validateNoArg,
} satisfies Partial<Record<RequestName, ArgValidator>>;

const ARG_VALIDATORS: Record<RequestName, ArgValidator> = {
  getServerInfo: validateNoArg,
  openTrace: validateJobArg({ path: (v, w) => checkString(v, w, LIMITS.maxPathLength) }),
  openSample: validateJobArg({ id: checkId }),
  uploadChunk: validateUploadChunk,
  cancelJob: validateJobArg({}),
  getProfile: (arg) => {
    const err = checkKeys(arg, 'argument', ['traceId'], ['aggregated']);
    if (err) return err;
    const a = arg as Record<string, unknown>;
    return checkId(a.traceId, 'traceId') ?? checkOptional(a, 'aggregated', checkBoolean);
  },
  closeTrace: validateTraceArg,
  listTraces: validateNoArg,
  listRecent: validateNoArg,
  listSamples: validateNoArg,
  exportTrace: (arg) => {
    const err = checkKeys(arg, 'argument', ['traceId', 'format']) ?? checkId((arg as Record<string, unknown>).traceId, 'traceId');
    if (err) return err;
    const format = (arg as Record<string, unknown>).format;
    return isExportFormat(format) ? null : `format: expected ${formatChoices(EXPORT_FORMAT_NAMES)}, got ${summarizeValue(format)}`;
  },
  getSource: (arg) =>
    checkKeys(arg, 'argument', ['traceId', 'file']) ??
    checkId((arg as Record<string, unknown>).traceId, 'traceId') ??
    checkString((arg as Record<string, unknown>).file, 'file', LIMITS.maxPathLength),
  showOpenDialog: validateNoArg,
  listProcesses: validateNoArg,
  recordExact: (arg) => {
    const err = checkKeys(arg, 'argument', ['target', 'exact', 'jobId']);
    if (err) return err;
    const a = arg as Record<string, unknown>;
    if (!isPlainObject(a.target) || a.target.kind !== 'record') return 'target: exact mode records a script ({kind: "record", ...})';
    return checkTarget(a.target) ?? checkExactOptions(a.exact) ?? checkId(a.jobId, 'jobId');
  },
  startSession: (arg) => {
    const err = checkKeys(arg, 'argument', ['target', 'options']);
    if (err) return err;
    const a = arg as Record<string, unknown>;
    return checkTarget(a.target) ?? checkSamplingOptions(a.options);
  },
  pauseSession: validateSessionArg,
  resumeSession: validateSessionArg,
  stopSession: validateSessionArg,
  listSessions: validateNoArg,
  getSessionProfile: validateSessionArg,
  ...VM_VALIDATORS,
};

/** Validates the argument of one request; returns null when valid, else a message for a 'bad-request' reply. */
export function validateRequestArg(method: RequestName, arg: unknown): string | null {
  const message = ARG_VALIDATORS[method](arg);
  return message === null ? null : `${method}: ${message}`;
}

export interface ValidRequest {
  id: number;
  method: RequestName;
  /** `undefined` for requests without an argument. */
  arg: unknown;
}

export type RequestCheck =
  | { ok: true; request: ValidRequest }
  /** `id` is set when the message carried a usable id, so the sender can be told what was wrong. */
  | { ok: false; id: number | undefined; message: string };

export function isMessageId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Validates one incoming `{t:'req', id, method, arg}` message as it arrived from a transport. */
export function checkRequestMessage(raw: unknown): RequestCheck {
  if (!isPlainObject(raw)) return { ok: false, id: undefined, message: `message: expected an object, got ${summarizeValue(raw)}` };
  // Only requests are ever answered: replying to a stray response or event could ping-pong between two peers.
  if (raw.t !== 'req') return { ok: false, id: undefined, message: `message: expected t "req", got ${summarizeValue(raw.t)}` };
  const id = isMessageId(raw.id) ? raw.id : undefined;
  for (const key of Object.keys(raw)) {
    if (FORBIDDEN_KEYS.has(key)) return { ok: false, id, message: `message: forbidden key "${key}"` };
    if (key !== 't' && key !== 'id' && key !== 'method' && key !== 'arg') {
      return { ok: false, id, message: `message: unknown key "${truncate(key, 40)}"` };
    }
  }
  if (id === undefined) return { ok: false, id, message: `message: id must be a non-negative integer, got ${summarizeValue(raw.id)}` };
  if (!isRequestName(raw.method)) {
    const name = typeof raw.method === 'string' ? `"${truncate(raw.method, 60)}"` : summarizeValue(raw.method);
    return { ok: false, id, message: `message: unknown method ${name}` };
  }
  const argError = validateRequestArg(raw.method, raw.arg);
  if (argError) return { ok: false, id, message: argError };
  const arg = raw.arg === null ? undefined : raw.arg;
  return { ok: true, request: { id, method: raw.method, arg } };
}

/** A short description of a value for error messages: never echoes big or binary content back. */
export function summarizeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${Object.prototype.toString.call(value).slice(8, -1)} of ${value.byteLength} bytes`;
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
