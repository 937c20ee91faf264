/**
 * The round trip of credit as a receiver sees it: from a grant to a sender
 * that had used up all it had, to the first batch after it. That is the link's
 * own cycle (the frames' way there and back, and the sender's taking and
 * working on the events it sends), the time a window must cover to keep the
 * link busy. A sender that uses up its credit is most likely held by it; the
 * opening grant says nothing (the sender may have had nothing to send yet), and
 * a sample is counted up to `maxSampleMs`, so one long pause weighs little.
 */
export class CreditRoundTrip {
  #grantedAtMs: number | undefined;
  #estimateMs: number | undefined;

  constructor(private readonly smoothing = 0.25, private readonly maxSampleMs = 1_000) {}

  /** The smoothed round trip, or undefined before one was measured. */
  get estimateMs(): number | undefined { return this.#estimateMs; }

  /** Credit was granted; `senderHadNone`: the sender had used up its credit, so it is waiting for this grant. */
  granted(senderHadNone: boolean, nowMs = performance.now()): void {
    if (senderHadNone && this.#grantedAtMs === undefined) this.#grantedAtMs = nowMs;
  }

  /** A batch arrived. */
  received(nowMs = performance.now()): void {
    if (this.#grantedAtMs === undefined) return;
    const sample = Math.min(nowMs - this.#grantedAtMs, this.maxSampleMs);
    this.#grantedAtMs = undefined;
    this.#estimateMs = this.#estimateMs === undefined ? sample : this.#estimateMs + this.smoothing * (sample - this.#estimateMs);
  }
}
