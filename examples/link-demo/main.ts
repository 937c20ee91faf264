// A sender offering events as fast as it can to a receiver whose consumer is
// deliberately slow: watch credit run out, the sender wait, and memory stay flat.
import { setTimeout as sleep } from 'node:timers/promises';
import { bindServer, createFlowServer } from '../../lib/flow/FlowServer.js';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import { LinkClosedError, LinkResetError } from '../../lib/flow/linkErrors.js';
import type { LinkReceiver } from '../../lib/flow/LinkReceiver.js';
import type { Event } from '../../lib/contract/loadContract.js';

const consumerEventsPerSecond = Number(process.env.DEMO_CONSUMER_RATE ?? 20_000);
const durationSeconds = Number(process.env.DEMO_DURATION_S ?? 0);
if (!(consumerEventsPerSecond > 0) || !(durationSeconds >= 0)) {
  console.error('DEMO_CONSUMER_RATE must be a positive number and DEMO_DURATION_S zero (run until stopped) or more');
  process.exit(2);
}

let consumed = 0;
let receiving: LinkReceiver | undefined;
async function consumeSlowly(link: LinkReceiver): Promise<void> {
  receiving = link;
  for await (const delivery of link) {
    await sleep((1000 * delivery.events.length) / consumerEventsPerSecond);
    consumed += delivery.events.length;
    delivery.acknowledge();
  }
}

const server = createFlowServer(
  { receiver: 'demo-consumer', capacity: 2_000, maxBatchEvents: 500, maxBatchBytes: 1 << 20, maxLinks: 4 },
  (link) => void consumeSlowly(link),
);
const port = await bindServer(server, '127.0.0.1:0');
const sender = new LinkSender({ target: `127.0.0.1:${port}`, link: 'demo-producer->demo-consumer', sender: 'demo-producer' });
const offered = { count: 0 };

const events: Event[] = Array.from({ length: 100 }, (_, i) => ({ id: `demo-${i}`, userId: `user-${i % 10}`, itemId: `item-${i % 25}`, kind: 'view', eventTimeMs: Date.now(), priceCents: 999 }));
let stopping = false;
const producing = (async () => {
  while (!stopping) {
    try {
      await sender.send(events);
      offered.count += events.length;
    } catch (error) {
      if (error instanceof LinkClosedError) return;
      if (!(error instanceof LinkResetError)) throw error;
    }
  }
})();

console.log(`link demo: consumer drains ${consumerEventsPerSecond} events/s; the producer offers as fast as credit allows (Ctrl-C to stop)`);
let last = { consumed: 0, offered: 0, waited: 0 };
const started = Date.now();
const ticker = setInterval(() => {
  const stats = sender.stats();
  const line = {
    sent_per_s: offered.count - last.offered,
    consumed_per_s: consumed - last.consumed,
    credit_available: stats.availableCredit,
    receiver_buffered: receiving?.window.buffered ?? 0,
    in_flight: stats.sent - stats.acknowledged,
    backpressured_ms_per_s: Math.round(stats.creditWaitMs - last.waited),
    rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
  last = { consumed, offered: offered.count, waited: stats.creditWaitMs };
  console.log(Object.entries(line).map(([key, value]) => `${key}=${value}`).join(' '));
  if (durationSeconds > 0 && Date.now() - started >= durationSeconds * 1000) void stop();
}, 1000);

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(ticker);
  await sender.close('demo stopped');
  await producing;
  server.forceShutdown();
}
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
