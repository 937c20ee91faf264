/**
 * How fast a consumer drains a buffer: events taken per second, over each
 * interval between two samples in which the buffer held something or
 * something was taken. An interval with neither says nothing of the
 * consumer's speed, so an idle link keeps its last estimate, and the first
 * traffic after an idle period is met with the window it had. One in which the
 * buffer held events and none were taken is a stall: a rate of 0.
 *
 * The rate is per second of the whole interval, not of the time the buffer
 * held something: a consumer that takes every event the moment it arrives
 * drains at the rate events arrive, however fast it could go. A window sized
 * from it holds what that rate brings in its share of the target; were the
 * consumer to slow down, the buffer fills and the rate follows it down.
 */
export class DrainRate {
  #perSecond: number | undefined;
  #taken = 0;
  #held = false;
  #holding = false;
  #lastSampleMs: number | undefined;

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
  backlog(holding: boolean): void {
    this.#holding = holding;
    if (holding) this.#held = true;
  }

  taken(events: number): void {
    this.#taken += events;
  }

  /** Folds the interval since the last sample into the estimate (the first call only starts the clock). */
  sample(nowMs = performance.now()): number | undefined {
    const elapsedMs = this.#lastSampleMs === undefined ? 0 : nowMs - this.#lastSampleMs;
    this.#lastSampleMs = nowMs;
    const active = this.#held || this.#taken > 0;
    if (elapsedMs > 0 && active) {
      const rate = (this.#taken / elapsedMs) * 1_000;
      this.#perSecond = this.#perSecond === undefined ? rate : this.#perSecond + this.smoothing * (rate - this.#perSecond);
    }
    this.#taken = 0;
    this.#held = this.#holding;
    return this.#perSecond;
  }
}
