import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Breaker } from '../../lib/breaker.js';
import { StageClock } from '../../lib/telemetry/StageClock.js';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import { createRedis, isPermanentRedisError, redisReady } from '../../lib/storage/redis.js';
import { Intake } from '../../services/source/Intake.js';
import { IntakeReader } from '../../services/source/IntakeReader.js';
import { intakeEntryFields } from '../../services/source/intakeEntry.js';
import { consumeAll, startReceiver } from '../helpers/receivers.js';
import { redisUrl } from '../helpers/testServers.js';
import { proxyToSharedRedis } from './chaosMesh.js';

test('a read of the intake whose reply is lost with the connection is re-delivered once Redis is back, not left pending until a restart', { timeout: 30_000 }, async (t) => {
  const proxy = await proxyToSharedRedis();
  const direct = createRedis(redisUrl, { name: 'reply-lost-test' });
  const redis = createRedis(proxy.url(redisUrl), { name: 'reply-lost-intake' });
  const blockingRedis = createRedis(proxy.url(redisUrl), { name: 'reply-lost-reader' });
  await Promise.all([redisReady(direct), redisReady(redis), redisReady(blockingRedis)]);
  const breaker = new Breaker('redis', { timeoutMs: 2_000, errorThresholdPercentage: 50, resetTimeoutMs: 300, volumeThreshold: 3 }, isPermanentRedisError);
  const key = `mesh-chaos-${randomBytes(5).toString('hex')}:intake`;
  const intake = new Intake(redis, blockingRedis, breaker, key, 'mesh', 'source-1');
  await intake.createGroup();
  // Enrichment as the reader sees it: a real link whose receiver takes and acknowledges everything at once.
  const received: string[] = [];
  const enrichment = await startReceiver(consumeAll(received), { capacity: 1_000, maxBatchEvents: 500 });
  const downstream = new LinkSender({ target: enrichment.target, link: 'source->enrichment', sender: 'reply-lost-test' });
  const stopping = new AbortController();
  const reader = new IntakeReader(intake, downstream, { unread: 0, heldBack: () => undefined, read: () => undefined, removed: () => undefined }, new StageClock());
  const running = reader.run(100, 200, stopping.signal).catch(() => undefined);
  t.after(async () => {
    stopping.abort();
    await proxy.restore();
    await running;
    downstream.cancel();
    enrichment.stop();
    breaker.shutdown();
    await direct.del(key);
    for (const client of [direct, redis, blockingRedis]) client.disconnect();
    await proxy.close();
  });
  // In one transaction, so a blocked read wakes to all of them at once rather than to the first.
  const append = (from: number, count: number) => {
    const pipeline = direct.multi();
    for (let i = from; i < from + count; i++) pipeline.xadd(key, '*', ...intakeEntryFields([{ id: `e-${i}` }], {}));
    return pipeline.exec();
  };
  const waitFor = async (condition: () => Promise<boolean> | boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!(await condition()) && Date.now() < deadline) await sleep(5);
    return condition();
  };

  await append(0, 10);
  assert.ok(await waitFor(() => received.length === 10, 5_000), 'entries flow');

  // Replies now take 300 ms back to the reader: cut while the reply to a read that took entries is on its way.
  proxy.delayMs = 300;
  await sleep(400); // the read in flight (sent before the delay) comes back empty first
  await append(10, 10);
  const delivered = await waitFor(async () => ((await direct.xpending(key, 'mesh')) as [number])[0] === 10, 3_000);
  assert.ok(delivered, 'Redis delivered the new entries to the reader (they are pending)');
  await proxy.cut();
  await sleep(1_000);
  proxy.delayMs = 0;
  await proxy.restore();
  await append(20, 10);

  const complete = await waitFor(async () => new Set(received).size === 30 && (await direct.xlen(key)) === 0, 10_000);
  const [pending] = (await direct.xpending(key, 'mesh')) as [number];
  t.diagnostic(`received ${received.length} (${new Set(received).size} distinct) of 30; intake ${await direct.xlen(key)}, pending ${pending}`);
  assert.ok(complete, 'every entry reaches downstream and leaves the intake, including those of the read whose reply was lost');
  assert.equal(received.length, 30, 'none twice: entries still in flight are not re-sent');
});
