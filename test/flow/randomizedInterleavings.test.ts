import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreditWindow } from '../../lib/flow/CreditWindow.js';
import { ReceiveWindow } from '../../lib/flow/ReceiveWindow.js';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import type { LinkReceiver } from '../../lib/flow/LinkReceiver.js';
import { LinkResetError } from '../../lib/flow/linkErrors.js';
import { makeEvents } from '../helpers/events.js';
import { startReceiver } from '../helpers/receivers.js';
import { seededRandom } from '../helpers/random.js';

async function within<T>(work: Promise<T>, ms: number, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(describe())), ms); });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('randomized interleavings', { timeout: 120_000 }, () => {
  test('the credit model: whatever the order of grants, sends, deliveries, takes and resets, the sender stays within credit and the buffer within capacity', () => {
    for (let seed = 1; seed <= 300; seed += 1) {
      const random = seededRandom(seed);
      const capacity = random.int(1, 500);
      const chunk = random.int(1, capacity);
      let sender = new CreditWindow();
      let receiver = new ReceiveWindow(capacity, chunk);
      let creditsInFlight: number[] = [receiver.openingGrant()];
      let batchesInFlight: number[] = [];
      for (let step = 0; step < 2_000; step += 1) {
        const action = random.int(0, 9);
        if (action <= 2 && creditsInFlight.length > 0) {
          sender.grant(creditsInFlight.shift()!);
        } else if (action <= 5 && sender.available > 0) {
          batchesInFlight.push(sender.spend(random.int(1, sender.available)));
        } else if (action <= 7 && batchesInFlight.length > 0) {
          receiver.admit(batchesInFlight.shift()!);
        } else if (action === 8 && receiver.buffered > 0) {
          const grant = receiver.release(random.int(1, receiver.buffered));
          if (grant > 0) creditsInFlight.push(grant);
        } else if (action === 9 && random.chance(0.05)) {
          sender = new CreditWindow();
          receiver = new ReceiveWindow(capacity, chunk);
          creditsInFlight = [receiver.openingGrant()];
          batchesInFlight = [];
        }
        const inFlight = batchesInFlight.reduce((sum, events) => sum + events, 0);
        assert.ok(sender.spent <= sender.granted, `seed ${seed} step ${step}: spent ${sender.spent} > granted ${sender.granted}`);
        assert.ok(receiver.buffered + inFlight <= capacity, `seed ${seed} step ${step}: ${receiver.buffered} buffered + ${inFlight} in flight > ${capacity}`);
        assert.ok(receiver.outstanding + receiver.buffered <= capacity, `seed ${seed} step ${step}: outstanding + buffered over capacity`);
      }
    }
  });

  test('the credit model: a sender that overspends is refused exactly when it exceeds what was granted', () => {
    for (let seed = 1; seed <= 200; seed += 1) {
      const random = seededRandom(seed);
      const capacity = random.int(1, 200);
      const receiver = new ReceiveWindow(capacity, random.int(1, capacity));
      receiver.openingGrant();
      for (let step = 0; step < 500; step += 1) {
        const events = random.int(1, capacity + 5);
        const allowed = events <= receiver.outstanding;
        if (allowed) receiver.admit(events);
        else assert.throws(() => receiver.admit(events), /granted/);
        if (receiver.buffered > 0 && random.chance(0.5)) receiver.release(random.int(1, receiver.buffered));
        assert.ok(receiver.buffered <= capacity);
      }
    }
  });

  test('over real gRPC: grants, sends, slow consumers, cancellations and reconnects never break credit or capacity', async () => {
    for (let seed = 1; seed <= 8; seed += 1) {
      const random = seededRandom(seed * 7919);
      const capacity = random.int(1, 300);
      const options = { capacity, replenishChunk: random.int(1, capacity), maxBatchEvents: random.int(1, 120), maxUnacknowledgedDeliveries: random.int(1, 64) };
      const violations: string[] = [];
      const delivered = new Set<string>();
      const links: LinkReceiver[] = [];
      const resets: string[] = [];
      const consume = (link: LinkReceiver) => {
        links.push(link);
        link.on('received', ({ buffered }) => { if (buffered > capacity) violations.push(`buffered ${buffered} > ${capacity}`); });
        void (async () => {
          for (let delivery = await link.take(random.int(1, 200)); delivery; delivery = await link.take(random.int(1, 200))) {
            if (random.chance(0.2)) await new Promise((resolve) => setTimeout(resolve, random.int(1, 15)));
            for (const event of delivery.events) delivered.add(event.id);
            delivery.acknowledge();
          }
        })();
      };
      let receiver = await startReceiver(consume, options);
      const target = receiver.target;
      const newSender = () => {
        const sender = new LinkSender({ target, link: `random-${seed}`, sender: 'random', backoff: { initialMs: 5, maxMs: 50 } });
        sender.on('reset', (reset) => resets.push(JSON.stringify(reset)));
        sender.setMaxListeners(100);
        sender.on('sent', ({ offset, count, granted }) => { if (offset + count > granted) violations.push(`sent to ${offset + count} with ${granted} granted`); });
        return sender;
      };
      let sender = newSender();
      for (let step = 0; step < 25; step += 1) {
        const action = random.int(0, 9);
        if (action === 0) {
          sender.cancel();
          sender = newSender();
        } else if (action === 1) {
          receiver.stop();
          receiver = await startReceiver(consume, options, target);
        } else {
          const sending = sender.send(makeEvents(random.int(1, 250))).catch((error: unknown) => {
            if (!(error instanceof LinkResetError)) throw error;
          });
          await within(sending, 10_000, () => `seed ${seed} step ${step}: send stuck, ${JSON.stringify(sender.stats())}, links ${JSON.stringify(links.map((l) => [l.state, l.window.buffered, l.window.outstanding]))}`);
        }
      }
      // Liveness: the last events arrive. A reset may lose what was sent on the old connection,
      // and a sender's user re-delivers it (in the mesh, the source from its intake).
      const last = makeEvents(50);
      const arrived = () => last.every((event) => delivered.has(event.id!));
      await within((async () => {
        while (!arrived()) {
          const outcome = new Promise<string>((resolve) => {
            sender.once('reset', () => resolve('reset'));
            sender.on('ack', function onAck() { if (arrived()) { sender.off('ack', onAck); resolve('acked'); } });
          });
          const sent = await sender.send(last).then(() => true, (error: unknown) => {
            if (error instanceof LinkResetError) return false;
            throw error;
          });
          if (sent) await outcome;
        }
      })(), 10_000, () => `seed ${seed}: last events stuck, ${JSON.stringify(sender.stats())}, resets ${resets.slice(-3).join(' ')}`);
      sender.cancel();
      receiver.stop();
      assert.deepEqual(violations, [], `seed ${seed}`);
    }
  });
});
