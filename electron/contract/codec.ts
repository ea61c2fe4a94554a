// Binary framing for byte transports (the WebSocket). One message = one frame:
//   [u32 LE json length][json utf-8][zero pad to 8][typed array bytes, each starting on an 8-byte boundary]...
// Every typed array (any ArrayBufferView) in the message is replaced in the JSON by
//   {"$ta": index, "type": "Float64Array", "offset": byteOffsetInFrame, "length": elementCount}
// so a million-span Profile crosses as raw bytes: no base64, no JSON arrays of numbers. Strings stay in the JSON.
// Object keys that look like "$ta" ("$ta", "$$ta", ...) are escaped with one more "$" so data can never be
// mistaken for a placeholder.
// Pure TypeScript: imports nothing from Node, Electron or React.

export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

type ViewConstructor = new (length: number) => ArrayBufferView;

/** A DataView constructor with the typed arrays' `new C(length)` shape, so decoding treats all views alike. */
function DataViewOfLength(this: unknown, length: number): DataView {
  return new DataView(new ArrayBuffer(length));
}

const VIEW_TYPES: Record<string, { ctor: ViewConstructor; bytes: number }> = {
  Int8Array: { ctor: Int8Array, bytes: 1 },
  Uint8Array: { ctor: Uint8Array, bytes: 1 },
  Uint8ClampedArray: { ctor: Uint8ClampedArray, bytes: 1 },
  Int16Array: { ctor: Int16Array, bytes: 2 },
  Uint16Array: { ctor: Uint16Array, bytes: 2 },
  Int32Array: { ctor: Int32Array, bytes: 4 },
  Uint32Array: { ctor: Uint32Array, bytes: 4 },
  Float32Array: { ctor: Float32Array, bytes: 4 },
  Float64Array: { ctor: Float64Array, bytes: 8 },
  BigInt64Array: { ctor: BigInt64Array, bytes: 8 },
  BigUint64Array: { ctor: BigUint64Array, bytes: 8 },
  DataView: { ctor: DataViewOfLength as unknown as ViewConstructor, bytes: 1 },
};

/** Nesting deeper than this is refused on both ends: messages are shallow, and it bounds recursion. */
const MAX_DEPTH = 64;
const ESCAPED_KEY = /^\$+ta$/;
/** Keys escaped on encode; a bare "$ta" in decoded JSON is always a placeholder. */
const UNESCAPE_KEY = /^\$\$+ta$/;

interface Placeholder {
  $ta: number;
  type: string;
  offset: number;
  length: number;
}

const align8 = (n: number): number => (n + 7) & ~7;

function viewTypeName(view: ArrayBufferView): string {
  // Node's Buffer reports "Uint8Array", which is what we want: it decodes as a plain Uint8Array.
  const name = Object.prototype.toString.call(view).slice(8, -1);
  if (!Object.prototype.hasOwnProperty.call(VIEW_TYPES, name)) throw new CodecError(`cannot encode a ${name}`);
  return name;
}

/** Copies the value with typed arrays swapped for placeholders (collected in `views`) and "$ta" keys escaped. */
function extractViews(value: unknown, views: ArrayBufferView[], placeholders: Placeholder[], depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) throw new CodecError(`message nested deeper than ${MAX_DEPTH}`);
  if (ArrayBuffer.isView(value)) {
    const name = viewTypeName(value);
    const placeholder: Placeholder = { $ta: views.length, type: name, offset: 0, length: value.byteLength / VIEW_TYPES[name]!.bytes };
    views.push(value);
    placeholders.push(placeholder);
    return placeholder;
  }
  if (value instanceof ArrayBuffer) return extractViews(new Uint8Array(value), views, placeholders, depth);
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = extractViews(value[i], views, placeholders, depth + 1);
    return out;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value; // Date and friends: JSON's own rule
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    if (child === undefined || typeof child === 'function') continue;
    // defineProperty, not assignment: a key "__proto__" must stay data, not become a prototype.
    Object.defineProperty(out, ESCAPED_KEY.test(key) ? `$${key}` : key, {
      value: extractViews(child, views, placeholders, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

const encoder = new TextEncoder();

/** Encodes one message into one frame. Throws CodecError for values that cannot be carried. */
export function encodeFrame(message: unknown): Uint8Array {
  const parts = encodeFrameParts(message);
  if (parts.length === 1) return parts[0]!;
  const frame = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    frame.set(part, offset);
    offset += part.byteLength;
  }
  return frame;
}

/**
 * The frame of `encodeFrame` as the parts it is made of, in order and uncopied: the length-prefixed JSON head
 * (padded to 8 bytes), then each typed array's bytes (views onto the message's own buffers) and the padding after
 * it. A transport that can send one message in fragments (WebSocket) sends these as they are: copying a 94 MB
 * export into one frame took 120-190 ms of the JS thread that every client shares.
 */
export function encodeFrameParts(message: unknown): Uint8Array[] {
  const views: ArrayBufferView[] = [];
  const placeholders: Placeholder[] = [];
  const tree = extractViews(message, views, placeholders, 0);

  // Offsets are absolute, so they depend on the JSON's length, which depends on the offsets' digits. Iterate until
  // the data start no longer moves; it only grows, so this settles in two or three rounds.
  let json = JSON.stringify(tree) ?? 'null';
  let bytes = encoder.encode(json);
  let dataStart = -1;
  while (align8(4 + bytes.byteLength) > dataStart) {
    dataStart = align8(4 + bytes.byteLength);
    let cursor = dataStart;
    for (let i = 0; i < views.length; i++) {
      placeholders[i]!.offset = cursor;
      cursor = align8(cursor + views[i]!.byteLength);
    }
    if (views.length === 0) break;
    json = JSON.stringify(tree);
    bytes = encoder.encode(json);
  }

  const head = new Uint8Array(dataStart);
  new DataView(head.buffer).setUint32(0, bytes.byteLength, true);
  head.set(bytes, 4);
  const parts: Uint8Array[] = [head];
  for (const view of views) {
    if (view.byteLength > 0) parts.push(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    const padding = align8(view.byteLength) - view.byteLength;
    if (padding > 0) parts.push(new Uint8Array(padding));
  }
  return parts;
}

export interface DecodeOptions {
  /** Refuse frames whose JSON part is longer (bounds parse cost of hostile frames). Default: no limit. */
  maxJsonBytes?: number;
  /** Refuse frames longer than this. Default: no limit. */
  maxFrameBytes?: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes one frame. Typed arrays come back as fresh copies that own their buffers (structured-clone semantics:
 * transferring one to a worker cannot detach its siblings), correctly aligned whatever the frame's alignment.
 * Throws CodecError on anything malformed.
 */
export function decodeFrame(input: Uint8Array | ArrayBuffer, options: DecodeOptions = {}): unknown {
  const frame = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (options.maxFrameBytes !== undefined && frame.byteLength > options.maxFrameBytes) {
    throw new CodecError(`frame of ${frame.byteLength} bytes exceeds the limit of ${options.maxFrameBytes}`);
  }
  if (frame.byteLength < 4) throw new CodecError(`frame of ${frame.byteLength} bytes is shorter than its header`);
  const jsonLength = new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0, true);
  if (4 + jsonLength > frame.byteLength) throw new CodecError(`json length ${jsonLength} runs past the frame end`);
  if (options.maxJsonBytes !== undefined && jsonLength > options.maxJsonBytes) {
    throw new CodecError(`json part of ${jsonLength} bytes exceeds the limit of ${options.maxJsonBytes}`);
  }
  return decodeJsonText(decodeUtf8(frame.subarray(4, 4 + jsonLength)), frame, 4 + jsonLength);
}

/** Decodes a text message (plain JSON, no typed arrays): what a text WebSocket frame carries. */
export function decodeJsonText(text: string, frame: Uint8Array = new Uint8Array(0), dataStart = 0): unknown {
  let tree: unknown;
  try {
    tree = JSON.parse(text);
  } catch (err) {
    throw new CodecError(`invalid json: ${(err as Error).message}`);
  }
  return restoreViews(tree, frame, dataStart, 0);
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new CodecError('json part is not valid utf-8');
  }
}

function isPlaceholder(value: Record<string, unknown>): boolean {
  return Object.prototype.hasOwnProperty.call(value, '$ta');
}

function restorePlaceholder(p: Record<string, unknown>, frame: Uint8Array, dataStart: number): ArrayBufferView {
  const keys = Object.keys(p);
  const info = typeof p.type === 'string' && Object.prototype.hasOwnProperty.call(VIEW_TYPES, p.type) ? VIEW_TYPES[p.type] : undefined;
  const { offset, length } = p;
  if (keys.length !== 4 || !info || !Number.isSafeInteger(p.$ta) || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) {
    throw new CodecError('malformed typed array placeholder');
  }
  const start = offset as number;
  const byteLength = (length as number) * info.bytes;
  if (start < dataStart || (length as number) < 0 || start + byteLength > frame.byteLength) {
    throw new CodecError(`typed array ${String(p.$ta)} (${p.type}, ${String(length)} elements at ${start}) lies outside the frame`);
  }
  const view = new info.ctor(byteLength / info.bytes);
  new Uint8Array(view.buffer).set(frame.subarray(start, start + byteLength));
  return view;
}

function restoreViews(value: unknown, frame: Uint8Array, dataStart: number, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) throw new CodecError(`message nested deeper than ${MAX_DEPTH}`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item !== null && typeof item === 'object') value[i] = restoreViews(item, frame, dataStart, depth + 1);
    }
    return value;
  }
  const obj = value as Record<string, unknown>;
  if (isPlaceholder(obj)) return restorePlaceholder(obj, frame, dataStart);
  for (const key of Object.keys(obj)) {
    const child = obj[key];
    const restored = child !== null && typeof child === 'object' ? restoreViews(child, frame, dataStart, depth + 1) : child;
    const name = UNESCAPE_KEY.test(key) ? key.slice(1) : key;
    if (name !== key) delete obj[key];
    if (name !== key || restored !== child) {
      Object.defineProperty(obj, name, { value: restored, enumerable: true, writable: true, configurable: true });
    }
  }
  return obj;
}
