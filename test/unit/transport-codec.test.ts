// The binary frame codec: typed arrays of every kind cross byte-exact and aligned, data that looks like the codec's
// own markers stays data, and malformed frames fail with CodecError instead of crashing or allocating wildly.
import { describe, expect, it } from 'vitest';
import { CodecError, decodeFrame, decodeJsonText, encodeFrame } from '../../electron/contract/codec';

function readJson(frame: Uint8Array): { json: unknown; length: number } {
  const length = new DataView(frame.buffer, frame.byteOffset).getUint32(0, true);
  return { json: JSON.parse(new TextDecoder().decode(frame.subarray(4, 4 + length))), length };
}

/** A view that starts at an odd byte inside a bigger buffer, as Node's pooled Buffers and subarrays do. */
function unaligned<T extends ArrayBufferView>(make: (buffer: ArrayBuffer, offset: number) => T, bytes: number, align: number): T {
  const buffer = new ArrayBuffer(bytes + align * 3);
  return make(buffer, align); // aligned for its own type, but not to 8
}

describe('encodeFrame / decodeFrame', () => {
  it('round-trips every typed array kind byte-exact, each in a buffer of its own', () => {
    const message = {
      i8: Int8Array.from([-128, 0, 127]),
      u8: Uint8Array.from([0, 1, 255]),
      u8c: Uint8ClampedArray.from([0, 128, 255]),
      i16: Int16Array.from([-32768, 32767]),
      u16: Uint16Array.from([0, 65535]),
      i32: Int32Array.from([-1, 2 ** 31 - 1]),
      u32: Uint32Array.from([0, 2 ** 32 - 1]),
      f32: Float32Array.from([1.5, -0, Number.NaN]),
      f64: Float64Array.from([Math.PI, Number.MIN_VALUE, Infinity, -Infinity]),
      i64: BigInt64Array.from([-(2n ** 63n), 42n]),
      u64: BigUint64Array.from([2n ** 64n - 1n]),
      dv: new DataView(Uint8Array.from([9, 8, 7]).buffer),
      nested: [{ deep: Float64Array.from([1, 2]) }],
      empty: new Float64Array(0),
    };
    const decoded = decodeFrame(encodeFrame(message)) as typeof message;
    for (const [key, original] of Object.entries(message)) {
      if (!ArrayBuffer.isView(original)) continue;
      const got = (decoded as unknown as Record<string, ArrayBufferView>)[key]!;
      expect(Object.prototype.toString.call(got), key).toBe(Object.prototype.toString.call(original));
      expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(original.buffer, original.byteOffset, original.byteLength)), key).toBe(true);
      expect(got.byteOffset, key).toBe(0);
      expect(got.buffer.byteLength, key).toBe(got.byteLength);
    }
    expect(Array.from(decoded.nested[0]!.deep)).toEqual([1, 2]);
  });

  it('lays arrays out on 8-byte boundaries at the absolute offsets named in the JSON', () => {
    const a = unaligned((b, o) => new Uint8Array(b, o, 5), 5, 3);
    a.set([1, 2, 3, 4, 5]);
    const b = unaligned((buf, o) => new Float64Array(buf, o, 3), 24, 8);
    b.set([0.25, 0.5, 0.75]);
    const frame = encodeFrame({ a, b, label: 'x'.repeat(1000) });
    const { json, length } = readJson(frame);
    const { a: pa, b: pb } = json as Record<string, { $ta: number; type: string; offset: number; length: number }>;
    expect(pa).toEqual({ $ta: 0, type: 'Uint8Array', offset: pa!.offset, length: 5 });
    expect(pb!.type).toBe('Float64Array');
    expect(pa!.offset % 8).toBe(0);
    expect(pb!.offset % 8).toBe(0);
    expect(pa!.offset).toBeGreaterThanOrEqual(4 + length);
    expect(Array.from(frame.subarray(pa!.offset, pa!.offset + 5))).toEqual([1, 2, 3, 4, 5]);
    expect(new Float64Array(frame.slice(pb!.offset, pb!.offset + 24).buffer)[2]).toBe(0.75);
  });

  it('decodes frames that sit at an odd offset in a bigger buffer (as ws hands them over)', () => {
    const frame = encodeFrame({ v: Float64Array.from([1, 2, 3]), w: Uint16Array.from([7]) });
    const host = new Uint8Array(frame.byteLength + 5);
    host.set(frame, 3);
    const decoded = decodeFrame(host.subarray(3, 3 + frame.byteLength)) as { v: Float64Array; w: Uint16Array };
    expect(Array.from(decoded.v)).toEqual([1, 2, 3]);
    expect(Array.from(decoded.w)).toEqual([7]);
  });

  it('carries a million-element array as raw bytes, not JSON numbers', () => {
    const big = new Float64Array(1_000_000).map((_, i) => i * 1.25);
    const frame = encodeFrame({ t: 'res', id: 1, ok: true, value: { big, strings: ['a', 'b'] } });
    expect(frame.byteLength).toBeLessThan(8_000_000 + 1024);
    const { json } = readJson(frame);
    expect(JSON.stringify(json)).toContain('"strings":["a","b"]');
    const decoded = decodeFrame(frame) as { value: { big: Float64Array } };
    expect(decoded.value.big[999_999]).toBe(999_999 * 1.25);
  });

  it('keeps data keys that look like markers, and __proto__ keys, as plain data', () => {
    const meta = JSON.parse('{"$ta": 1, "$$ta": "two", "type": "Float64Array", "__proto__": {"polluted": true}}');
    const decoded = decodeFrame(encodeFrame({ meta, placeholderLike: { $ta: 0, type: 'Uint8Array', offset: 0, length: 1 } })) as {
      meta: Record<string, unknown>;
      placeholderLike: Record<string, unknown>;
    };
    expect(decoded.meta.$ta).toBe(1);
    expect(decoded.meta.$$ta).toBe('two');
    expect(Object.getPrototypeOf(decoded.meta)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(decoded.meta, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(decoded.placeholderLike).toEqual({ $ta: 0, type: 'Uint8Array', offset: 0, length: 1 });
  });

  it('sends a Node Buffer as a plain Uint8Array', () => {
    const decoded = decodeFrame(encodeFrame({ data: Buffer.from('héllo') })) as { data: Uint8Array };
    expect(decoded.data.constructor).toBe(Uint8Array);
    expect(new TextDecoder().decode(decoded.data)).toBe('héllo');
  });
});

describe('decodeFrame on hostile input', () => {
  const withHeader = (jsonText: string, extra = 0): Uint8Array => {
    const json = new TextEncoder().encode(jsonText);
    const frame = new Uint8Array(((4 + json.byteLength + 7) & ~7) + extra);
    new DataView(frame.buffer).setUint32(0, json.byteLength, true);
    frame.set(json, 4);
    return frame;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['a frame shorter than its header', Uint8Array.from([1, 0]), /shorter than its header/],
    ['a json length past the end', Uint8Array.from([0xff, 0xff, 0xff, 0x7f, 0x7b]), /runs past the frame end/],
    ['json that is not utf-8', Uint8Array.from([2, 0, 0, 0, 0xc3, 0x28]), /not valid utf-8/],
    ['json that does not parse', withHeader('{"t":'), /invalid json/],
    ['a placeholder outside the frame', withHeader('{"$ta":0,"type":"Float64Array","offset":8,"length":1000000}'), /outside the frame/],
    ['a placeholder inside the json', withHeader('{"$ta":0,"type":"Uint8Array","offset":0,"length":4}', 8), /outside the frame/],
    ['a negative length', withHeader('{"$ta":0,"type":"Uint8Array","offset":16,"length":-4}', 8), /outside the frame/],
    ['an unknown array type', withHeader('{"$ta":0,"type":"Function","offset":16,"length":0}', 8), /malformed typed array placeholder/],
    ['a placeholder with extra keys', withHeader('{"$ta":0,"type":"Uint8Array","offset":16,"length":0,"x":1}', 8), /malformed/],
    ['nesting 10,000 deep', withHeader('['.repeat(10_000) + ']'.repeat(10_000)), /nested deeper than 64/],
  ];
  for (const [what, frame, message] of cases) {
    it(`refuses ${what}`, () => {
      expect(() => decodeFrame(frame)).toThrow(CodecError);
      expect(() => decodeFrame(frame)).toThrow(message);
    });
  }

  it('refuses frames and json parts beyond the given limits before parsing them', () => {
    const frame = encodeFrame({ text: 'y'.repeat(5000) });
    expect(() => decodeFrame(frame, { maxJsonBytes: 1000 })).toThrow(/exceeds the limit of 1000/);
    expect(() => decodeFrame(frame, { maxFrameBytes: 100 })).toThrow(/exceeds the limit of 100/);
    expect(() => decodeJsonText('not json')).toThrow(CodecError);
  });
});
