/**
 * Turns deliveries finished in any order into one cumulative, monotonic
 * acknowledgement (rule 5): the offset advances only over a prefix of
 * deliveries that are all done.
 */
export class AckTracker {
  #pending: Array<{ end: number; done: boolean }> = [];
  #acknowledged = 0;

  constructor(readonly maxPending: number) {}

  /** Every event below this offset is done. */
  get acknowledged(): number { return this.#acknowledged; }
  /** Deliveries handed out and not yet done. */
  get pending(): number { return this.#pending.length; }
  get full(): boolean { return this.#pending.length >= this.maxPending; }

  /** Registers the next delivery, which ends (exclusive) at link offset `end`; returns its completion. */
  track(end: number): () => number | undefined {
    if (this.full) throw new Error(`more than ${this.maxPending} unacknowledged deliveries`);
    const entry = { end, done: false };
    this.#pending.push(entry);
    return () => {
      if (entry.done) return undefined;
      entry.done = true;
      return this.#advance();
    };
  }

  /** Forgets every pending delivery (the link ended; they will be re-delivered from the intake). */
  clear(): void {
    this.#pending.length = 0;
  }

  #advance(): number | undefined {
    const before = this.#acknowledged;
    while (this.#pending.length > 0 && this.#pending[0]!.done) {
      this.#acknowledged = this.#pending.shift()!.end;
    }
    return this.#acknowledged > before ? this.#acknowledged : undefined;
  }
}
