import { MAX_CREDIT, invalidArgument } from './ProtocolError.js';

/**
 * The sender's view of a link's demand (rules 1 and 2): credit arrives in
 * additive grants and is spent one event at a time, and whoever needs credit
 * waits on a promise that the next grant settles, never on a timer.
 */
export class CreditWindow {
  #available = 0;
  #granted = 0;
  #spent = 0;
  #closedBy: Error | undefined;
  #waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  /** Credit granted and not yet spent. */
  get available(): number { return this.#available; }
  /** Everything ever granted on this link. */
  get granted(): number { return this.#granted; }
  /** Everything ever spent on this link: never more than `granted`. */
  get spent(): number { return this.#spent; }

  grant(events: number): void {
    if (!Number.isInteger(events) || events < 1 || events > MAX_CREDIT) {
      throw invalidArgument(`a grant must be 1..${MAX_CREDIT} events, got ${events}`);
    }
    if (this.#available + events > MAX_CREDIT) {
      throw invalidArgument(`a grant of ${events} would make outstanding credit ${this.#available + events}, above ${MAX_CREDIT}`);
    }
    this.#available += events;
    this.#granted += events;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
  }

  /** Spends up to `wanted` events of credit and says how many it spent. */
  spend(wanted: number): number {
    const events = Math.min(wanted, this.#available);
    this.#available -= events;
    this.#spent += events;
    return events;
  }

  /**
   * Settles as soon as some credit is available, or rejects when the window is
   * closed. Waiters are the few tasks of one sender, so the list stays short.
   */
  whenAvailable(): Promise<void> {
    if (this.#closedBy) return Promise.reject(this.#closedBy);
    if (this.#available > 0) return Promise.resolve();
    return new Promise((resolve, reject) => { this.#waiters.push({ resolve, reject }); });
  }

  /** Ends the window: a waiter is rejected with `reason` and no credit remains. */
  close(reason: Error): void {
    this.#available = 0;
    this.#closedBy = reason;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(reason);
  }
}
