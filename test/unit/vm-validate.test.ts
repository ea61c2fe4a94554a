// The VM requests' argument checks (electron/contract/validate.ts): what an untrusted renderer or `serve` client may
// send. Every string, array and number is bounded; paths are checked like openTrace's; unknown keys are refused.
import { describe, expect, it } from 'vitest';
import { LIMITS, validateRequestArg } from '../../electron/contract/validate';

const ok = (method: Parameters<typeof validateRequestArg>[0], arg: unknown) => expect(validateRequestArg(method, arg), JSON.stringify(arg)?.slice(0, 100)).toBeNull();
const bad = (method: Parameters<typeof validateRequestArg>[0], arg: unknown, why: RegExp) => expect(validateRequestArg(method, arg)).toMatch(why);

describe('VM request validation', () => {
  it('startVmHost: a script path or source + name, bounded options', () => {
    ok('startVmHost', { script: '/home/u/sim.py' });
    ok('startVmHost', { script: 'sim.py', args: ['--n', '3', ''], interpreter: '/venv/bin/python', cwd: '/tmp', rateHz: 1000 });
    ok('startVmHost', { source: '', name: 'loop.py' });
    bad('startVmHost', {}, /either script .* or source and name/);
    bad('startVmHost', { script: '/a.py', source: 'x' }, /either script/);
    bad('startVmHost', { source: 'x' }, /name: expected a file name/);
    for (const name of ['../evil.py', 'a/b.py', '.hidden.py', 'x.txt', 'x', `${'a'.repeat(101)}.py`]) bad('startVmHost', { source: 'x', name }, /name/);
    bad('startVmHost', { script: '/a.py', name: 'b.py' }, /name: only with source/);
    bad('startVmHost', { script: '/a.py', rateHz: 0 }, /rateHz/);
    bad('startVmHost', { script: '/a.py', rateHz: 1001 }, /rateHz/);
    bad('startVmHost', { script: '/a.py', rateHz: 10.5 }, /rateHz/);
    bad('startVmHost', { script: '/a\0.py' }, /NUL/);
    bad('startVmHost', { script: 'x'.repeat(LIMITS.maxPathLength + 1) }, /longer than/);
    bad('startVmHost', { source: 'x'.repeat(LIMITS.maxVmSourceLength + 1), name: 'a.py' }, /source: longer than/);
    bad('startVmHost', { script: '/a.py', args: 'x' }, /args: expected an array/);
    bad('startVmHost', { script: '/a.py', args: Array(LIMITS.maxScriptArgs + 1).fill('') }, /more than/);
    bad('startVmHost', { script: '/a.py', watch: true }, /unknown key "watch"/);
    bad('startVmHost', JSON.parse('{"script":"/a.py","__proto__":{"x":1}}'), /forbidden key "__proto__"/);
    bad('startVmHost', null, /expected an object/);
  });

  it('host ids, reload source, profiles, editor files', () => {
    for (const m of ['stopVmHost', 'interruptVmHost', 'killVmHost', 'recycleVmHost', 'closeVmHost'] as const) {
      ok(m, { hostId: 'vm-1' });
      bad(m, { hostId: 'vm 1' }, /hostId: must match/);
      bad(m, { hostId: 'x'.repeat(LIMITS.maxIdLength + 1) }, /longer than/);
      bad(m, { hostId: 'vm-1', extra: 1 }, /unknown key/);
    }
    ok('listVmHosts', undefined);
    ok('listVmExamples', null);
    bad('listVmHosts', {}, /expects no argument/);
    ok('reloadVmHost', { hostId: 'vm-1' });
    ok('reloadVmHost', { hostId: 'vm-1', source: 'def f():\n    pass\n' });
    bad('reloadVmHost', { hostId: 'vm-1', source: 3 }, /source: expected a string/);
    ok('getVmProfile', { hostId: 'vm-1' });
    ok('getVmProfile', { hostId: 'vm-1', generation: 0 });
    bad('getVmProfile', { hostId: 'vm-1', generation: -1 }, /generation/);
    bad('getVmProfile', { hostId: 'vm-1', generation: 1.5 }, /generation/);
    bad('getVmProfile', { hostId: 'vm-1', generation: LIMITS.maxVmGeneration + 1 }, /generation: larger than/);
    ok('readVmScript', { path: '/home/u/sim.py' });
    bad('readVmScript', { path: '' }, /must not be empty/);
    ok('writeVmScript', { path: '/home/u/sim.py', text: '' });
    bad('writeVmScript', { path: '/home/u/sim.py' }, /missing "text"/);
    bad('writeVmScript', { path: '/home/u/sim.py', text: 'x'.repeat(LIMITS.maxVmSourceLength + 1) }, /text: longer than/);
  });
});
