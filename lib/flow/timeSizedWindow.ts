/** A window of what keeps a link busy is held this many times over: the rate and the round trip are estimates. */
const busyHeadroom = 2;

export interface TimeSizing {
  /** Events per second the consumer drains. */
  perSecond: number;
  /** The queueing time the window may hold, in milliseconds. */
  shareMs: number;
  /** The credit round trip of the link, if measured: the window never shrinks below what keeps it busy */
  roundTripMs?: number;
  min: number;
  max: number;
}

/**
 * What a queue sized by time may hold: what its consumer drains in its share
 * of the latency target, never below what keeps its link busy (rate × round
 * trip, with headroom) nor `min`, never above `max`.
 */
export function timeSizedWindow({ perSecond, shareMs, roundTripMs = 0, min, max }: TimeSizing): number {
  const drainsInShare = (perSecond * shareMs) / 1_000;
  const keepsBusy = (perSecond * roundTripMs * busyHeadroom) / 1_000;
  return Math.min(max, Math.max(min, Math.ceil(Math.max(drainsInShare, keepsBusy))));
}
