// The main process's parser of agent lines (electron/services/vm-wire.ts) against the shared protocol examples
// (test/fixtures/vm-protocol/, which the Python agent is tested against too), and the line splitter's limits.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeRequest, LineSplitter, parseAgentLine } from '../../electron/services/vm-wire';

const DIR = join(__dirname, '..', 'fixtures', 'vm-protocol');
const read = (name: string) => JSON.parse(readFileSync(join(DIR, name), 'utf8')) as unknown[];
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
const agentFiles = files.filter((f) => f === 'reply.json' || f.startsWith('event-'));
const requestFiles = files.filter((f) => f.startsWith('request-'));

describe('parseAgentLine: the shared examples', () => {
  it('has examples of every agent message kind', () => {
    expect(agentFiles.sort()).toEqual(
      ['event-ended.json', 'event-frames-returned.json', 'event-hello.json', 'event-live-frames.json', 'event-modules.json', 'event-reload.json', 'event-started.json', 'reply.json'].sort(),
    );
  });

  for (const file of agentFiles) {
    it(`accepts every message of ${file} unchanged`, () => {
      const messages = read(file);
      expect(messages.length).toBeGreaterThan(0);
      for (const m of messages) {
        const parsed = parseAgentLine(JSON.stringify(m));
        expect(parsed, JSON.stringify(m).slice(0, 200)).toEqual({ ok: true, message: m });
      }
    });
  }

  const invalid = read('invalid.json') as { side: string; why: string; line: string }[];
  const agentInvalid = invalid.filter((c) => c.side === 'agent');
  it('has invalid agent lines to refuse', () => expect(agentInvalid.length).toBeGreaterThan(10));
  for (const c of agentInvalid) {
    it(`refuses: ${c.why}`, () => {
      const parsed = parseAgentLine(c.line);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error.length).toBeGreaterThan(0);
    });
  }

  it('refuses prototype keys and a line over the limit', () => {
    expect(parseAgentLine('{"event":"modules","files":[],"__proto__":{"x":1}}').ok).toBe(false);
    expect(parseAgentLine(`{"event":"modules","files":["${'a'.repeat(9 * 1024 * 1024)}"]}`).ok).toBe(false);
  });
});

describe('encodeRequest', () => {
  for (const file of requestFiles) {
    it(`writes ${file} as one line that reads back the same`, () => {
      for (const r of read(file)) {
        const line = encodeRequest(r as never);
        expect(line.endsWith('\n')).toBe(true);
        expect(line.slice(0, -1)).not.toContain('\n');
        expect(JSON.parse(line)).toEqual(r);
      }
    });
  }
});

describe('LineSplitter', () => {
  it('joins lines split across chunks, UTF-8 included, and keeps a partial line for later', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const bytes = Buffer.from('{"a":"é"}\n{"b":2}\n{"c"', 'utf8');
    for (let i = 0; i < bytes.length; i++) s.push(bytes.subarray(i, i + 1));
    expect(lines).toEqual(['{"a":"é"}', '{"b":2}']);
    s.push(Buffer.from(':3}\n'));
    expect(lines[2]).toBe('{"c":3}');
  });

  it('throws when one line grows past its limit, in pieces or at once', () => {
    const s = new LineSplitter(() => undefined, 100);
    s.push(Buffer.alloc(60, 97));
    expect(() => s.push(Buffer.alloc(60, 97))).toThrow(/longer than 100/);
    const t = new LineSplitter(() => undefined, 100);
    expect(() => t.push(Buffer.concat([Buffer.alloc(150, 97), Buffer.from('\n')]))).toThrow(/longer than 100/);
  });
});
