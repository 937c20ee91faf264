import { classes, keys, protocols, type ClassName, type KeyName, type Protocol } from './traffic.js';

/** What became of an event the benchmark offered. */
export const Outcome = {
  /** Not answered (yet): in a request in flight, or in a gRPC producer's backlog or sent and not acknowledged. */
  pending: 0,
  /** HTTP 202, or acknowledged on the gRPC ingest: durably in the intake. */
  admitted: 1,
  /** HTTP 429, reason no-room, after its body was parsed (the class known). */
  noRoom: 2,
  /** HTTP 429 before its body was read: no credit at all, for any class (class null in the answer). */
  noRoomUnread: 3,
  /** HTTP 429, reason reserve. */
  reserve: 4,
  /** HTTP 429, reason fair-share. */
  fairShare: 5,
  /** Not sent: the HTTP client had its most requests in flight, or the gRPC producer's backlog was full (its credit did not keep up). */
  dropped: 6,
  /** HTTP: another status, a timeout or a network error. */
  failed: 7,
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

export const shedOutcomes: readonly Outcome[] = [Outcome.noRoom, Outcome.noRoomUnread, Outcome.reserve, Outcome.fairShare];

/** Who sent an event and its class, in one byte. */
export interface Origin { protocol: Protocol; key: KeyName; priority: ClassName }

export function originCode(origin: Origin): number {
  return (protocols.indexOf(origin.protocol) << 4) | (keys.indexOf(origin.key) << 2) | classes.indexOf(origin.priority);
}

export function originOf(code: number): Origin {
  return { protocol: protocols[code >> 4]!, key: keys[(code >> 2) & 3]!, priority: classes[code & 3]! };
}

/** Deciseconds since the run's start, the ledger's clock (65535 of them: 109 minutes). */
export type Ds = number;

/**
 * Every event the benchmark offers, by its number (its id's last part): who sent it, when it was
 * offered, what became of it and when. Typed arrays, so millions of events cost a few bytes each.
 */
export class EventLedger {
  #origin = new Uint8Array(1 << 20);
  #offeredAt = new Uint16Array(1 << 20);
  #outcome = new Uint8Array(1 << 20);
  #settledAt = new Uint16Array(1 << 20);
  #count = 0;
  #admitted = 0;

  get count(): number { return this.#count; }

  /** Events admitted so far. */
  get admitted(): number { return this.#admitted; }

  /** Numbers for `count` new events of `origin` offered at `at`; returns the first. */
  allocate(count: number, origin: number, at: Ds): number {
    const first = this.#count;
    this.#ensure(first + count);
    this.#origin.fill(origin, first, first + count);
    this.#offeredAt.fill(at, first, first + count);
    this.#count += count;
    return first;
  }

  settleRange(first: number, count: number, outcome: Outcome, at: Ds): void {
    if (outcome === Outcome.admitted) for (let number = first; number < first + count; number += 1) if (this.#outcome[number] !== Outcome.admitted) this.#admitted += 1;
    this.#outcome.fill(outcome, first, first + count);
    this.#settledAt.fill(at, first, first + count);
  }

  settle(number: number, outcome: Outcome, at: Ds): void {
    if (outcome === Outcome.admitted && this.#outcome[number] !== Outcome.admitted) this.#admitted += 1;
    this.#outcome[number] = outcome;
    this.#settledAt[number] = at;
  }

  origin(number: number): number { return this.#origin[number]!; }
  offeredAt(number: number): Ds { return this.#offeredAt[number]!; }
  outcome(number: number): Outcome { return this.#outcome[number] as Outcome; }
  settledAt(number: number): Ds { return this.#settledAt[number]!; }

  #ensure(size: number): void {
    if (size <= this.#origin.length) return;
    let length = this.#origin.length;
    while (length < size) length *= 2;
    const grow = <T extends Uint8Array | Uint16Array>(old: T, make: (n: number) => T): T => {
      const next = make(length);
      next.set(old);
      return next;
    };
    this.#origin = grow(this.#origin, (n) => new Uint8Array(n));
    this.#offeredAt = grow(this.#offeredAt, (n) => new Uint16Array(n));
    this.#outcome = grow(this.#outcome, (n) => new Uint8Array(n));
    this.#settledAt = grow(this.#settledAt, (n) => new Uint16Array(n));
  }
}
