import { asDeadLetter, eventRejection } from '../../lib/contract/eventRules.js';
import { DrainRate } from '../../lib/flow/DrainRate.js';
import { heldBackShare, timeSizedWindow } from '../../lib/flow/timeSizedWindow.js';
import type { Event__Output } from '../../lib/contract/loadContract.js';
import { heldBackFor } from '../../lib/stage/Inbound.js';
import type { InboundLinks } from '../../lib/stage/InboundLinks.js';
import { carrierOf, contextOf, endFailed, startProcessSpan } from '../../lib/telemetry/batchSpans.js';
import type { Intake, IntakeCounts } from './Intake.js';

/** The upstream may be someone else's gateway: an event that breaks the rules goes on as a dead letter of the source. */
function checked(event: Event__Output, acceptedAtMs: number): Event__Output {
  const reason = event.deadLetter ? undefined : eventRejection(event);
  const accepted = { ...event, acceptedAtMs: event.acceptedAtMs || acceptedAtMs };
  return reason ? asDeadLetter(accepted, 'source', reason) : accepted;
}

/**
 * Gateway → intake. Takes from the gateway's links only while the intake has
 * room, so the gateway's credit stops exactly when the intake is full; each
 * delivery is acknowledged once it is in the stream.
 *
 * The intake holds two things, counted in events (one entry holds a delivery's):
 * events not yet read (the queue) and events read and on their way through the
 * mesh, not yet acknowledged end to end. `maxLength` bounds both, as memory; sized by time, the queue is also held to
 * what the mesh reads in the latency share. What is on its way is bounded by
 * the links' own windows, and holding it to a time would only cap the mesh's
 * throughput at that time's worth of its round trip.
 */
export class IntakeWriter {
  // In events, and in entries as Redis counts them (see resync).
  #length: number;
  #unread: number;
  #lengthEntries: number;
  #unreadEntries: number;
  // Of every entry this source appended or read: the mean size at which entries it did not see are counted.
  #knownEvents = 0;
  #knownEntries = 0;
  #wakeForRoom: (() => void) | undefined;
  /** Appends begun, and whether one is on its way to Redis. */
  #appends = 0;
  #appending = false;
  #window: number;
  /** Since the last resize: how long the reader waited for enrichment's credit. */
  #readerHeldBackMs = 0;
  #lastResizeMs: number | undefined;
  readonly drain = new DrainRate();

  /**
   * `current`: the intake's contents as counted at start-up (Intake#count).
   * `sizing`: with a latency share, the unread events are held to what the mesh reads in that
   * many milliseconds (at least `minWindow`), the rate measured as the source reads them: in a
   * steady state that is the rate entries are removed, but removals lag reads by the whole way
   * through the mesh, so at start-up or after a pause they would read as a stall and starve the intake.
   */
  constructor(
    private readonly intake: Intake,
    private readonly inbound: InboundLinks,
    readonly maxLength: number,
    current: IntakeCounts,
    private readonly sizing: { latencyShareMs: number; minWindow: number } = { latencyShareMs: 0, minWindow: maxLength },
  ) {
    this.#length = current.length;
    this.#unread = Math.max(0, current.length - current.pending);
    this.#lengthEntries = current.lengthEntries;
    this.#unreadEntries = Math.max(0, current.lengthEntries - current.pendingEntries);
    this.#know(current.length, current.lengthEntries);
    this.#window = maxLength;
  }

  /** Events in the intake. */
  get length(): number { return this.#length; }

  /** Events appended and not yet read by a source. */
  get unread(): number { return this.#unread; }

  /** The most events the intake may hold unread now: its bound, or less when sized by time. */
  get window(): number { return this.#window; }

  /** Sets the window from the drain rate measured since the last call: what is read in the latency share. */
  resize(nowMs = performance.now()): void {
    this.drain.backlog(this.#unread > 0);
    const rate = this.drain.sample(nowMs);
    const mostlyHeldBack = this.#lastResizeMs !== undefined && 2 * this.#readerHeldBackMs >= nowMs - this.#lastResizeMs;
    this.#lastResizeMs = nowMs;
    this.#readerHeldBackMs = 0;
    if (!this.sizing.latencyShareMs || rate === undefined) return;
    // A reader mostly waiting for enrichment's credit reads as soon as it has some: what is unread only waits.
    const shareMs = mostlyHeldBack ? this.sizing.latencyShareMs * heldBackShare : this.sizing.latencyShareMs;
    this.#window = timeSizedWindow({ perSecond: rate, shareMs, min: this.sizing.minWindow, max: this.maxLength });
    if (this.#room() > 0) this.#wake();
  }

  /**
   * The intake's length and pending entries as Redis counts them, in entries: with several sources
   * sharing the intake, each sees the others' appends, reads and removals only this way. This source
   * counts in events what it appends, reads and removes itself; entries Redis counts beyond (or
   * short of) its own count are the others' and are counted at the mean size of the entries this
   * source has seen. So with one source the counts stay exact, with several the bounds hold across
   * them to within that estimate, and an empty intake (or none unread) is exactly zero again.
   *
   * `mark` is `syncMark()` from before Redis was asked: an append of this source's that was on its
   * way meanwhile may be in Redis's counts and not yet in its own, and would be counted twice (an
   * entry's worth unread that is not, which a small window cannot take: the intake would stop
   * taking until none is unread); such counts are left alone.
   */
  resync(lengthEntries: number, pendingEntries: number, mark = this.syncMark()): void {
    if (mark === undefined || mark !== this.syncMark()) return;
    const unreadEntries = Math.max(0, lengthEntries - pendingEntries);
    this.#length = this.#scaled(this.#length, lengthEntries - this.#lengthEntries, lengthEntries);
    this.#unread = Math.min(this.#length, this.#scaled(this.#unread, unreadEntries - this.#unreadEntries, unreadEntries));
    this.#lengthEntries = lengthEntries;
    this.#unreadEntries = unreadEntries;
    if (this.#room() > 0) this.#wake();
  }

  /** The reader waited `ms` for enrichment's credit: the mesh, not the intake, held it back. */
  heldBack(ms: number): void {
    this.#readerHeldBackMs += ms;
  }

  /** What `resync` compares to tell whether an append was on its way while Redis was asked; undefined while one is. */
  syncMark(): number | undefined {
    return this.#appending ? undefined : this.#appends;
  }

  /** A source read entries it had not read before: `events` in `entries`. */
  read(events: number, entries: number): void {
    this.drain.taken(events);
    this.#know(events, entries);
    this.#unread = Math.max(0, this.#unread - events);
    this.#unreadEntries = Math.max(0, this.#unreadEntries - entries);
    this.#wake();
  }

  /** Entries left the intake (every event of theirs acknowledged end to end): `events` in `entries`. */
  removed(events: number, entries: number): void {
    this.#length = Math.max(0, this.#length - events);
    this.#lengthEntries = Math.max(0, this.#lengthEntries - entries);
    // What left was read, whether or not this source was told.
    this.#unread = Math.min(this.#unread, this.#length);
    this.#unreadEntries = Math.min(this.#unreadEntries, this.#lengthEntries);
    this.#wake();
  }

  #know(events: number, entries: number): void {
    this.#knownEvents += events;
    this.#knownEntries += entries;
  }

  #scaled(events: number, moreEntries: number, entries: number): number {
    if (entries === 0) return 0;
    if (moreEntries === 0) return events;
    const meanEvents = this.#knownEntries > 0 ? this.#knownEvents / this.#knownEntries : 1;
    return Math.max(0, Math.round(events + moreEntries * meanEvents));
  }

  #room(): number {
    return Math.min(this.maxLength - this.#length, this.#window - this.#unread);
  }

  #wake(): void {
    const wake = this.#wakeForRoom;
    this.#wakeForRoom = undefined;
    wake?.();
  }

  async run(maxBatchEvents: number, signal: AbortSignal): Promise<void> {
    let waitedForRoomMs = 0;
    while (!signal.aborted) {
      this.drain.backlog(this.#unread > 0);
      const room = this.#room();
      if (room <= 0) {
        const fromMs = performance.now();
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          this.#wakeForRoom = () => { signal.removeEventListener('abort', stop); resolve(); };
          signal.addEventListener('abort', stop, { once: true });
        });
        waitedForRoomMs += performance.now() - fromMs;
        continue;
      }
      // Held back by the intake's room, not by its own speed, when that is less than a whole batch.
      const heldBackMs = room < maxBatchEvents ? heldBackFor(waitedForRoomMs) : 0;
      waitedForRoomMs = 0;
      const delivery = await this.inbound.next(Math.min(room, maxBatchEvents), signal, heldBackMs);
      if (!delivery) continue;
      const acceptedAtMs = Date.now();
      const { span, context } = startProcessSpan('source', contextOf(delivery.traceContext), { link: delivery.link, events: delivery.events.length });
      const events = delivery.events.map((event) => checked(event, acceptedAtMs));
      this.#appends += 1;
      this.#appending = true;
      try {
        await this.intake.append(events, carrierOf(span), context);
        span.end();
      } catch (error) {
        endFailed(span, error);
        throw error;
      } finally {
        this.#appending = false;
      }
      this.#length += events.length;
      this.#unread += events.length;
      this.#lengthEntries += 1;
      this.#unreadEntries += 1;
      this.#know(events.length, 1);
      delivery.acknowledge();
    }
  }
}
