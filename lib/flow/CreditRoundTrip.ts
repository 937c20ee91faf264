/**
 * The round trip of credit as a receiver sees it: from a grant to a sender
 * that had none left to the first batch after it. A sender with nothing to
 * send answers late, so the estimate is the smallest sample of the last
 * `horizonMs` (as BBR keeps its minimum RTT): what the link costs, not how
 * busy its sender is.
 */
export class CreditRoundTrip {
  #grantedAtMs: number | undefined;
  #current = { sinceMs: 0, minMs: Number.POSITIVE_INFINITY };
  #previousMinMs = Number.POSITIVE_INFINITY;

  constructor(private readonly horizonMs = 10_000) {}

  /** The smallest recent round trip, or undefined before one was measured. */
  get ms(): number | undefined {
    const ms = Math.min(this.#current.minMs, this.#previousMinMs);
    return Number.isFinite(ms) ? ms : undefined;
  }

  /** Credit was granted; `senderHadNone`: the sender had no credit left before it, so it is waiting for this grant. */
  granted(senderHadNone: boolean, nowMs = performance.now()): void {
    if (senderHadNone && this.#grantedAtMs === undefined) this.#grantedAtMs = nowMs;
  }

  /** A batch arrived. */
  received(nowMs = performance.now()): void {
    if (this.#grantedAtMs === undefined) return;
    const sample = nowMs - this.#grantedAtMs;
    this.#grantedAtMs = undefined;
    // Two half-horizons: the minimum forgets a sample after one to two of them.
    if (nowMs - this.#current.sinceMs >= this.horizonMs / 2) {
      this.#previousMinMs = this.#current.minMs;
      this.#current = { sinceMs: nowMs, minMs: sample };
    } else {
      this.#current.minMs = Math.min(this.#current.minMs, sample);
    }
  }
}
