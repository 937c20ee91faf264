import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildExit } from './ChildHandle.js';
import type { LinkMode } from './messages.js';
import { RssRecorder, type RssGrowth } from './RssRecorder.js';
import { startLinkPair } from './startLinkPair.js';

// Long enough for both processes' heaps to settle after start-up, so the baseline is not still climbing.
const WARM_UP_MS = 2_000;
export const STALL_MS = 5_000;

export interface StallRun {
  mode: LinkMode;
  receiver: RssGrowth;
  sender: RssGrowth;
  /** Set when a process died: the growth figures then run up to its death. */
  crashed: ChildExit | undefined;
}

/** How much each process grows while the receiver stops consuming and the sender keeps offering. */
export async function measureStall(mode: LinkMode, capacity: number): Promise<StallRun> {
  const pair = await startLinkPair(mode, capacity);
  const rss = new RssRecorder({ receiver: pair.receiver.pid, sender: pair.sender.pid });
  const warmUpAndStall = async (): Promise<undefined> => {
    await sleep(WARM_UP_MS);
    rss.markBaseline();
    pair.receiver.send({ type: 'stall', ms: STALL_MS });
    await sleep(STALL_MS);
    return undefined;
  };
  try {
    const crashed = await Promise.race([warmUpAndStall(), pair.crashed]);
    return { mode, receiver: rss.growth('receiver'), sender: rss.growth('sender'), crashed };
  } finally {
    rss.stop();
    pair.stop();
  }
}
