import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchCost } from '../../lib/flow/BatchCost.js';
import { CreditRoundTrip } from '../../lib/flow/CreditRoundTrip.js';
import { DrainRate } from '../../lib/flow/DrainRate.js';
import type { LinkReceiver } from '../../lib/flow/LinkReceiver.js';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import { ReceiveWindow } from '../../lib/flow/ReceiveWindow.js';
import { timeSizedWindow } from '../../lib/flow/timeSizedWindow.js';
import { makeEvents } from '../helpers/events.js';
import { startReceiver } from '../helpers/receivers.js';

test('a window held below its capacity withholds replenishment until it has drained below the limit, and never takes credit back', () => {
  const window = new ReceiveWindow(100, 10);
  assert.equal(window.openingGrant(), 100);
  window.admit(60);
  assert.equal(window.setLimit(30), 0, 'a smaller limit grants nothing');
  assert.equal(window.outstanding, 40, 'and leaves the credit granted alone');
  assert.equal(window.release(30), 0, 'freed space is withheld while the window is above its limit');
  window.admit(40);
  assert.equal(window.release(30), 0);
  assert.deepEqual([window.outstanding, window.buffered, window.freed], [0, 40, 60]);
  assert.equal(window.release(40), 30, 'once below the limit, what fits under it is granted');
  assert.equal(window.setLimit(100), 70, 'a larger limit grants the rest');
  assert.equal(window.outstanding + window.buffered + window.freed, 100, 'the capacity is always split three ways');
});

test('the drain rate is what was taken per second of each interval in which the buffer held something or something was taken', () => {
  const rate = new DrainRate(1);
  rate.sample(0);
  rate.backlog(true);
  rate.taken(50);
  rate.backlog(false);
  assert.equal(rate.sample(1_000), 50, '50 events taken in a second');
  assert.equal(rate.sample(2_000), 50, 'an idle second keeps the estimate');
  rate.taken(400);
  assert.equal(rate.sample(2_500), 800, 'taken as they came, never held: the rate they came at');
  rate.backlog(true);
  assert.equal(rate.sample(3_500), 0, 'a second of backlog with nothing taken: a stall');
  assert.equal(rate.estimateMs(10), Number.POSITIVE_INFINITY);
});

test('a window held below its capacity is replenished in chunks of a quarter of it, so a busy link never waits on a chunk it cannot reach', () => {
  const window = new ReceiveWindow(4_096, 1_024);
  window.openingGrant();
  window.admit(4_096);
  window.setLimit(400);
  assert.equal(window.release(3_700), 0, '396 still buffered: nothing under the limit to grant');
  assert.equal(window.release(50), 0, '54 under the limit: less than a quarter of it');
  assert.equal(window.release(60), 114, 'a quarter of the limit (100) or more under it: granted, though far short of the 1024 chunk');
  assert.throws(() => window.setLimit(Number.NaN), RangeError, 'a limit that is not a number would stop the link for good (no grant compares true with NaN)');
});

test('a window sized by time holds what drains in its share, never less than keeps its link busy, within its minimum and maximum', () => {
  assert.equal(timeSizedWindow({ perSecond: 10_000, shareMs: 50, min: 64, max: 4_096 }), 500, '10,000/s for 50 ms');
  assert.equal(timeSizedWindow({ perSecond: 10_000, shareMs: 50, roundTripMs: 40, min: 64, max: 4_096 }), 800, 'a 40 ms round trip at 10,000/s, twice over');
  assert.equal(timeSizedWindow({ perSecond: 0, shareMs: 50, roundTripMs: 5, min: 64, max: 4_096 }), 64, 'a stall: its minimum');
  assert.equal(timeSizedWindow({ perSecond: 1e6, shareMs: 50, min: 64, max: 4_096 }), 4_096, 'never above its maximum');
  assert.equal(timeSizedWindow({ perSecond: 4_000, shareMs: 50, busyBatch: 150, min: 64, max: 4_096 }), 300, 'a busy consumer keeps the batch it took, twice over');
  assert.equal(timeSizedWindow({ perSecond: 1_000, shareMs: 50, busyBatch: 300, min: 64, max: 4_096 }), 200, 'up to what drains in four shares');
  assert.equal(timeSizedWindow({ perSecond: 0, shareMs: 50, busyBatchShares: Number.POSITIVE_INFINITY, min: 64, max: 4_096 }), 64, 'a stall of a consumer whose batches are not quicker smaller: its minimum, not NaN');
  assert.equal(timeSizedWindow({ perSecond: 0, shareMs: 50, busyBatch: 100, busyBatchShares: Number.POSITIVE_INFINITY, min: 64, max: 4_096 }), 200, 'a stalled consumer whose batches are not quicker smaller keeps its busy batch twice over');
});

test('the credit round trip is the smoothed time from a grant to a sender that had used up its credit, to its next batch', () => {
  const roundTrip = new CreditRoundTrip(0.5, 1_000);
  assert.equal(roundTrip.estimateMs, undefined);
  roundTrip.granted(false, 0);
  roundTrip.received(500);
  assert.equal(roundTrip.estimateMs, undefined, 'a grant to a sender that still had credit measures nothing');
  roundTrip.granted(true, 1_000);
  roundTrip.granted(true, 1_002);
  roundTrip.received(1_004);
  assert.equal(roundTrip.estimateMs, 4, 'from the first grant it was waiting for');
  roundTrip.received(1_010);
  assert.equal(roundTrip.estimateMs, 4, 'a batch with no grant waited for measures nothing');
  roundTrip.granted(true, 2_000);
  roundTrip.received(2_012);
  assert.equal(roundTrip.estimateMs, 8, 'smoothed');
  roundTrip.granted(true, 3_000);
  roundTrip.received(63_000);
  assert.equal(roundTrip.estimateMs, 504, 'a long pause counts as at most maxSampleMs');
});

/**
 * A link of a receiver with `options` whose consumer runs `consume` until the signal aborts, and a
 * sender offering it frames of `frameEvents` as fast as credit allows; all stopped after the test
 * or by `stop`.
 */
async function offeredLink(
  t: TestContext,
  consume: (link: LinkReceiver, stopping: AbortSignal) => Promise<void>,
  options: Parameters<typeof startReceiver>[1],
  { name, frameEvents }: { name: string; frameEvents: number },
) {
  let link: LinkReceiver | undefined;
  const consuming = new AbortController();
  const receiver = await startReceiver((opened) => {
    link = opened;
    void consume(opened, consuming.signal);
  }, options);
  const sender = new LinkSender({ target: receiver.target, link: name, sender: 'test' });
  const stop = () => { consuming.abort(); sender.cancel(); receiver.stop(); };
  t.after(stop);
  void (async () => { for (;;) await sender.send(makeEvents(frameEvents)); })().catch(() => undefined);
  return { link: () => link!, sender, stop };
}

test('a link sized by time holds what its consumer drains in its share of the target, and its sender is never refused', { timeout: 20_000 }, async (t) => {
  // A consumer of about 400 events a second.
  const { link, sender } = await offeredLink(t, async (opened, stopping) => {
    while (!stopping.aborted) {
      const delivery = await opened.take(20);
      if (!delivery) return;
      delivery.acknowledge();
      await sleep(50);
    }
  }, { capacity: 1_000, maxBatchEvents: 20, latencyShareMs: 100, minWindow: 20 }, { name: 'timed', frameEvents: 20 });
  const resets: unknown[] = [];
  sender.on('reset', (reset) => resets.push(reset));
  await sleep(1_000);
  const window = link().window;
  t.diagnostic(`after 1 s: limit ${window.limit}, held ${window.outstanding + window.buffered}, drain ${Math.round(link().drain.perSecond ?? 0)} events/s`);
  assert.ok(window.limit < 200, `the window shrank from 1000 to what 100 ms of draining takes (${window.limit})`);
  // The first grant (1000) is never taken back: it drains at the consumer's pace, about 2.5 s.
  await sleep(2_500);
  assert.ok(window.outstanding + window.buffered <= window.limit + 20, `it drained down to its limit (${window.outstanding + window.buffered} held, limit ${window.limit})`);
  assert.ok(sender.stats().receiverWindow < 200, `once grants resume, the sender learns the window in force from them (${sender.stats().receiverWindow})`);
  assert.deepEqual(resets, [], 'shrinking withheld credit; it never refused what it had granted');
});

/** Batch costs of 40 batches of 100 to 400 events: one whose time grows with the batch, one whose time is per batch. */
function variedCosts(): { perEvent: BatchCost; perBatch: BatchCost } {
  const perEvent = new BatchCost();
  const perBatch = new BatchCost();
  for (let i = 0; i < 40; i += 1) {
    const events = 100 + (i % 4) * 100;
    perEvent.record(events, 2 + events * 0.5);
    perBatch.record(events, 100 + (i % 2));
  }
  return { perEvent, perBatch };
}

test('the batch cost tells a consumer whose time grows with its batches from one whose time is per batch, and says nothing while its batches are all alike', () => {
  const { perEvent, perBatch } = variedCosts();
  const alike = new BatchCost();
  for (let i = 0; i < 40; i += 1) alike.record(500, 50);
  assert.ok(perEvent.sizeShare! > 0.9, `per event: ${perEvent.sizeShare}`);
  assert.ok(perBatch.sizeShare! < 0.1, `per batch: ${perBatch.sizeShare}`);
  assert.equal(alike.sizeShare, undefined);
  assert.ok(Math.abs(alike.meanMs! - 50) < 1e-9, `mean ${alike.meanMs}`);
  assert.equal(new BatchCost().meanMs, undefined);
});

test('once the batch cost told that smaller batches are quicker, that stands while the batches it sized are too alike to tell; that the cost is per batch does not', () => {
  const { perEvent, perBatch } = variedCosts();
  assert.equal(perEvent.smallerIsQuicker, true);
  assert.equal(perBatch.smallerIsQuicker, false);
  for (let i = 0; i < 200; i += 1) {
    perEvent.record(200, 102);
    perBatch.record(200, 100);
  }
  assert.equal(perEvent.sizeShare, undefined, 'the sizes are now all alike');
  assert.equal(perEvent.smallerIsQuicker, true, 'the window sized by it made them alike: it stands');
  assert.equal(perBatch.smallerIsQuicker, undefined, 'trying smaller batches is how a change would show');
});

/**
 * A link sized by time whose consumer takes up to 100 events at once and spends `batchMs(events, i)`
 * on its i-th batch, recorded in its batch cost; after `forMs` of a sender offering frames of
 * `frameEvents`, the window, the last 20 batch sizes and their mean, and what drains in `shareMs`.
 */
async function consumeCosted(t: TestContext, batchMs: (events: number, i: number) => number, { shareMs, frameEvents, forMs }: { shareMs: number; frameEvents: number; forMs: number }) {
  const cost = new BatchCost();
  const sizes: number[] = [];
  const { link } = await offeredLink(t, async (opened, stopping) => {
    while (!stopping.aborted) {
      const delivery = await opened.take(100);
      if (!delivery) return;
      const ms = batchMs(delivery.events.length, sizes.length);
      await sleep(ms);
      cost.record(delivery.events.length, ms);
      sizes.push(delivery.events.length);
      delivery.acknowledge();
    }
  }, { capacity: 2_000, maxBatchEvents: 100, latencyShareMs: shareMs, minWindow: 10, batchCost: cost }, { name: 'costed', frameEvents });
  await sleep(forMs);
  const last = sizes.slice(-20);
  return {
    cost,
    window: link().window.limit,
    last,
    mean: last.reduce((sum, size) => sum + size, 0) / last.length,
    drainsInShare: ((link().drain.perSecond ?? 0) * shareMs) / 1_000,
  };
}

test('a link sized by time keeps whole batches for a consumer whose every batch costs the same time, where sizing by its rate alone would shrink them to the minimum', { timeout: 20_000 }, async (t) => {
  // 40 ms a batch whatever its size, as a slow dependency's round trip: 2,500 events/s in batches of 100, 250 in batches of 10.
  const { window, last, mean } = await consumeCosted(t, (_events, i) => 40 + (i % 3), { shareMs: 10, frameEvents: 20, forMs: 4_000 });
  t.diagnostic(`window ${window}, last batches ${last.join(' ')}`);
  assert.ok(mean >= 90, `whole batches of 100 (a 10 ms share at 2,500/s is 25 events): mean of the last ${last.length} was ${mean}`);
  assert.ok(window >= 100, `the window holds a whole batch (${window})`);
});

test('a link whose consumer mostly waits for its own downstream\'s credit holds half its share: that hop is not the bottleneck, and what it holds only waits', { timeout: 20_000 }, async (t) => {
  const windows: Record<string, number> = {};
  for (const heldBackMs of [0, 40]) {
    // About 400 events a second, as before; held back, each take follows a 40 ms wait for credit downstream.
    const { link, stop } = await offeredLink(t, async (opened, stopping) => {
      while (!stopping.aborted) {
        await sleep(50);
        const delivery = opened.takeNow(20, heldBackMs);
        if (delivery) delivery.acknowledge();
        else if (opened.finished) return;
      }
    }, { capacity: 1_000, maxBatchEvents: 20, latencyShareMs: 200, minWindow: 5 }, { name: `held-back-${heldBackMs}`, frameEvents: 20 });
    // The first grant (1000) drains at the consumer's pace; the limit is set meanwhile.
    await sleep(2_000);
    windows[heldBackMs] = link().window.limit;
    stop();
  }
  t.diagnostic(`limits: consumer not held back ${windows[0]}, held back ${windows[40]}`);
  // 200 ms at 400/s is 80 events; half of it 40.
  assert.ok(windows[0]! >= 60 && windows[0]! <= 120, `not held back: its whole share (${windows[0]})`);
  assert.ok(windows[40]! >= 25 && windows[40]! <= 55, `held back 40 ms of every 50: half of it (${windows[40]})`);
});

test('a backed-up link whose consumer is quicker with smaller batches holds what drains in one share: its queue and the batch in hand then take two shares together', { timeout: 20_000 }, async (t) => {
  // 2 ms a batch and 0.5 ms an event, as a database slowed per row.
  const { cost, window, last, mean, drainsInShare } = await consumeCosted(t, (events) => 2 + events * 0.5, { shareMs: 20, frameEvents: 10, forMs: 5_000 });
  t.diagnostic(`window ${window}, drains ${drainsInShare.toFixed(0)} in a share, last batches ${last.join(' ')}`);
  assert.equal(cost.smallerIsQuicker, true);
  // One share settles near 36 events a batch (2 + 0.5 × 36 ms ≈ 20 ms); two would settle near 76.
  assert.ok(window <= 55, `about one share (${window})`);
  assert.ok(mean <= 55, `batches of about one share: mean of the last ${last.length} was ${mean}`);
});
