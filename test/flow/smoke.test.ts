import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFlowServer, bindServer } from '../../lib/flow/FlowServer.js';
import { LinkSender } from '../../lib/flow/LinkSender.js';

test('smoke', async () => {
  const received: number[] = [];
  const server = createFlowServer({ receiver: 'r', capacity: 10, maxBatchEvents: 4, maxBatchBytes: 1 << 20, maxLinks: 4 }, async (link) => {
    for await (const d of link) { received.push(...d.events.map((e) => Number(e.id))); d.acknowledge(); }
  });
  const port = await bindServer(server, '127.0.0.1:0');
  const sender = new LinkSender({ target: `127.0.0.1:${port}`, link: 'a->b', sender: 'a' });
  const acks: number[] = [];
  sender.on('ack', (a) => acks.push(a.offset));
  const events = Array.from({ length: 25 }, (_, i) => ({ id: String(i) }));
  const result = await sender.send(events);
  await sender.close();
  server.forceShutdown();
  assert.equal(result.count, 25);
  assert.deepEqual(received, events.map((_, i) => i));
  assert.equal(acks.at(-1), 25);
});
