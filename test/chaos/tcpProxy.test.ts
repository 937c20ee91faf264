import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { TcpProxy } from '../helpers/tcpProxy.js';

async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.pipe(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

async function connect(port: number): Promise<Socket> {
  const socket = createConnection({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

/** Sends `text` and resolves with the echo and how long it took. */
async function roundTrip(socket: Socket, text: string): Promise<{ echo: string; ms: number }> {
  const started = Date.now();
  let echo = '';
  socket.write(text);
  while (echo.length < text.length) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    echo += chunk.toString();
  }
  return { echo, ms: Date.now() - started };
}

test('tcpProxy forwards, adds latency, cuts (reset or refuse) and restores, and counts', async (t) => {
  const { server, port } = await echoServer();
  const proxy = await TcpProxy.start({ target: `127.0.0.1:${port}` });
  t.after(async () => { await proxy.close(); server.close(); });

  const socket = await connect(proxy.port);
  assert.equal((await roundTrip(socket, 'hello')).echo, 'hello');
  proxy.delayMs = 100;
  const slow = await roundTrip(socket, 'slow');
  assert.ok(slow.ms >= 190, `a round trip crosses the delay twice (${slow.ms} ms)`);
  proxy.delayMs = 0;

  const closed = once(socket, 'close');
  await proxy.cut();
  await closed;
  const attempt = createConnection({ host: '127.0.0.1', port: proxy.port });
  attempt.on('error', () => undefined);
  await new Promise((resolve) => attempt.once('close', resolve));
  assert.equal(proxy.stats().refused, 1, 'an attempt while cut is reset and counted');

  await proxy.restore();
  const again = await connect(proxy.port);
  assert.equal((await roundTrip(again, 'back')).echo, 'back');
  const stats = proxy.stats();
  assert.equal(stats.connections, 2);
  assert.equal(stats.bytesToServer, 'helloslowback'.length);
  assert.equal(stats.bytesToClient, 'helloslowback'.length);
  assert.equal(stats.active, 1);

  await proxy.cut('refuse');
  const refused = createConnection({ host: '127.0.0.1', port: proxy.port });
  const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
  assert.equal(error.code, 'ECONNREFUSED', 'refuse mode stops listening');
  await proxy.restore();
  const last = await connect(proxy.port);
  assert.equal((await roundTrip(last, 'same port')).echo, 'same port');
  last.destroy();
});

test('tcpProxy buffers boundedly: a reader that stops reading pauses the writer on the other side', async (t) => {
  // A server that never reads: what the client writes piles up, and the proxy must not hold it all.
  const sockets: Socket[] = [];
  const server = createServer((socket) => { socket.pause(); sockets.push(socket); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const proxy = await TcpProxy.start({ target: `127.0.0.1:${(server.address() as { port: number }).port}`, maxQueuedBytes: 64 * 1024 });
  t.after(async () => { await proxy.close(); for (const socket of sockets) socket.destroy(); server.close(); });
  const client = await connect(proxy.port);
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  // Write until the client's own buffer reports back-pressure for a while.
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline && written < 256 * 1024 * 1024) {
    if (!client.write(chunk)) {
      const drained = await Promise.race([once(client, 'drain').then(() => true), sleep(300).then(() => false)]);
      if (!drained) break;
    }
    written += chunk.length;
  }
  const forwarded = proxy.stats().bytesToServer;
  t.diagnostic(`client wrote ${written} bytes before back-pressure stopped it; the proxy forwarded ${forwarded}; pauses ${proxy.stats().pauses}`);
  assert.ok(written < 256 * 1024 * 1024, 'the writer was stopped');
  assert.ok(proxy.stats().pauses > 0, 'the proxy paused the client');
  client.destroy();
});
