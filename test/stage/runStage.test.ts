import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawLink } from '../../conformance/RawLink.js';
import type { Delivery, LinkReceiver } from '../../lib/flow/LinkReceiver.js';
import { FaultSwitches } from '../../lib/faults.js';
import { runStage, type RunningStage } from '../../lib/stage/runStage.js';
import { stageWiring } from '../../lib/stage/StageWiring.js';
import { HopPressure } from '../../lib/telemetry/HopPressure.js';
import { makeEvents } from '../helpers/events.js';
import { startReceiver } from '../helpers/receivers.js';

const insecure = grpc.credentials.createInsecure();

/** A stage between a raw upstream link the test drives and a real downstream receiver that holds what it takes until told. */
async function stageBetween(t: { after(fn: () => unknown): void }, process = async (events: unknown[]) => events, downstreamTakes = true) {
  const held: Delivery[] = [];
  let downstreamLink: LinkReceiver | undefined;
  const downstream = await startReceiver((link) => {
    downstreamLink = link;
    if (downstreamTakes) void (async () => { for await (const delivery of link) held.push(delivery); })();
  }, { capacity: 40, maxBatchEvents: 20 });
  const pressure = new HopPressure('relay', new FaultSwitches(false));
  const stage: RunningStage = await runStage({
    name: 'relay', listen: '127.0.0.1:0', concurrency: 2, pressure, wiring: stageWiring({}),
    receiver: { capacity: 100, maxBatchEvents: 50, maxBatchBytes: 1 << 20, maxLinks: 4 },
    downstream: { target: downstream.target, link: 'relay->test' },
    process: process as never,
  });
  const upstream = new RawLink(stage.address, insecure);
  upstream.send({ open: { link: 'test->relay', sender: 'test', protocolVersion: 1 } });
  assert.ok(await upstream.awaitCredit(100, 5_000), 'the stage grants its capacity');
  t.after(async () => { upstream.dispose(); await stage.stop(); downstream.stop(); pressure.stop(); });
  return { upstream, held, stage, downstream: () => downstreamLink };
}

describe('the stage runtime', { timeout: 30_000 }, () => {
  test('rule 4: it takes from upstream no more than downstream granted', async (t) => {
    const { upstream, stage, downstream } = await stageBetween(t, undefined, false);
    upstream.send({ batch: { offset: 0, events: makeEvents(50) } });
    upstream.send({ batch: { offset: 50, events: makeEvents(40) } });
    await sleep(300);
    assert.equal(downstream()!.window.buffered, 40, 'downstream holds its capacity');
    assert.equal(stage.inbound.queueDepth, 50, 'the rest waits in the stage\'s upstream buffer');
    assert.equal(upstream.outstanding, 10 + 40, 'upstream got back the space of the 40 taken, not of the 50 waiting');
  });

  test('rule 5: it acknowledges upstream only what downstream acknowledged', async (t) => {
    const { upstream, held } = await stageBetween(t);
    upstream.send({ batch: { offset: 0, events: makeEvents(30) } });
    const deadline = Date.now() + 5_000;
    while (held.reduce((sum, delivery) => sum + delivery.events.length, 0) < 30 && Date.now() < deadline) await sleep(20);
    await sleep(100);
    assert.deepEqual(upstream.acks, [], 'nothing acknowledged upstream while downstream holds it');
    for (const delivery of held.splice(0)) delivery.acknowledge();
    while (upstream.acks.at(-1) !== 30 && Date.now() < deadline) await upstream.next(100);
    assert.equal(upstream.acks.at(-1), 30, 'then all of it');
  });

  test('when the downstream link resets with events unacknowledged, the upstream link they came from is reset so it re-delivers (rule 8)', async (t) => {
    const { upstream, held, downstream } = await stageBetween(t);
    upstream.send({ batch: { offset: 0, events: makeEvents(10) } });
    const deadline = Date.now() + 5_000;
    while (held.length === 0 && Date.now() < deadline) await sleep(20);
    downstream()!.reset('downstream gone');
    const status = await upstream.endWithin(5_000);
    assert.equal(status?.code, grpc.status.UNAVAILABLE);
    assert.deepEqual(upstream.acks, [], 'what was lost downstream was never acknowledged upstream');
  });

  test('batches processed at once are passed on in the order they were taken', async (t) => {
    const delays = [80, 5, 40];
    let call = 0;
    const { upstream, held } = await stageBetween(t, async (events) => { await sleep(delays[call++ % 3]!); return events; });
    const batches = [makeEvents(5), makeEvents(5), makeEvents(5)];
    batches.forEach((events, i) => upstream.send({ batch: { offset: i * 5, events } }));
    const deadline = Date.now() + 5_000;
    while (held.reduce((sum, delivery) => sum + delivery.events.length, 0) < 15 && Date.now() < deadline) await sleep(20);
    assert.deepEqual(held.flatMap((delivery) => delivery.events.map((event) => event.id)), batches.flat().map((event) => event.id));
  });
});
