// A client that resets its TCP connection in the middle of a WebSocket upgrade (refused or accepted) must not take
// `serve` down: past Node's 'upgrade' event the raw socket's errors are the server's to handle, and an unhandled
// ECONNRESET there is thrown out of the event loop. The real CLI, so a crash shows as its exit.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, startServeCli, WireClient, type ServeCli } from './robustness-client';

let tmp: string;
let serve: ServeCli;

beforeAll(async () => {
  buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'emberscope-robust-reset-'));
  serve = await startServeCli([], { cwd: tmp, env: { EMBERSCOPE_HOME: join(tmp, 'home') } });
});
afterAll(async () => {
  await serve?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Sends an upgrade request and resets the connection (RST, not FIN) as soon as the server starts answering. */
function upgradeThenReset(path: string): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect(serve.port, '127.0.0.1', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${serve.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      socket.resetAndDestroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
}

describe('a client that resets the connection during the upgrade', () => {
  it('leaves serve running and answering, whether the upgrade was refused or accepted', async () => {
    for (let i = 0; i < 200; i++) {
      await upgradeThenReset('/ws?token=wrong');
      await upgradeThenReset(new URL(serve.socketUrl).pathname + new URL(serve.socketUrl).search);
    }
    expect(serve.child.exitCode, serve.stderr()).toBeNull();
    const client = await WireClient.connect(serve.socketUrl);
    expect(await client.call('getServerInfo')).toMatchObject({ host: 'serve' });
    await client.close();
    expect(serve.child.exitCode, serve.stderr()).toBeNull();
  });
});
