/** A window of what keeps a link busy is held this many times over: the rate and the round trip are estimates. */
const busyHeadroom = 2;

/**
 * The part of its share a queue holds whose consumer spends most of its time waiting for its own
 * downstream's credit: that hop is not the bottleneck, so what it holds only waits, and the
 * bottleneck's own queue and batch in hand need the time.
 */
export const heldBackShare = 0.5;

export interface TimeSizing {
  /** Events per second the consumer drains. */
  perSecond: number;
  /** The queueing time the window may hold, in milliseconds. */
  shareMs: number;
  /** The credit round trip of the link, if measured: the window never shrinks below what keeps it busy */
  roundTripMs?: number;
  /**
   * The largest batch the consumer took lately from a backed-up link (it was the slower side,
   * not held back by its own downstream): the window keeps that much, up to what drains in
   * `busyBatchShares` shares. A hop whose cost is largely per batch (a commit, a slow dependency's
   * round trip) would otherwise take smaller batches, drain slower, be given a smaller window and
   * take smaller batches still, down to the minimum: throughput given up for nothing.
   */
  busyBatch?: number;
  /**
   * How many shares a busy consumer's batch may take to drain (default 4, the whole target): more
   * when a smaller batch would not be quicker (its cost is per batch: shrinking it gains no time,
   * only loses throughput), fewer when it would (then shrinking is the way to the target).
   */
  busyBatchShares?: number;
  min: number;
  max: number;
}

/**
 * What a queue sized by time may hold: what its consumer drains in its share
 * of the latency target, never below what keeps its link busy (rate × round
 * trip, with headroom) or its busy consumer's batches whole, nor `min`, never above `max`.
 */
export function timeSizedWindow({ perSecond, shareMs, roundTripMs = 0, busyBatch = 0, busyBatchShares = 4, min, max }: TimeSizing): number {
  const drainsInShare = (perSecond * shareMs) / 1_000;
  const keepsBusy = (perSecond * roundTripMs * busyHeadroom) / 1_000;
  // Unlimited shares are no limit even where nothing drains in a share (Infinity × 0 would be NaN).
  const batchesCap = busyBatchShares === Number.POSITIVE_INFINITY ? busyBatchShares : busyBatchShares * drainsInShare;
  const keepsBatches = Math.min(busyBatch * busyHeadroom, batchesCap);
  return Math.min(max, Math.max(min, Math.ceil(Math.max(drainsInShare, keepsBusy, keepsBatches))));
}
