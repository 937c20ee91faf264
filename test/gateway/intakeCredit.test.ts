import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Outbound, OutboundStats } from '../../lib/flow/Outbound.js';
import { IntakeClient } from '../../gateway/IntakeClient.js';

/** The gateway's link to the source as its figures say it is now. */
function linkWith(stats: Partial<OutboundStats>): Outbound {
  const link = new EventEmitter() as unknown as Outbound;
  Object.assign(link, { connected: true, link: 'gateway->source', stats: () => ({ freeCredit: 0, availableCredit: 0, receiverWindow: 0, capacity: 4096, sent: 0, acknowledged: 0, ...stats }) });
  return link;
}

test('the intake\'s window, as the admission weighs it, is the source\'s last announced one or what the gateway holds if less', () => {
  // Nothing in flight, 2096 granted and held: a window sized by time shrank below its last announced 4096 without a word.
  assert.deepEqual(new IntakeClient(linkWith({ freeCredit: 2096, availableCredit: 2096, receiverWindow: 4096 })).credit(), { free: 2096, window: 2096, drainPerSecond: 0 });
  // A backed-up link: little free, the rest in flight or reserved; the announced window is what it holds.
  assert.deepEqual(new IntakeClient(linkWith({ freeCredit: 500, availableCredit: 1000, receiverWindow: 4096, sent: 10_000, acknowledged: 6_904 })).credit(), { free: 500, window: 4096, drainPerSecond: 0 });
});
