/** From `startS` for `lengthS` seconds the target rate is `rate` instead of the base rate. */
export interface Burst {
  rate: number;
  startS: number;
  lengthS: number;
}

/** The target rate over time, in events/s: a base rate with an optional step burst. */
export interface RateSchedule {
  rate: number;
  burst?: Burst | undefined;
}

export function rateAt({ rate, burst }: RateSchedule, elapsedS: number): number {
  return burst && elapsedS >= burst.startS && elapsedS < burst.startS + burst.lengthS ? burst.rate : rate;
}

/**
 * Events the schedule has offered from the start up to `elapsedS` (the integral of the rate).
 * Sending by this integral rather than by the current rate keeps the total exact when the
 * timer wakes late or the rate steps.
 */
export function offeredBy({ rate, burst }: RateSchedule, elapsedS: number): number {
  const base = rate * elapsedS;
  if (!burst) return base;
  const secondsInBurst = Math.min(Math.max(elapsedS - burst.startS, 0), burst.lengthS);
  return base + (burst.rate - rate) * secondsInBurst;
}
