export type Clock = () => number;

/** A monotonic clock in milliseconds (wall-clock steps must not refill or drain a bucket). */
export const monotonicMs: Clock = () => performance.now();

export type Taken = { taken: true } | { taken: false; retryAfterSeconds: number };

/**
 * A token bucket: holds at most `capacity` tokens and gains `ratePerSecond`
 * of them a second. Refilled lazily from the clock on each use, so it needs
 * no timer and costs nothing while idle. It starts full.
 */
export class TokenBucket {
  #tokens: number;
  #refilledAt: number;

  constructor(readonly ratePerSecond: number, readonly capacity: number, private readonly now: Clock = monotonicMs) {
    if (!(ratePerSecond > 0) || !(capacity >= 1)) throw new RangeError('a token bucket needs a positive rate and a capacity of at least 1');
    this.#tokens = capacity;
    this.#refilledAt = now();
  }

  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  /**
   * Takes `count` tokens if there are that many; otherwise takes none and says
   * how many whole seconds until there will be. A count above the capacity
   * can never be taken (retryAfterSeconds is Infinity).
   */
  take(count: number): Taken {
    this.#refill();
    if (count <= this.#tokens) {
      this.#tokens -= count;
      return { taken: true };
    }
    if (count > this.capacity) return { taken: false, retryAfterSeconds: Infinity };
    return { taken: false, retryAfterSeconds: Math.max(1, Math.ceil((count - this.#tokens) / this.ratePerSecond)) };
  }

  /** Gives back tokens taken for work that was then not done. */
  refund(count: number): void {
    this.#refill();
    this.#tokens = Math.min(this.capacity, this.#tokens + count);
  }

  #refill(): void {
    const now = Math.max(this.now(), this.#refilledAt);
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#refilledAt) * this.ratePerSecond) / 1000);
    this.#refilledAt = now;
  }
}
