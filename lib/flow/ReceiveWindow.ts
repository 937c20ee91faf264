import { resourceExhausted } from './ProtocolError.js';

/**
 * The receiver's credit accounting (rules 2 and 3). Its capacity is always
 * split three ways: credit outstanding at the sender, events buffered here, and
 * space freed but not yet granted. Freed space is granted back in chunks, so
 * credit frames stay a small fraction of data frames; the remainder of a
 * chunk is granted when the link goes idle (see LinkReceiver).
 *
 * The window (outstanding + buffered) may be held below the capacity: a
 * receiver sized by time sets `limit` from how fast its stage drains it. Credit
 * is never taken back (rule 1); a smaller limit only withholds replenishment
 * until the window has drained below it.
 */
export class ReceiveWindow {
  #outstanding = 0;
  #buffered = 0;
  #freed: number;
  #limit: number;

  constructor(readonly capacity: number, readonly replenishChunk: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    if (!Number.isInteger(replenishChunk) || replenishChunk < 1 || replenishChunk > capacity) {
      throw new RangeError(`replenishChunk must be 1..capacity (${capacity}), got ${replenishChunk}`);
    }
    this.#freed = capacity;
    this.#limit = capacity;
  }

  get outstanding(): number { return this.#outstanding; }
  get buffered(): number { return this.#buffered; }
  /** Space freed and not yet granted. */
  get freed(): number { return this.#freed; }
  /** The most the window may hold: credit outstanding plus events buffered. */
  get limit(): number { return this.#limit; }

  /** Sets the limit (within 1..capacity); returns what it lets be granted now, if that is a chunk or more. */
  setLimit(limit: number): number {
    if (Number.isNaN(limit)) throw new RangeError('a window limit must be a number, got NaN');
    this.#limit = Math.min(this.capacity, Math.max(1, Math.round(limit)));
    return this.#grantable() >= this.#chunk() ? this.grantFreed() : 0;
  }

  /** The first grant of a link: the whole window. */
  openingGrant(): number {
    return this.grantFreed();
  }

  /** Takes `events` into the buffer, or throws RESOURCE_EXHAUSTED if they exceed the credit granted. */
  admit(events: number): void {
    if (events > this.#outstanding) {
      throw resourceExhausted(`received ${events} events with only ${this.#outstanding} granted`);
    }
    this.#outstanding -= events;
    this.#buffered += events;
  }

  /** Frees `events` of buffer space and returns the grant to send now (0 while less than a chunk may be granted). */
  release(events: number): number {
    this.#buffered -= events;
    this.#freed += events;
    return this.#grantable() >= this.#chunk() ? this.grantFreed() : 0;
  }

  /** Grants whatever is freed and within the limit, chunk or not (a link gone idle should not sit on credit). */
  grantFreed(): number {
    const grant = this.#grantable();
    this.#outstanding += grant;
    this.#freed -= grant;
    return grant;
  }

  /** A window held below the capacity is replenished in chunks of a quarter of it, so a busy link is never left waiting on a chunk it cannot reach. */
  #chunk(): number {
    return Math.min(this.replenishChunk, Math.max(1, Math.ceil(this.#limit / 4)));
  }

  #grantable(): number {
    return Math.max(0, Math.min(this.#freed, this.#limit - this.#outstanding - this.#buffered));
  }
}
