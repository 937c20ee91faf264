import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { RawLink } from '../../conformance/RawLink.js';
import { Breaker } from '../../lib/breaker.js';
import { PROTOCOL_VERSION, type Event, type Event__Output } from '../../lib/contract/loadContract.js';
import { bindServer, createFlowServer } from '../../lib/flow/FlowServer.js';
import { InboundLinks } from '../../lib/stage/InboundLinks.js';
import { createRedis, deleteKeysWithPrefix, intakeStreamKey, isPermanentRedisError, redisReady } from '../../lib/storage/redis.js';
import { Intake } from '../../services/source/Intake.js';
import { IntakeWriter } from '../../services/source/IntakeWriter.js';
import { decodeIntakeEntry, type IntakeEntry } from '../../services/source/intakeEntry.js';
import { proxyToSharedRedis } from '../chaos/chaosMesh.js';
import { makeEvents } from '../helpers/events.js';
import { randomName, redisUrl } from '../helpers/testServers.js';

interface Source { link: RawLink; writer: IntakeWriter; intake: Intake; entries(): Promise<IntakeEntry[]>; events(): Promise<Event__Output[]> }

/**
 * The source's intake side, for real: a Flow server whose links go into InboundLinks, an
 * IntakeWriter over an Intake on the shared Redis (a key prefix of its own), and a raw gateway
 * link into it. `redisThrough` puts a TCP proxy between the writer and Redis.
 */
async function startSource(t: TestContext, { capacity = 100, maxLength = 1_000, redisThrough, sizing }: { capacity?: number; maxLength?: number; redisThrough?: string; sizing?: { latencyShareMs: number; minWindow: number } } = {}): Promise<Source> {
  const prefix = randomName('mesh-test-intake-writer-') + ':';
  const key = intakeStreamKey(prefix);
  const direct = createRedis(redisUrl, { name: 'intake-writer-test' });
  const redis = createRedis(redisThrough ?? redisUrl, { name: 'intake-writer-under-test' });
  await Promise.all([redisReady(direct), redisReady(redis)]);
  const breaker = new Breaker('redis', { timeoutMs: 5_000, errorThresholdPercentage: 50, resetTimeoutMs: 500, volumeThreshold: 5 }, isPermanentRedisError);
  const intake = new Intake(redis, redis, breaker, key, 'mesh', 'source-test');
  await intake.createGroup();

  const inbound = new InboundLinks();
  const server = createFlowServer({ receiver: 'source', capacity, maxBatchEvents: 50, maxBatchBytes: 1 << 20, maxLinks: 4 }, (opened) => inbound.add(opened));
  const port = await bindServer(server, '127.0.0.1:0');
  const writer = new IntakeWriter(intake, inbound, maxLength, { length: 0, pending: 0, lengthEntries: 0, pendingEntries: 0 }, sizing);
  const stopping = new AbortController();
  const running = writer.run(50, stopping.signal);

  const link = new RawLink(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  link.send({ open: { link: 'gateway->source', sender: 'gateway', protocolVersion: PROTOCOL_VERSION } });
  assert.ok(await link.awaitCredit(capacity, 5_000), 'the link opened with its whole capacity as credit');

  t.after(async () => {
    stopping.abort();
    link.dispose();
    server.forceShutdown();
    await running.catch(() => undefined);
    breaker.shutdown();
    await deleteKeysWithPrefix(direct, prefix);
    redis.disconnect();
    direct.disconnect();
  });
  const entries = async () => {
    const stream = await direct.xrangeBuffer(key, '-', '+');
    return stream.map(([id, fields]) => decodeIntakeEntry(id.toString(), fields));
  };
  const events = async () => (await entries()).flatMap((entry) => entry.events);
  return { link, writer, intake, entries, events };
}

function sendBatch(link: RawLink, events: Event[]): void {
  link.send({ batch: { offset: link.sent, events, traceContext: {} } });
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${condition.toString()}`);
    await sleep(5);
  }
}

const lastAck = (link: RawLink) => link.acks.at(-1) ?? 0;

describe('IntakeWriter', { timeout: 30_000 }, () => {
  test('events taken from the link land in the intake stream in order, one entry per delivery, with acceptedAtMs set, and the sender sees them acknowledged', async (t) => {
    const { link, entries } = await startSource(t);
    const events = makeEvents(5);
    const before = Date.now();
    sendBatch(link, events.slice(0, 2));
    sendBatch(link, events.slice(2));
    await until(() => lastAck(link) === 5);

    const stored = await entries();
    assert.deepEqual(stored.map((entry) => entry.count), [2, 3], 'one entry per delivery, its count beside it');
    assert.deepEqual(stored.flatMap((entry) => entry.events.map((event) => event.id)), events.map((event) => event.id));
    assert.deepEqual(stored.flatMap((entry) => entry.events.map((event) => event.intakeId)), stored.flatMap((entry) => entry.events.map((_, index) => `${entry.id}/${index}`)));
    for (const event of stored.flatMap((entry) => entry.events)) {
      assert.ok(event.acceptedAtMs >= before && event.acceptedAtMs <= Date.now(), `acceptedAtMs ${event.acceptedAtMs}`);
      assert.equal(event.deadLetter ?? null, null);
    }
  });

  test('a delivery is acknowledged upstream only once its XADD is in Redis', async (t) => {
    const proxy = await proxyToSharedRedis();
    const { link, events } = await startSource(t, { redisThrough: proxy.url(redisUrl) });
    t.after(() => proxy.close());
    proxy.delayMs = 300; // each way: the XADD reaches Redis 300 ms after it is written, its reply 300 ms later

    sendBatch(link, makeEvents(4));
    await sleep(250);
    assert.deepEqual(link.acks, [], 'no Ack while the XADD is on its way');
    for (let frame = await link.next(5_000); frame; frame = await link.next(5_000)) {
      if (!frame.ack) continue;
      assert.ok((await events()).length >= frame.ack.offset, `Ack ${frame.ack.offset} came after its events were stored`);
      if (frame.ack.offset === 4) break;
    }
    assert.equal(lastAck(link), 4);
  });

  test('once the intake holds maxLength events the writer stops taking, so no more credit goes upstream, and removed(n) lets it take n more', async (t) => {
    const { link, writer, intake, entries, events } = await startSource(t, { capacity: 10, maxLength: 20 });
    sendBatch(link, makeEvents(10));
    await until(() => lastAck(link) === 10 && link.outstanding === 10);
    sendBatch(link, makeEvents(10));
    await until(() => lastAck(link) === 20 && link.outstanding === 10);

    // The intake is full: these 10 wait in the link, untaken, and their credit is not given back.
    sendBatch(link, makeEvents(10));
    await sleep(300);
    assert.equal(link.outstanding, 0, 'no credit granted while the intake is full');
    assert.equal(lastAck(link), 20);
    assert.equal((await events()).length, 20);
    assert.equal((await entries()).length, 2);

    // An entry of 10 events leaves the intake (as the reader removes it once the sink committed them all).
    await intake.remove([(await entries())[0]!.id]);
    writer.removed(10, 1);
    await until(() => lastAck(link) === 30 && link.outstanding === 10);
    await sleep(300);
    assert.equal(lastAck(link), 30, 'it takes exactly the room made, then stops again');
    assert.equal(link.outstanding, 10);
    assert.equal((await events()).length, 20);
  });

  test('an event that breaks the contract rules is stored as a dead letter of the source, and acknowledged with the rest', async (t) => {
    const { link, events } = await startSource(t);
    const [good, bad] = makeEvents(2);
    sendBatch(link, [good!, { ...bad!, kind: 'jump' }]);
    await until(() => lastAck(link) === 2);

    const [first, second] = await events();
    assert.equal(first!.id, good!.id);
    assert.equal(first!.deadLetter ?? null, null);
    assert.equal(second!.id, bad!.id);
    assert.deepEqual(second!.deadLetter, { stage: 'source', reason: 'invalid kind: one of view, click, cart, purchase' });
  });

  test('sized by time, what the intake holds unread is held to what the mesh reads in its share of the target; what is on its way does not count', async (t) => {
    const { link, writer } = await startSource(t, { capacity: 100, maxLength: 1_000, sizing: { latencyShareMs: 100, minWindow: 20 } });
    link.send({ batch: { offset: 0, events: makeEvents(50) } });
    link.send({ batch: { offset: 50, events: makeEvents(50) } });
    await until(() => writer.length === 100);
    assert.equal(writer.unread, 100);
    // The mesh reads and removes 20 entries every 100 ms: 200 a second, so 100 ms of the intake is 20 entries.
    for (let i = 0; i < 5; i += 1) {
      await sleep(100);
      writer.read(20, 1);
      writer.removed(20, 1);
      writer.resize();
    }
    t.diagnostic(`window ${writer.window}, drain ${writer.drain.perSecond}, length ${writer.length}`);
    assert.ok(writer.window <= 40, `the window came down from 1000 to about 20 (${writer.window})`);
    assert.ok(writer.window >= 20, 'never below its minimum');
    assert.equal(writer.unread, 0);

    // 80 more arrive while the mesh reads nothing. The writer was already waiting for a delivery with the room it
    // had before (1000), so it takes that one whole; then no more unread than the window.
    link.send({ batch: { offset: 100, events: makeEvents(40) } });
    link.send({ batch: { offset: 140, events: makeEvents(40) } });
    await until(() => writer.unread === 40);
    await sleep(200);
    assert.equal(writer.unread, 40, 'nothing taken while over the window');
    writer.read(40, 1);
    await until(() => writer.unread >= writer.window);
    await sleep(200);
    assert.equal(writer.unread, writer.window, 'no more unread than the window');
    // Read, they are on their way through the mesh: the intake takes the rest though it holds more than its window.
    writer.read(writer.unread, 1);
    await until(() => writer.length === 80);
    assert.ok(writer.length > writer.window, `holding ${writer.length} with a window of ${writer.window}`);
    assert.equal(writer.drain.estimateMs(0), 0);
  });
  test('sized by time, a reader mostly waiting for enrichment\'s credit leaves unread only half its share: the mesh, not the intake, holds it back', async (t) => {
    const { writer } = await startSource(t, { capacity: 100, maxLength: 1_000, sizing: { latencyShareMs: 400, minWindow: 5 } });
    // The mesh reads 20 events every 100 ms: 200 a second, so the share of 400 ms is 80 events.
    const interval = async (heldBackMs: number) => {
      await sleep(100);
      if (heldBackMs > 0) writer.heldBack(heldBackMs);
      writer.read(20, 1);
      writer.removed(20, 1);
      writer.resize();
    };
    for (let i = 0; i < 8; i += 1) await interval(0);
    const reading = writer.window;
    for (let i = 0; i < 3; i += 1) await interval(80);
    const heldBack = writer.window;
    t.diagnostic(`window ${reading} while the reader kept up, ${heldBack} while it waited 80 ms of every 100 for credit`);
    assert.ok(reading >= 60 && reading <= 100, `a whole share while the reader was not held back (${reading})`);
    assert.ok(heldBack >= 32 && heldBack <= 48, `half the share, about 40, while it was (${heldBack})`);
    await interval(30);
    assert.ok(writer.window >= 60, `waiting less than half the time is not held back: the whole share again (${writer.window})`);
  });
});

describe('the intake counted in events', { timeout: 30_000 }, () => {
  test('at start-up the count sums every entry, and of them the pending ones, in events and in entries', async (t) => {
    const { link, intake, entries } = await startSource(t);
    // One delivery at a time: deliveries waiting together may be taken as one.
    for (const [size, acked] of [[3, 3], [7, 10], [4, 14]] as const) {
      sendBatch(link, makeEvents(size));
      await until(() => lastAck(link) === acked);
    }
    assert.deepEqual(await intake.count(), { length: 14, pending: 0, lengthEntries: 3, pendingEntries: 0 });
    const [first] = await intake.readNew(1, 100);
    assert.equal(first!.id, (await entries())[0]!.id);
    assert.deepEqual(await intake.count(), { length: 14, pending: 3, lengthEntries: 3, pendingEntries: 1 });
  });

  test('a resync from Redis keeps the events this source counted, counts the entries of others at the mean size it knows, and an empty intake is zero', async (t) => {
    const { link, writer } = await startSource(t);
    sendBatch(link, makeEvents(10));
    await until(() => writer.length === 10);
    sendBatch(link, makeEvents(10));
    await until(() => writer.length === 20);
    writer.resync(2, 0);
    assert.deepEqual([writer.length, writer.unread], [20, 20], 'the same entries as its own: its counts stand');
    // Another source appended three entries and read two of them.
    writer.resync(5, 2);
    assert.deepEqual([writer.length, writer.unread], [50, 30]);
    writer.read(10, 1);
    writer.resync(5, 3);
    assert.deepEqual([writer.length, writer.unread], [50, 20]);
    writer.resync(0, 0);
    assert.deepEqual([writer.length, writer.unread], [0, 0]);
  });

  test('counts Redis gave while an append of this source was on its way are left alone: that entry would be counted twice', async (t) => {
    const { link, writer } = await startSource(t);
    sendBatch(link, makeEvents(10));
    await until(() => writer.length === 10);
    const mark = writer.syncMark();
    assert.notEqual(mark, undefined, 'no append on its way');
    // Redis is asked; meanwhile a second append lands and is counted by this source.
    sendBatch(link, makeEvents(10));
    await until(() => writer.length === 20);
    writer.resync(2, 0, mark);
    assert.deepEqual([writer.length, writer.unread], [20, 20], 'its own counts stand');
    writer.resync(3, 0, writer.syncMark());
    assert.deepEqual([writer.length, writer.unread], [30, 30], 'asked afresh, an entry Redis counts beyond its own is another source\'s');
  });
});
