import { setTimeout as sleep } from 'node:timers/promises';
import { LinkResetError } from '../../lib/flow/linkErrors.js';
import type { Outbound } from '../../lib/flow/Outbound.js';
import { createLogger } from '../../lib/log.js';
import { contextOf, isSampled, recordCreditWait, startSendSpan, trace, type Link } from '../../lib/telemetry/batchSpans.js';
import type { StageClock } from '../../lib/telemetry/StageClock.js';
import type { Event__Output } from '../../lib/contract/loadContract.js';
import { entriesOf, eventsOf, HeldEntries, type EntrySlice } from './HeldEntries.js';
import type { Intake, IntakeEntry } from './Intake.js';

const log = createLogger('source');

/** How long to wait before removing again acknowledged entries whose removal failed. */
const removeRetryMs = 500;

/** A batch read from the intake mixes entries of many requests: its span links this many of their traces besides its parent's. */
const maxLinkedTraces = 16;

/**
 * Intake → enrichment. Reads the intake only as fast as enrichment grants
 * credit, an entry (a delivery's events) whole or in parts when the credit is
 * smaller; deletes an entry once enrichment acknowledged all its events (which
 * it does only after the sink committed them); re-sends what a reset of the
 * link lost; and after its own start, any reset of the link or a read whose
 * reply may have been lost, re-delivers every entry still pending (and not
 * already in hand) before reading new ones.
 */
export class IntakeReader {
  /** Entries read and not yet removed: what waits for a send, is on its way to enrichment, or is being removed. */
  readonly #held = new HeldEntries();
  #stopping: AbortSignal | undefined;
  #replayFrom: string | undefined = '0';
  #resets = 0;
  /** Ids removed while the read in flight (if any) was on its way: a replay's read may have found them just before. */
  #removedWhileReading: Set<string> | undefined;
  /** The mean events per entry of the last read: how many entries a read asks for to fill the credit it has. */
  #meanEntryEvents = 1;

  constructor(
    private readonly intake: Intake,
    private readonly downstream: Outbound,
    /** Told of entries read for the first time and of entries removed, in events and in entries (the intake writer's room), and of every wait for credit; and what it holds unread. */
    private readonly counts: { readonly unread: number; heldBack(ms: number): void; read(events: number, entries: number): void; removed(events: number, entries: number): void },
    /** Back-pressured while waiting for enrichment's credit, idle while the intake has nothing new, busy reading and sending what it holds. */
    private readonly clock: StageClock,
    /** A batch went to enrichment: for the event-time lag and the batch sizes. */
    private readonly onPassedOn: (events: readonly Event__Output[]) => void = () => undefined,
  ) {}

  /**
   * Entries another source left pending this long are taken over and re-delivered (several sources
   * share the intake); `claimIdleMs` is far above any time an entry spends in flight through a mesh
   * whose links are bounded, so a live source's entries are not taken from under it.
   */
  async run(maxBatchEvents: number, blockMs: number, signal: AbortSignal, claimIdleMs = 60_000): Promise<void> {
    this.#stopping = signal;
    let nextClaimAt = Date.now() + claimIdleMs / 4;
    while (!signal.aborted) {
      if (Date.now() >= nextClaimAt) {
        nextClaimAt = Date.now() + claimIdleMs / 4;
        const claimed = await this.intake.claimIdle(claimIdleMs);
        if (claimed > 0) {
          log.warn('took over entries another source left pending; re-delivering them', { claimed });
          this.#replayFrom = '0';
        }
      }
      const creditWaitFromMs = this.downstream.stats().freeCredit > 0 ? undefined : Date.now();
      const endCreditWait = creditWaitFromMs === undefined ? undefined : this.clock.begin('credit');
      const reservation = await this.downstream.reserve(maxBatchEvents, signal).finally(endCreditWait);
      const creditWaitEndMs = Date.now();
      if (creditWaitFromMs !== undefined) this.counts.heldBack(creditWaitEndMs - creditWaitFromMs);
      const count = reservation.events;
      // What a lost send left waiting, or the rest of an entry larger than the last credit, goes before any read.
      if (this.#held.unsentEvents === 0) {
        try {
          await this.#read(count, blockMs);
        } catch (error) {
          this.downstream.release(reservation);
          throw error;
        }
      }
      const slices = this.#held.take(count);
      const events = eventsOf(slices);
      this.downstream.release(reservation, count - events.length);
      if (events.length === 0) continue;
      const endWork = this.clock.begin('work');
      const { parent, links } = traceOf(entriesOf(slices));
      if (creditWaitFromMs !== undefined) {
        recordCreditWait(parent, this.downstream.link, Math.max(creditWaitFromMs, events[0]!.acceptedAtMs), creditWaitEndMs, events.length, this.downstream.stats().receiverWindow);
      }
      const { span, carrier } = startSendSpan(parent, { link: this.downstream.link, events: events.length, creditAvailable: count }, links);
      try {
        const sent = await this.downstream.send(events, carrier, reservation);
        this.onPassedOn(events);
        sent.acknowledged.then(() => void this.#acknowledged(slices), () => this.#lost(slices));
      } catch (error) {
        if (!(error instanceof LinkResetError)) throw error;
        this.#lost(slices);
      } finally {
        endWork();
        this.downstream.release(reservation);
        span.end();
      }
    }
  }

  /**
   * Reads entries for `credit` events at their recent mean size (at least one entry; a part of one
   * may wait for the next credit), the pending ones not in hand while replaying, else new ones.
   */
  async #read(credit: number, blockMs: number): Promise<void> {
    const wanted = Math.max(1, Math.floor(credit / this.#meanEntryEvents));
    // A blocking read waits for new entries (idle) unless the intake holds unread events: then it is work
    // that finds them at once. A replay's read never blocks.
    const endRead = this.counts.unread > 0 || this.#replayFrom !== undefined ? this.clock.begin('work') : undefined;
    const replaying = this.#replayFrom !== undefined;
    const resetsBefore = this.#resets;
    const uncertainBefore = this.intake.uncertainReads;
    const removedWhileReading = new Set<string>();
    this.#removedWhileReading = removedWhileReading;
    let read: IntakeEntry[];
    try {
      read = await (replaying ? this.intake.readPending(this.#replayFrom!, wanted) : this.intake.readNew(wanted, blockMs)).finally(endRead);
    } finally {
      this.#removedWhileReading = undefined;
    }
    // A reset during the read starts the replay over; the position of the old one is void.
    if (replaying && this.#resets === resetsBefore) this.#replayFrom = read.length > 0 ? read.at(-1)!.id : undefined;
    // An attempt of the read failed on the way: Redis may have handed this consumer entries whose reply
    // never came, and they stay pending until someone reads the pending entries. That is the replay.
    if (!replaying && this.intake.uncertainReads !== uncertainBefore) {
      this.#replayFrom = '0';
      log.warn('a read of the intake failed on the way; re-delivering its pending entries');
    }
    let events = 0;
    for (const entry of read) {
      events += entry.events.length;
      // What is still in hand (waiting, on its way to enrichment, or being removed) is not sent twice, nor
      // what was removed after Redis answered the read and before the answer got here.
      if (!this.#held.has(entry.id) && !removedWhileReading.has(entry.id)) this.#held.add(entry);
    }
    if (read.length > 0) this.#meanEntryEvents = events / read.length;
    if (!replaying) this.counts.read(read.reduce((sum, entry) => sum + entry.count, 0), read.length);
  }

  /** Enrichment acknowledged them, so the sink committed them: the entries now wholly acknowledged leave the intake. */
  async #acknowledged(slices: EntrySlice[]): Promise<void> {
    const complete = this.#held.acknowledged(slices);
    if (complete.length === 0) return;
    // Held until gone from the intake: an entry whose removal failed (the breaker gave it up) is
    // removed again, never sent again, until the source stops (a restart re-delivers it).
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.intake.remove(complete.map((entry) => entry.id));
        break;
      } catch (error) {
        if (this.#stopping?.aborted) return;
        log.warn('could not remove acknowledged entries from the intake; trying again', { entries: complete.length, attempt, error: String(error) });
        await sleep(removeRetryMs);
      }
    }
    this.#held.removed(complete);
    for (const { id } of complete) this.#removedWhileReading?.add(id);
    this.counts.removed(complete.reduce((sum, entry) => sum + entry.count, 0), complete.length);
  }

  /** The link reset before they were acknowledged: they are sent again, and every entry still pending and not in hand is re-delivered. */
  #lost(slices: EntrySlice[]): void {
    this.#held.lost(slices);
    this.#replayFrom = '0';
    this.#resets += 1;
    log.warn('link to enrichment reset; re-delivering pending intake entries', { unacknowledged: slices.reduce((sum, { from, to }) => sum + to - from, 0) });
  }
}

/**
 * The trace a batch of intake entries continues: that of its first sampled
 * entry (so a sampled request's trace goes on), linked to the other sampled
 * traces it carries.
 */
function traceOf(entries: IntakeEntry[]): { parent: ReturnType<typeof contextOf>; links: Link[] } {
  const sampled = new Map<string, Record<string, string>>();
  for (const entry of entries) {
    const traceparent = entry.traceContext?.traceparent;
    if (traceparent && !sampled.has(traceparent) && sampled.size <= maxLinkedTraces && isSampled(entry.traceContext)) sampled.set(traceparent, entry.traceContext!);
  }
  const [first, ...others] = [...sampled.values()];
  const parent = contextOf(first ?? entries[0]!.traceContext);
  const links = others.map((carrier) => ({ context: trace.getSpanContext(contextOf(carrier))! })).filter((link) => link.context);
  return { parent, links };
}
