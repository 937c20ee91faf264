import { MAX_CREDIT, invalidArgument } from './ProtocolError.js';
import { waitInLine, type Waiter } from './waitInLine.js';

/**
 * The sender's view of a link's demand (rules 1 and 2): credit arrives in
 * additive grants and is spent one event at a time. Credit can be reserved
 * ahead of sending (a stage reserves what it takes in, before it has processed
 * it), so two users of one window never count the same credit twice. Whoever
 * needs credit waits on a promise that the next grant settles, never on a timer.
 */
export class CreditWindow {
  #available = 0;
  #reserved = 0;
  #granted = 0;
  #spent = 0;
  #closedBy: Error | undefined;
  readonly #waiters: Array<Waiter<void>> = [];

  /** Credit granted and not yet spent. */
  get available(): number { return this.#available; }
  /** Credit granted, not yet spent and not reserved: what a new reservation can take. */
  get free(): number { return this.#available - this.#reserved; }
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
    this.#wakeAll();
  }

  /** Reserves up to `max` events, waiting until at least one is free; rejects when the window closes or `signal` aborts. */
  async reserve(max: number, signal?: AbortSignal): Promise<number> {
    while (this.free === 0) await this.whenFree(signal);
    const events = Math.min(max, this.free);
    this.#reserved += events;
    return events;
  }

  /** Reserves exactly `count` events if that many are free now. */
  tryReserve(count: number): boolean {
    if (this.#closedBy || this.free < count) return false;
    this.#reserved += count;
    return true;
  }

  /** Gives back reserved credit that will not be spent. */
  release(count: number): void {
    this.#reserved -= Math.min(count, this.#reserved);
    if (count > 0) this.#wakeAll();
  }

  /**
   * Spends up to `wanted` events: first of the caller's own reservation of
   * `reserved` events, then of free credit. Says how many it spent.
   */
  spend(wanted: number, reserved = 0): number {
    const ownReserved = Math.min(reserved, this.#reserved);
    const events = Math.min(wanted, ownReserved + this.free);
    this.#reserved -= Math.min(events, ownReserved);
    this.#available -= events;
    this.#spent += events;
    return events;
  }

  /**
   * Settles as soon as some credit is free, or rejects when the window is
   * closed (or `signal` aborts). Waiters are the few tasks of one sender, so the list stays short.
   */
  whenFree(signal?: AbortSignal): Promise<void> {
    if (this.#closedBy) return Promise.reject(this.#closedBy);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.free > 0) return Promise.resolve();
    return waitInLine(this.#waiters, signal);
  }

  /** Ends the window: a waiter is rejected with `reason`, and no credit, reserved or not, remains. */
  close(reason: Error): void {
    this.#available = 0;
    this.#reserved = 0;
    this.#closedBy = reason;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(reason);
  }

  #wakeAll(): void {
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
  }
}
