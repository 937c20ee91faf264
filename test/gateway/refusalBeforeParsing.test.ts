import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, createServer, request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import type pg from 'pg';
import { Registry } from 'prom-client';
import type { Breaker } from '../../lib/breaker.js';
import type { LinkReceiver } from '../../lib/flow/LinkReceiver.js';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import { ApiKeyring } from '../../lib/security/ApiKeyring.js';
import { EdgeTraffic } from '../../gateway/EdgeTraffic.js';
import { createHttpApi } from '../../gateway/httpApi.js';
import { IntakeClient } from '../../gateway/IntakeClient.js';
import type { MeshPressure } from '../../gateway/MeshPressure.js';
import type { PressureStream } from '../../gateway/PressureStream.js';
import { testAdmission } from '../helpers/admission.js';
import { makeEvents } from '../helpers/events.js';
import { startReceiver } from '../helpers/receivers.js';

const bottleneck = { stage: 'sink', replica: 'sink-0', reason: 'stand-in' };

interface Answer { status: number; body: any; retryAfter: string | undefined; reusedSocket: boolean }

/** POSTs `body` to /v1/events through `agent`, saying whether the connection was one already used. */
function post(url: string, agent: Agent, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest(`${url}/v1/events`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({
        status: response.statusCode!,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        retryAfter: response.headers['retry-after'],
        reusedSocket: sent.reusedSocket,
      }));
    });
    sent.on('error', reject);
    sent.end(body);
  });
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${condition.toString()}`);
    await sleep(5);
  }
}

test('with no credit on the link to the source, a request is refused with 429 before its body is parsed, and its connection carries the next one', { timeout: 30_000 }, async (t) => {
  // The source as a receiver that never takes what it is sent: credit spent is never given back.
  const links: LinkReceiver[] = [];
  const receiver = await startReceiver((link) => links.push(link), { receiver: 'source', capacity: 50 });
  const sender = new LinkSender({ target: receiver.target, link: 'gateway->source', sender: 'gateway', backoff: { initialMs: 10, maxMs: 20 } });
  const intake = new IntakeClient(sender);
  const server = createServer(createHttpApi({
    maxBodyBytes: 1 << 20, maxEvents: 1000, maxFieldBytes: 128,
    intake, admission: testAdmission(() => intake.credit()),
    pool: undefined as unknown as pg.Pool, databaseBreaker: undefined as unknown as Breaker, keyring: new ApiKeyring([]),
    edge: new EdgeTraffic(new Registry()), pressure: { bottleneck: async () => bottleneck, intakeRoomSeconds: () => undefined } as unknown as MeshPressure,
    pressureStream: undefined as unknown as PressureStream, dashboard: new Map(),
  }));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => { agent.destroy(); server.close(); sender.cancel(); receiver.stop(); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  await until(() => sender.connected && sender.stats().freeCredit > 0);

  const notJson = '{"events": [this is not JSON';
  const whileCredit = await post(url, agent, notJson);
  assert.equal(whileCredit.status, 400, 'with credit free, the body is parsed and found wanting');

  // Every event of credit the source granted is spent on a request it never confirms.
  const spent = sender.stats().freeCredit;
  const pending = intake.submit(makeEvents(spent), ROOT_CONTEXT);
  pending.catch(() => undefined);
  await until(() => sender.stats().freeCredit <= 0);

  const refused = await post(url, agent, notJson);
  assert.equal(refused.status, 429, 'not 400: the body was never parsed');
  assert.ok(Number(refused.retryAfter) >= 1, `a Retry-After in whole seconds (${refused.retryAfter})`);
  assert.match(refused.body.error, /the mesh is at capacity/);
  assert.deepEqual(refused.body.bottleneck, bottleneck, 'the 429 still names the bottleneck');
  assert.ok(refused.reusedSocket, 'the same keep-alive connection as the request before');

  // Bodies of many chunks are drained too, and the connection stays usable for the next request.
  const large = `[${'"x",'.repeat(200_000)}`;
  for (let round = 0; round < 3; round += 1) {
    const answer = await post(url, agent, large);
    assert.equal(answer.status, 429);
    assert.ok(answer.reusedSocket, `request ${round + 1} of the large ones reused the connection`);
  }
  assert.equal(links.length, 1);
  assert.equal(links[0]!.received, spent, 'nothing of the refused requests crossed the link');
});
