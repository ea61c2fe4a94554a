// Review: what the playground says when a host request fails. The services' messages name the file and say what to
// do; the playground must not add the contract's code ("(bad-request)"), nor report a start the user cancelled
// (a declined confirmation dialog, Stop pressed while it started) as a failure.
import { afterEach, describe, expect, it } from 'vitest';
import type { EmberscopeClient } from '../../electron/contract/api';
import { ContractError } from '../../electron/contract/api';
import { useClient } from '../../renderer/src/store/client';
import { runActiveDoc } from '../../renderer/src/playground/hosts';
import { createDoc, getPlayground, setPlayground } from '../../renderer/src/playground/store';

function failingStart(err: ContractError): EmberscopeClient {
  return { startVmHost: () => Promise.reject(err) } as unknown as EmberscopeClient;
}

async function runWith(err: ContractError): Promise<string | null> {
  const doc = createDoc({ name: 'loop.py', text: 'while True: pass\n' });
  setPlayground({ docs: [doc], activeDocId: doc.docId, error: null });
  useClient(failingStart(err));
  await runActiveDoc();
  return getPlayground().error;
}

afterEach(() => setPlayground({ docs: [], activeDocId: null, error: null }));

describe('playground request failures', () => {
  it('say the service message without the contract code', async () => {
    const error = await runWith(new ContractError('bad-request', '16 VM hosts are running, the most allowed at once is 16: stop or close one first'));
    expect(error).toBe('Could not run loop.py: 16 VM hosts are running, the most allowed at once is 16: stop or close one first');
  });

  it('say nothing when the user cancelled (a declined dialog, Stop while it started)', async () => {
    expect(await runWith(new ContractError('cancelled', 'loop.py was stopped before it started running'))).toBeNull();
  });
});
