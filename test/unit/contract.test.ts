// Runs the one contract suite over every transport we can run in Node: the in-memory pair and a real WebSocket to
// startServer (through the renderer's own ws.ts), each with the transport test host and with the real services.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import WebSocket from 'ws';
import type { EmberscopeServiceHost } from '../../electron/contract/api';
import { createClient, handleRequestMessage, IPC_EVENT_CHANNEL, IPC_REQUEST_CHANNEL, serveConnection } from '../../electron/contract/channel';
import { createMemoryPair } from '../../electron/contract/memory';
import { createServices } from '../../electron/services/services';
import { startServer } from '../../electron/server/server';
import { createIpcTransport, type EmberscopeBridge } from '../../renderer/src/transport/ipc';
import { createWebSocketTransport, type WebSocketLike } from '../../renderer/src/transport/ws';
import { runContractSuite, type ContractEnv, type HostCapabilities } from './contract-suite';
import { createTestHost, TEST_PATHS } from './contract-test-host';
import { missingNative, titled } from './skips';

const scratch = mkdtempSync(join(tmpdir(), 'emberscope-contract-'));
const staticDir = join(scratch, 'static');
mkdirSync(staticDir);
writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>emberscope</title>');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type HostFactory = () => { host: EmberscopeServiceHost; listenerCount?: () => number; dispose(): Promise<void> | void };

function makeMemoryEnv(makeHost: HostFactory): () => Promise<ContractEnv> {
  return async () => {
    const { host, listenerCount, dispose } = makeHost();
    const [clientEnd, serverEnd] = createMemoryPair();
    serveConnection(serverEnd, host);
    const client = createClient(clientEnd);
    return {
      client,
      host,
      listenerCount,
      disconnect: () => serverEnd.close(),
      dispose: async () => {
        clientEnd.close();
        await dispose();
      },
    };
  };
}

function makeWebSocketEnv(makeHost: HostFactory): () => Promise<ContractEnv> {
  return async () => {
    const { host, listenerCount, dispose } = makeHost();
    const server = await startServer({ services: host, staticDir });
    const transport = createWebSocketTransport(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, {
      createSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
      reconnect: false,
    });
    const client = createClient(transport);
    await client.getServerInfo(); // connected before the suite starts counting
    return {
      client,
      host,
      listenerCount,
      disconnect: () => server.close(),
      dispose: async () => {
        transport.close();
        await server.close();
        await dispose();
      },
    };
  };
}

/**
 * The renderer's IPC transport (ipc.ts) against a bridge that does what preload.ts + main.ts do, minus Electron:
 * prefix-checked channels, structured clone both ways, handleRequestMessage on the main side, events fanned out.
 */
function makeIpcEnv(makeHost: HostFactory): () => Promise<ContractEnv> {
  return async () => {
    const { host, listenerCount, dispose } = makeHost();
    const offs: (() => void)[] = [];
    const bridge: EmberscopeBridge = {
      async invoke(channel, arg) {
        if (channel !== IPC_REQUEST_CHANNEL) throw new Error(`no handler for ${channel}`);
        return structuredClone(await handleRequestMessage(host, structuredClone(arg)));
      },
      on(channel, listener) {
        if (channel !== IPC_EVENT_CHANNEL) return () => {};
        const off = host.onEvent((event, payload) => listener(structuredClone({ t: 'evt', event, payload })));
        offs.push(off);
        return off;
      },
      off() {},
    };
    return {
      client: createClient(createIpcTransport(bridge)),
      host,
      listenerCount,
      disconnect: () => {},
      dispose: async () => {
        for (const off of offs) off();
        await dispose();
      },
    };
  };
}

const testHost: HostFactory = () => {
  const host = createTestHost();
  return { host, listenerCount: () => host.listenerCount(), dispose: () => {} };
};
const testHostCaps: HostCapabilities = {
  slowPath: TEST_PATHS.slow,
  crashPath: TEST_PATHS.crash,
  crashMessage: 'parser exploded at byte 12',
  bigSampleId: 'big',
  liveSessions: true,
};

runContractSuite('the in-memory pair (test host)', makeMemoryEnv(testHost), testHostCaps);
runContractSuite('a WebSocket to startServer (test host)', makeWebSocketEnv(testHost), testHostCaps);
runContractSuite('Electron IPC as the preload and main wire it (test host)', makeIpcEnv(testHost), { ...testHostCaps, cannotDisconnect: true });

const realServices: HostFactory = () => {
  const dataDir = mkdtempSync(join(scratch, 'data-'));
  const services = createServices({ host: 'memory', dataDir });
  return { host: services, dispose: () => services.dispose() };
};

const realCaps: HostCapabilities = {
  sourceTrace: { path: join(__dirname, '../fixtures/lines/workload.pyspy.txt'), file: 'workload.py', contains: 'def checksum(data):' },
};

const noNative = missingNative();
describe.skipIf(noNative)(titled('the contract over the real services', noNative), () => {
  runContractSuite('the in-memory pair (real services)', makeMemoryEnv(realServices), realCaps);
  runContractSuite('a WebSocket to startServer (real services)', makeWebSocketEnv(realServices), realCaps);
  runContractSuite('Electron IPC as the preload and main wire it (real services)', makeIpcEnv(realServices), { ...realCaps, cannotDisconnect: true });
});
