import { resourceExhausted } from './ProtocolError.js';

/**
 * The receiver's credit accounting (rules 2 and 3). Its capacity is always
 * split three ways: credit outstanding at the sender, events buffered here, and
 * space freed but not yet granted. Freed space is granted back in chunks, so
 * credit frames stay a small fraction of data frames; the remainder of a
 * chunk is granted when the link goes idle (see LinkReceiver).
 */
export class ReceiveWindow {
  #outstanding = 0;
  #buffered = 0;
  #freed: number;

  constructor(readonly capacity: number, readonly replenishChunk: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    if (!Number.isInteger(replenishChunk) || replenishChunk < 1 || replenishChunk > capacity) {
      throw new RangeError(`replenishChunk must be 1..capacity (${capacity}), got ${replenishChunk}`);
    }
    this.#freed = capacity;
  }

  get outstanding(): number { return this.#outstanding; }
  get buffered(): number { return this.#buffered; }
  /** Space freed and not yet granted: less than a chunk. */
  get freed(): number { return this.#freed; }

  /** The first grant of a link: the whole capacity. */
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

  /** Frees `events` of buffer space and returns the grant to send now (0 while less than a chunk is free). */
  release(events: number): number {
    this.#buffered -= events;
    this.#freed += events;
    return this.#freed >= this.replenishChunk ? this.grantFreed() : 0;
  }

  /** Grants whatever is freed, chunk or not (a link gone idle should not sit on credit). */
  grantFreed(): number {
    const grant = this.#freed;
    this.#outstanding += grant;
    this.#freed = 0;
    return grant;
  }
}
