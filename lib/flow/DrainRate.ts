/**
 * How fast a consumer drains a buffer: events taken per second of the time
 * the buffer held something. Time with nothing to take says nothing of the
 * consumer's speed, so an idle link keeps its last estimate, and the first
 * traffic after an idle period is met with the window it had.
 */
export class DrainRate {
  #perSecond: number | undefined;
  #taken = 0;
  #backlogMs = 0;
  #backlogSince: number | undefined;

  constructor(private readonly smoothing = 0.3) {}

  /** Events per second, or undefined before the first estimate. */
  get perSecond(): number | undefined { return this.#perSecond; }

  /** How long `held` events take to drain at the estimated rate; undefined without an estimate, Infinity while stalled. */
  estimateMs(held: number): number | undefined {
    if (this.#perSecond === undefined) return undefined;
    if (held === 0) return 0;
    return this.#perSecond > 0 ? (held / this.#perSecond) * 1_000 : Number.POSITIVE_INFINITY;
  }

  /** The buffer now holds something (`true`) or nothing. */
  backlog(holding: boolean, nowMs = performance.now()): void {
    if (holding && this.#backlogSince === undefined) this.#backlogSince = nowMs;
    else if (!holding && this.#backlogSince !== undefined) {
      this.#backlogMs += nowMs - this.#backlogSince;
      this.#backlogSince = undefined;
    }
  }

  taken(events: number): void {
    this.#taken += events;
  }

  /** Folds what was taken since the last sample into the estimate; a sample with under `minBacklogMs` of backlog is skipped. */
  sample(nowMs = performance.now(), minBacklogMs = 20): number | undefined {
    let backlogMs = this.#backlogMs;
    if (this.#backlogSince !== undefined) {
      backlogMs += nowMs - this.#backlogSince;
      this.#backlogSince = nowMs;
    }
    if (backlogMs >= minBacklogMs) {
      const rate = (this.#taken / backlogMs) * 1_000;
      this.#perSecond = this.#perSecond === undefined ? rate : this.#perSecond + this.smoothing * (rate - this.#perSecond);
      this.#taken = 0;
      this.#backlogMs = 0;
    } else if (backlogMs === 0) {
      this.#taken = 0;
    } else {
      this.#backlogMs = backlogMs;
    }
    return this.#perSecond;
  }
}
