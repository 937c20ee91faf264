import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildExit } from './ChildHandle.js';
import type { LinkMode, ReceivedCount } from './messages.js';
import { startLinkPair } from './startLinkPair.js';

const WARM_UP_MS = 1_000;
const MEASURED_MS = 3_000;

export type ThroughputRun = { mode: LinkMode; eventsPerS: number } | { mode: LinkMode; crashed: ChildExit };

/** Events per second consumed at the receiver, timed by the receiver's clock, after a warm-up. */
export async function measureThroughput(mode: LinkMode, capacity: number): Promise<ThroughputRun> {
  const pair = await startLinkPair(mode, capacity);
  const countReceived = () => pair.receiver.request<ReceivedCount>({ type: 'count' });
  const measure = async (): Promise<ThroughputRun> => {
    await sleep(WARM_UP_MS);
    const start = await countReceived();
    await sleep(MEASURED_MS);
    const end = await countReceived();
    return { mode, eventsPerS: (end.received - start.received) / ((end.atMs - start.atMs) / 1_000) };
  };
  try {
    return await Promise.race([measure(), pair.crashed.then((crashed) => ({ mode, crashed }))]);
  } finally {
    pair.stop();
  }
}
