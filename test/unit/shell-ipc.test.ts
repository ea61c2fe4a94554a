// Hostile messages against every IPC handler of the desktop shell (the request channel and the preload's drop grant),
// through the shell's real handlers over the real services, with the `electron` stand-in: wrong types, unknown
// methods, malformed frames, paths the user never chose, command lines smuggled into an open request, programs the
// page asks to run. Nothing the page says alone makes the main process read a file or run a program.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SAMPLING_OPTIONS } from '../../electron/contract/validate';
import { REQUEST_NAMES } from '../../electron/contract/api';
import { GRANT_DROP_CHANNEL } from '../../electron/shell/grants';
import { FakeFrame, makeEvent } from './shell-fakes';
import { APP_URL, root, sample, startTestShell, useTestShell } from './shell-harness';
import { missingNative, titled } from './skips';

const skip = missingNative();
const start = useTestShell();

describe.skipIf(skip)(titled('hostile messages to the shell\'s IPC handlers', skip), () => {
  it('refuses malformed frames, unknown methods and wrong argument types for every request', async () => {
    const t = await start();
    for (const message of [null, 42, 'req', [], { t: 'evt', id: 1 }, { id: 1, method: 'listSamples' }, { t: 'req', method: 'listSamples' }]) {
      const res = await t.raw(message);
      // No usable id: dropped (null), or refused with id 0 — never run.
      if (res !== null) expect(res).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    }
    for (const id of [-1, 1.5, 2 ** 60, '1']) {
      expect(await t.raw({ t: 'req', id, method: 'listSamples' }), String(id)).toBeNull();
    }
    for (const method of ['__proto__', 'constructor', 'toString', 'dispose', 'recordCommand', 'exportTraceToFile', 'onEvent', 'evalInMain', '']) {
      expect(await t.request(method, {}), method).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    }
    // Every request of the contract, with an argument of the wrong type (a number, an array, a poisoned object).
    const hostile = [12345, ['x'], JSON.parse('{"__proto__": {"polluted": true}, "path": 1}')];
    for (const method of REQUEST_NAMES) {
      for (const arg of hostile) {
        const res = await t.request(method, arg);
        expect(res, `${method}(${JSON.stringify(arg)})`).toMatchObject({ ok: false, error: { code: 'bad-request' } });
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Wrong field types inside otherwise well-formed arguments.
    for (const [method, arg] of [
      ['openTrace', { path: 42, jobId: 'j' }],
      ['openTrace', { path: '/x', jobId: 7 }],
      ['openTrace', { path: '/x', jobId: 'j', extra: 'sh -c id' }],
      ['openSample', { id: '../../etc/passwd', jobId: 'j' }],
      ['getProfile', { traceId: '../x' }],
      ['exportTrace', { traceId: 't1', format: 'exe' }],
      ['startSession', { target: { kind: 'attach', pid: '1; id' }, options: DEFAULT_SAMPLING_OPTIONS }],
    ] as const) {
      expect(await t.request(method, arg), `${method} ${JSON.stringify(arg)}`).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    }
  });

  it('opens no path the user did not choose, and no command line hidden in a path', async () => {
    const t = await start();
    const marker = join(mkdtempSync(join(tmpdir(), 'emberscope-pwn-')), 'pwned');
    const refused = [
      '/etc/passwd',
      sample('wordfreq.pstats'), // exists and is a profile, but the user never pointed at it
      'assets/samples/wordfreq.pstats',
      `${sample('wordfreq.pstats')}; touch ${marker}`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `${sample('wordfreq.pstats')}\ntouch ${marker}`,
      `--inspect=0.0.0.0:9229`,
      `| touch ${marker}`,
      join(root, 'package.json'),
    ];
    for (const path of refused) {
      const res = await t.request('openTrace', { path, jobId: `j-${Math.random()}` });
      expect(res, path).toMatchObject({ ok: false, error: { code: 'bad-request' } });
      if (res && !res.ok && path.startsWith('/etc')) expect(res.error.message).toMatch(/opens only files you chose/);
    }
    // Granting one file grants exactly that file: not its folder, not a path that walks out of it.
    t.shell.grants.grant(sample('wordfreq.pstats'), 'dialog');
    for (const path of [
      `${sample('wordfreq.pstats')}/../wordfreq-viztracer.json`,
      `${sample('wordfreq.pstats')}/../../../package.json`,
      join(root, 'assets', 'samples'),
      `${sample('wordfreq.pstats')} --help`,
    ]) {
      expect(await t.request('openTrace', { path, jobId: `k-${Math.random()}` }), path).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    }
    expect(await t.request('openTrace', { path: sample('wordfreq.pstats'), jobId: 'ok-1' })).toMatchObject({ ok: true });
    expect(existsSync(marker)).toBe(false);
    rmSync(join(marker, '..'), { recursive: true, force: true });
  });

  it('grants what the user picks in the open dialog, and a recent file in a later run', async () => {
    const t = await start();
    const picked = sample('wordfreq-py-spy.txt');
    expect(await t.request('openTrace', { path: picked, jobId: 'before' })).toMatchObject({ ok: false });
    t.fake.dialogAnswers.openFile.push(picked);
    expect(await t.request('showOpenDialog')).toMatchObject({ ok: true, value: picked });
    expect(t.shell.grants.sourceOf(picked)).toBe('dialog');
    expect(await t.request('openTrace', { path: picked, jobId: 'after' })).toMatchObject({ ok: true });
    // A cancelled dialog grants nothing.
    expect(await t.request('showOpenDialog')).toMatchObject({ ok: true, value: null });
    await t.shell.services.dispose();
    // Next run: nothing granted, but the file is in the recent list, which only holds files opened before.
    const again = await startTestShell({ dataDir: t.dataDir });
    try {
      expect(again.shell.grants.has(picked)).toBe(false);
      expect(await again.request('openTrace', { path: picked, jobId: 'recent' })).toMatchObject({ ok: true });
      expect(await again.request('openTrace', { path: sample('wordfreq.pstats'), jobId: 'other' })).toMatchObject({ ok: false });
    } finally {
      await again.dispose();
    }
  });

  it("reads and writes the playground's scripts only where the user chose, in a native dialog", async () => {
    const t = await start();
    const dir = mkdtempSync(join(tmpdir(), 'emberscope-shell-py-'));
    try {
      const typed = join(dir, 'tool.py');
      writeFileSync(typed, 'def answer():\n    return 41\n');
      const planted = join(dir, 'sitecustomize.py');
      writeFileSync(planted, '# untouched\n');
      const dialogs = (kind: string) => t.fake.dialogLog.filter((d) => d.kind === kind);
      // A path the page types: the open dialog, starting there; cancelled, nothing is read.
      expect(await t.request('readVmScript', { path: typed })).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(/dialog was cancelled/) } });
      expect(dialogs('open').at(-1)!.options).toMatchObject({ defaultPath: typed, properties: ['openFile'] });
      // Picked: read, granted, and later reads and saves of it ask nothing.
      t.fake.dialogAnswers.openFile.push(typed);
      expect(await t.request('readVmScript', { path: typed })).toMatchObject({ ok: true, value: { path: typed, text: expect.stringContaining('return 41') } });
      expect(t.shell.grants.sourceOf(typed)).toBe('dialog');
      const asked = t.fake.dialogLog.length;
      expect(await t.request('readVmScript', { path: typed })).toMatchObject({ ok: true });
      expect(await t.request('writeVmScript', { path: typed, text: 'def answer():\n    return 42\n' })).toMatchObject({ ok: true, value: { path: typed } });
      expect(readFileSync(typed, 'utf8')).toContain('return 42');
      expect(t.fake.dialogLog.length).toBe(asked);
      // A file beside it the user never chose: the save dialog; cancelled, the file is as it was.
      expect(await t.request('writeVmScript', { path: planted, text: 'import os\n' })).toMatchObject({ ok: false, error: { code: 'bad-request' } });
      expect(dialogs('save').at(-1)!.options).toMatchObject({ defaultPath: planted });
      expect(readFileSync(planted, 'utf8')).toBe('# untouched\n');
      // Save As: where the user picks in the save dialog (another folder than the opened file's), not what the page named.
      const other = mkdtempSync(join(tmpdir(), 'emberscope-shell-py2-'));
      const picked = join(other, 'copy.py');
      t.fake.dialogAnswers.saveFile.push(picked);
      expect(await t.request('writeVmScript', { path: join(dir, 'copy.py'), text: 'x = 1\n' })).toMatchObject({ ok: true, value: { path: picked } });
      expect(readFileSync(picked, 'utf8')).toBe('x = 1\n');
      expect(existsSync(join(dir, 'copy.py'))).toBe(false);
      rmSync(other, { recursive: true, force: true });
      // The bundled examples open without a dialog.
      const examples = await t.request('listVmExamples');
      const example = (examples as { value: { path: string }[] }).value[0]!.path;
      const before = t.fake.dialogLog.length;
      expect(await t.request('readVmScript', { path: example })).toMatchObject({ ok: true });
      expect(t.fake.dialogLog.length).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes a drop grant only from the preload of our own page, for one absolute path', async () => {
    const t = await start();
    const listener = t.fake.ipcListeners.get(GRANT_DROP_CHANNEL)!;
    // What the preload's sendSync returns: the listener's returnValue.
    const grant = (event: object, path: unknown) => {
      const e: Record<string, unknown> = { ...event };
      listener(e, path);
      return e.returnValue;
    };
    const fromPage = { sender: t.win.webContents, senderFrame: t.win.webContents.mainFrame };
    const dropped = sample('wordfreq-viztracer.json');
    // From a subframe, another web contents, or a page that is not ours: ignored.
    expect(grant({ ...fromPage, senderFrame: new FakeFrame(APP_URL, t.win.webContents.mainFrame) }, dropped)).toBe(false);
    expect(grant({ ...fromPage, sender: { id: 4242 } }, dropped)).toBe(false);
    expect(grant({ ...fromPage, senderFrame: new FakeFrame('https://evil.example/') }, dropped)).toBe(false);
    // Not one absolute path.
    for (const bad of [42, null, { path: dropped }, [dropped], '', 'relative/x.json', `${dropped}\0`, 'x'.repeat(5000)]) {
      expect(grant(fromPage, bad), JSON.stringify(bad)?.slice(0, 40)).toBe(false);
    }
    expect(await t.request('openTrace', { path: dropped, jobId: 'd0' })).toMatchObject({ ok: false });
    expect(grant(fromPage, dropped)).toBe(true);
    expect(await t.request('openTrace', { path: dropped, jobId: 'd1' })).toMatchObject({ ok: true, value: { name: 'wordfreq-viztracer.json' } });
    // The page cannot send the grant itself: the preload's invoke/on refuse channels without the `emberscope:` prefix.
    expect(GRANT_DROP_CHANNEL.startsWith('emberscope:')).toBe(false);
    // The preload asks synchronously: every answer, a refusal too, sets returnValue (checked above through `grant`:
    // `false` and `true`, never undefined), or the page would hang.
  });

  it('runs no program the page asks for unless the user confirms it in a native dialog', async () => {
    const t = await start();
    const dir = mkdtempSync(join(tmpdir(), 'emberscope-exec-'));
    const marker = join(dir, 'ran');
    const script = join(dir, 'evil.py');
    writeFileSync(script, `open(${JSON.stringify(marker)}, 'w').write('x')\n`);
    try {
      // The user answers Cancel (the stand-in's default answer).
      const record = await t.request('startSession', { target: { kind: 'record', script, args: [] }, options: DEFAULT_SAMPLING_OPTIONS });
      expect(record).toMatchObject({ ok: false });
      const vm = await t.request('startVmHost', { script });
      expect(vm).toMatchObject({ ok: false });
      const asked = t.fake.dialogLog.filter((d) => d.options.title === 'Run a program?');
      expect(asked.length).toBeGreaterThanOrEqual(2);
      expect(asked[0]!.options.detail).toContain(script);
      // Both requests were answered after the refusal: had anything been started, it would have been before that.
      expect(existsSync(marker)).toBe(false);
      // From a page that is not ours, not even the question is asked.
      const before = t.fake.dialogLog.length;
      expect(await t.request('startSession', { target: { kind: 'record', script, args: [] }, options: DEFAULT_SAMPLING_OPTIONS }, { frame: new FakeFrame('file:///tmp/x.html') })).toMatchObject({
        ok: false,
        error: { message: expect.stringMatching(/not Emberscope/) },
      });
      expect(await t.request('showOpenDialog', undefined, { sender: { id: 77 } })).toMatchObject({ ok: false });
      expect(t.fake.dialogLog.length).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a second launch that names a switch or nothing opens nothing', async () => {
    const t = await start();
    // The handler decides synchronously: with no file named, nothing is opened or queued.
    t.fake.app.emit('second-instance', makeEvent(), ['/opt/Emberscope/emberscope', '--inspect=9229', '--js-flags=--allow-natives-syntax'], '/');
    expect(t.fake.dialogLog).toEqual([]);
    expect(await t.request('listTraces')).toMatchObject({ ok: true, value: [] });
  });
});
