// The page's side of the shell's messages (renderer/src/shell.ts), DOM-free parts: a menu command changes the store as
// the toolbar would, a malformed message is ignored, and only well-formed messages pass the contract's check.
import { describe, expect, it } from 'vitest';
import { isShellMessage } from '../../electron/contract/shell-messages';
import { handleShellMessage } from '../../renderer/src/shell';
import { getState, setState } from '../../renderer/src/store/store';
import { getPlayground, setPlayground } from '../../renderer/src/playground/store';

describe("the page's handling of shell messages", () => {
  it('accepts exactly the messages the shell sends', () => {
    for (const ok of [
      { kind: 'theme', theme: 'light' },
      { kind: 'command', command: 'show-view', view: 'table' },
      { kind: 'command', command: 'open-picker', tab: 'record' },
      { kind: 'command', command: 'export', format: 'chrome' },
      { kind: 'command', command: 'show-playground' },
      { kind: 'native-failure', failure: { cause: 'c', fix: 'f' } },
    ]) {
      expect(isShellMessage(ok), JSON.stringify(ok)).toBe(true);
    }
    for (const bad of [
      null,
      'theme',
      { kind: 'theme', theme: 'purple' },
      { kind: 'command', command: 'show-view', view: 'html' },
      { kind: 'command', command: 'export', format: 'exe' },
      { kind: 'command', command: 'run', argv: ['sh'] },
      { kind: 'native-failure', failure: { cause: 1 } },
      { kind: 'eval', code: '1' },
    ]) {
      expect(isShellMessage(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('carries out the menu commands on the store', () => {
    setState({ home: true, currentTraceId: null, view: 'flame-graph' });
    handleShellMessage({ kind: 'command', command: 'show-view', view: 'sandwich' });
    expect(getState().view).toBe('sandwich');
    // No profile open: the welcome screen stays.
    expect(getState().home).toBe(true);
    setState({ currentTraceId: 't1' });
    handleShellMessage({ kind: 'command', command: 'show-view', view: 'table' });
    expect(getState()).toMatchObject({ view: 'table', home: false });
    handleShellMessage({ kind: 'command', command: 'show-welcome' });
    expect(getState().home).toBe(true);
    handleShellMessage({ kind: 'command', command: 'open-picker', tab: 'record' });
    expect(getState().picker).toBe('record');
    // Showing the playground needs the services (it follows the VM hosts); a view command leaves it.
    setPlayground({ shown: true });
    handleShellMessage({ kind: 'command', command: 'show-view', view: 'flame-chart' });
    expect(getPlayground().shown).toBe(false);
  });
});
