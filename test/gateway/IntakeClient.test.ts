import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { Delivery, LinkReceiver } from '../../lib/flow/LinkReceiver.js';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import { IntakeClient, IntakeUnavailableError, NoCreditError } from '../../gateway/IntakeClient.js';
import { FaultSwitches } from '../../lib/faults.js';
import { HopPressure } from '../../lib/telemetry/HopPressure.js';
import { makeEvents } from '../helpers/events.js';
import { startReceiver } from '../helpers/receivers.js';

/**
 * The source as the gateway sees it: a real Flow receiver whose deliveries the test acknowledges
 * (or rejects) when it chooses. `taking: false`: nothing is taken from the link (the intake is
 * full), so its credit is not given back.
 */
async function startIntake(t: TestContext, { capacity = 100, taking = true, pressure = undefined as HopPressure | undefined } = {}) {
  const deliveries: Delivery[] = [];
  const links: LinkReceiver[] = [];
  const take = (link: LinkReceiver) => {
    links.push(link);
    if (taking) void (async () => { for await (const delivery of link) deliveries.push(delivery); })();
  };
  const receiver = await startReceiver(take, { receiver: 'source', capacity });
  const sender = new LinkSender({ target: receiver.target, link: 'gateway->source', sender: 'gateway', backoff: { initialMs: 10, maxMs: 20 } });
  const client = new IntakeClient(sender, pressure);
  t.after(() => { sender.cancel(); receiver.stop(); });
  await until(() => sender.connected && sender.stats().availableCredit > 0);
  return { client, deliveries, links };
}

/** Where a promise stands now, without waiting for it. */
async function settled(promise: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  return Promise.race([promise.then(() => 'resolved' as const, () => 'rejected' as const), sleep(50).then(() => 'pending' as const)]);
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${condition.toString()}`);
    await sleep(5);
  }
}

describe('IntakeClient', { timeout: 20_000 }, () => {
  test('a submit resolves only once the source has acknowledged its events', async (t) => {
    const { client, deliveries } = await startIntake(t);
    const events = makeEvents(3);
    const submitted = client.submit(events, ROOT_CONTEXT);
    await until(() => deliveries.flatMap((delivery) => delivery.events).length === 3);
    assert.deepEqual(deliveries.flatMap((delivery) => delivery.events.map((event) => event.id)), events.map((event) => event.id));
    await sleep(100);
    assert.equal(await settled(submitted), 'pending', 'received but not acknowledged: not yet in the intake');

    for (const delivery of deliveries) delivery.acknowledge();
    await submitted;
  });

  test('a submit the credit cannot cover is refused at once with NoCreditError (the 429, with its Retry-After), and nothing of it is sent', async (t) => {
    const { client, links } = await startIntake(t, { capacity: 10, taking: false });
    const first = client.submit(makeEvents(7), ROOT_CONTEXT);
    await until(() => links[0]!.received === 7);

    const refused = client.submit(makeEvents(4), ROOT_CONTEXT);
    assert.equal(await settled(refused), 'rejected');
    await assert.rejects(refused, (error) => error instanceof NoCreditError && error.retryAfterSeconds >= 1);
    await sleep(100);
    assert.equal(links[0]!.received, 7, 'the refused events never crossed the link');

    // The intake makes room: what was taken is acknowledged, and the first submit resolves.
    for await (const delivery of links[0]!) {
      delivery.acknowledge();
      if (delivery.offset + delivery.events.length === 7) break;
    }
    await first;
  });

  test("the gateway's clock: waiting for the source's confirmation is idle, a refusal for want of credit is back-pressure until credit for such a request is back", async (t) => {
    const pressure = new HopPressure('gateway', new FaultSwitches(false));
    t.after(() => pressure.stop());
    const { client, links } = await startIntake(t, { capacity: 10, taking: false, pressure });
    const first = client.submit(makeEvents(7), ROOT_CONTEXT);
    await until(() => links[0]!.received === 7);
    await until(() => pressure.clock.state === 'idle');
    const idleBefore = pressure.clock.totals().idle;
    await sleep(100);
    assert.ok(pressure.clock.totals().idle - idleBefore >= 90, 'sent and awaiting the confirmation: idle, not busy');

    await assert.rejects(client.submit(makeEvents(4), ROOT_CONTEXT), NoCreditError);
    assert.equal(pressure.clock.state, 'backpressured', 'refused for want of credit');
    await sleep(100);
    assert.equal(pressure.clock.state, 'backpressured', 'and still, while the credit is short');
    assert.ok(pressure.clock.totals().backpressured >= 90);

    for await (const delivery of links[0]!) {
      delivery.acknowledge();
      if (delivery.offset + delivery.events.length === 7) break;
    }
    await first;
    await until(() => pressure.clock.state === 'idle');
    assert.ok(client.outbound.stats().freeCredit >= 4, 'idle again once credit for such a request is back');
  });

  test('a link reset before the ack rejects the submit with IntakeUnavailableError (the 503), so none of its events count as accepted; sent again on the new link they are', async (t) => {
    const { client, deliveries, links } = await startIntake(t);
    const events = makeEvents(5);
    const outcome = client.submit(events, ROOT_CONTEXT).then(() => 'accepted', (error: unknown) => error);
    await until(() => deliveries.length > 0);
    deliveries[0]!.reject('source stopping');
    const error = await outcome;
    assert.ok(error instanceof IntakeUnavailableError, `rejected with ${String(error)}`);

    await until(() => links.length === 2 && client.connected && client.outbound.stats().freeCredit > 0);
    const retried = client.submit(events, ROOT_CONTEXT);
    await until(() => deliveries.slice(1).flatMap((delivery) => delivery.events).length === 5);
    for (const delivery of deliveries.slice(1)) delivery.acknowledge();
    await retried;
  });
});
