import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Breaker } from '../../lib/breaker.js';
import type { Delivery, LinkReceiver } from '../../lib/flow/LinkReceiver.js';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import { createRedis, deleteKeysWithPrefix, intakeStreamKey, isPermanentRedisError, redisReady } from '../../lib/storage/redis.js';
import { StageClock } from '../../lib/telemetry/StageClock.js';
import { Intake } from '../../services/source/Intake.js';
import { IntakeReader } from '../../services/source/IntakeReader.js';
import { makeEvents } from '../helpers/events.js';
import { startReceiver } from '../helpers/receivers.js';
import { randomName, redisUrl } from '../helpers/testServers.js';

interface Reader {
  intake: Intake;
  /** Every delivery enrichment took, on any of its links, in order; acknowledged only when told. */
  deliveries: Delivery[];
  links: LinkReceiver[];
  told: { read: Array<[number, number]>; removed: Array<[number, number]> };
  length(): Promise<number>;
}

/**
 * The source's reading side, for real: an Intake on the shared Redis (a key prefix of its own)
 * read by an IntakeReader into a real link, whose receiver (enrichment as the reader sees it)
 * takes everything granted and leaves the acknowledging to the test.
 */
async function startReader(t: TestContext, { capacity, maxBatchEvents }: { capacity: number; maxBatchEvents: number }): Promise<Reader> {
  const prefix = randomName('mesh-test-intake-reader-') + ':';
  const key = intakeStreamKey(prefix);
  const redis = createRedis(redisUrl, { name: 'intake-reader-test' });
  const blockingRedis = createRedis(redisUrl, { name: 'intake-reader-test-blocking' });
  await Promise.all([redisReady(redis), redisReady(blockingRedis)]);
  const breaker = new Breaker('redis', { timeoutMs: 5_000, errorThresholdPercentage: 50, resetTimeoutMs: 500, volumeThreshold: 5 }, isPermanentRedisError);
  const intake = new Intake(redis, blockingRedis, breaker, key, 'mesh', 'source-test');
  await intake.createGroup();
  const deliveries: Delivery[] = [];
  const links: LinkReceiver[] = [];
  const enrichment = await startReceiver((link) => {
    links.push(link);
    void (async () => { for await (const delivery of link) deliveries.push(delivery); })();
  }, { capacity, maxBatchEvents });
  const downstream = new LinkSender({ target: enrichment.target, link: 'source->enrichment', sender: 'intake-reader-test' });
  const told: Reader['told'] = { read: [], removed: [] };
  const reader = new IntakeReader(intake, downstream, { unread: 0, heldBack: () => undefined, read: (...counts) => told.read.push(counts), removed: (...counts) => told.removed.push(counts) }, new StageClock());
  const stopping = new AbortController();
  const running = reader.run(100, 100, stopping.signal).catch(() => undefined);
  t.after(async () => {
    stopping.abort();
    await running;
    downstream.cancel();
    enrichment.stop();
    breaker.shutdown();
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
    blockingRedis.disconnect();
  });
  return { intake, deliveries, links, told, length: () => redis.xlen(key) };
}

async function until(condition: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${condition.toString()}`);
    await sleep(5);
  }
}

const idsOf = (deliveries: Delivery[]) => deliveries.flatMap((delivery) => delivery.events.map((event) => event.id));

describe('IntakeReader', { timeout: 30_000 }, () => {
  test('an entry larger than the credit goes in several sends, and leaves the intake only once all its events are acknowledged', async (t) => {
    const { intake, deliveries, told, length } = await startReader(t, { capacity: 10, maxBatchEvents: 10 });
    const events = makeEvents(30);
    await intake.append(events);
    await until(() => idsOf(deliveries).length === 30);
    assert.deepEqual(idsOf(deliveries), events.map((event) => event.id), 'every event once, in order');
    assert.ok(deliveries.every((delivery) => delivery.events.length <= 10), 'within the credit');
    assert.deepEqual(told.read, [[30, 1]], 'read once: 30 events in one entry');

    for (const delivery of deliveries.slice(0, -1)) delivery.acknowledge();
    await sleep(300);
    assert.equal(await length(), 1, 'still in the intake while some of its events are not acknowledged');
    assert.deepEqual(told.removed, []);
    deliveries.at(-1)!.acknowledge();
    await until(async () => (await length()) === 0 && told.removed.length > 0);
    assert.deepEqual(told.removed, [[30, 1]]);
  });

  test('several entries go in one send as far as the credit reaches, and each leaves once its own events are acknowledged', async (t) => {
    const { intake, deliveries, told, length } = await startReader(t, { capacity: 100, maxBatchEvents: 100 });
    const first = makeEvents(4);
    const second = makeEvents(6);
    await intake.append(first);
    await intake.append(second);
    await until(() => idsOf(deliveries).length === 10);
    assert.deepEqual(idsOf(deliveries), [...first, ...second].map((event) => event.id));
    for (const delivery of deliveries) delivery.acknowledge();
    const removed = () => told.removed.reduce(([events, entries], [e, n]) => [events + e, entries + n], [0, 0]);
    await until(async () => (await length()) === 0 && removed()[1] === 2);
    assert.deepEqual(removed(), [10, 2]);
  });

  test('a reset loses what was on its way: only those events go again, not the ones acknowledged, and the entry leaves once all are', async (t) => {
    const { intake, deliveries, links, length } = await startReader(t, { capacity: 10, maxBatchEvents: 10 });
    const events = makeEvents(30);
    await intake.append(events);
    await until(() => deliveries.length >= 1);
    deliveries[0]!.acknowledge();
    await until(() => idsOf(deliveries).length >= 20);
    await sleep(200); // the first acknowledgement reaches the reader
    const taken = idsOf(deliveries).length;
    const takenDeliveries = deliveries.length;
    links[0]!.reset('enrichment lost its downstream');
    await until(() => links.length === 2);
    // The new link's deliveries: acknowledged as they come.
    await until(() => {
      for (const delivery of deliveries.slice(takenDeliveries)) if (!delivery.abandoned) delivery.acknowledge();
      return idsOf(deliveries).length >= taken + 20;
    });
    await until(async () => (await length()) === 0);
    await sleep(300);
    const again = idsOf(deliveries).slice(taken);
    assert.deepEqual(again, events.slice(10).map((event) => event.id), 'the unacknowledged events once more, in order, and nothing else');
  });
});
