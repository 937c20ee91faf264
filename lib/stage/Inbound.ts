import type { Delivery } from '../flow/LinkReceiver.js';
import type { InboundLinkFigures } from '../telemetry/HopPressure.js';

/** A taker held back for `ms` (0 or more): a wait too short to measure still counts as held back. */
export function heldBackFor(ms: number): number {
  return Math.max(0.001, ms);
}

/** Where a hop takes its events from: its upstream links (InboundLinks) or, in the decoupled mode, its topic (TopicReader). */
export interface Inbound {
  /**
   * The next delivery of at most `maxEvents` events; undefined once `signal` aborts. `heldBackMs`: the
   * taker's own downstream held it back (it waited this long for credit), so a backed-up link says
   * nothing of the taker's speed.
   */
  next(maxEvents: number, signal: AbortSignal, heldBackMs?: number): Promise<Delivery | undefined>;
  /** Ends every upstream link, so that upstream re-delivers what it has not had acknowledged. */
  resetAll(details: string): void;
  /** Events taken since start, in all and by link. */
  readonly taken: number;
  readonly takenByLink: ReadonlyMap<string, number>;
  /** Events waiting to be taken. */
  readonly queueDepth: number;
  figures(): InboundLinkFigures[];
}
