import { LinkResetError } from '../../lib/flow/linkErrors.js';
import type { Outbound } from '../../lib/flow/Outbound.js';
import { createLogger } from '../../lib/log.js';
import { contextOf, isSampled, recordCreditWait, startSendSpan, trace, type Link } from '../../lib/telemetry/batchSpans.js';
import type { StageClock } from '../../lib/telemetry/StageClock.js';
import type { Intake, IntakeEntry } from './Intake.js';

const log = createLogger('source');

/** A batch read from the intake mixes entries of many requests: its span links this many of their traces besides its parent's. */
const maxLinkedTraces = 16;

/**
 * Intake → enrichment. Reads the intake only as fast as enrichment grants
 * credit; deletes entries once enrichment acknowledges them (which it does only
 * after the sink committed them); and after its own start, any reset of the
 * link or a read whose reply may have been lost, re-delivers every entry still
 * pending (and not already on its way) before reading new ones.
 */
export class IntakeReader {
  /** The entries of each batch on its way to enrichment, not yet acknowledged. */
  readonly #inFlight = new Set<string[]>();
  /** Entries acknowledged end to end whose removal from the intake is under way. */
  readonly #removing = new Set<string>();
  #replayFrom: string | undefined = '0';
  #resets = 0;

  constructor(
    private readonly intake: Intake,
    private readonly downstream: Outbound,
    /** Told of entries read for the first time and of entries removed: the intake writer's room. */
    private readonly counts: { read(count: number): void; removed(count: number): void },
    /** Back-pressured while waiting for enrichment's credit, idle while the intake has nothing new, busy reading and sending what it holds. */
    private readonly clock: StageClock,
    /** A batch went to enrichment: for the event-time lag and the batch sizes. */
    private readonly onPassedOn: (events: readonly IntakeEntry['event'][]) => void = () => undefined,
  ) {}

  /**
   * Entries another source left pending this long are taken over and re-delivered (several sources
   * share the intake); `claimIdleMs` is far above any time an entry spends in flight through a mesh
   * whose links are bounded, so a live source's entries are not taken from under it.
   */
  async run(maxBatchEvents: number, blockMs: number, signal: AbortSignal, claimIdleMs = 60_000): Promise<void> {
    let lastReadFull = false;
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
      const count = reservation.events;
      // A blocking read waits for new entries (idle) unless the last one filled its batch: then more were
      // waiting, and the read is work that finds them at once. A replay's read never blocks.
      const endRead = lastReadFull || this.#replayFrom !== undefined ? this.clock.begin('work') : undefined;
      const replaying = this.#replayFrom !== undefined;
      const resetsBefore = this.#resets;
      const uncertainBefore = this.intake.uncertainReads;
      const read = await (replaying ? this.intake.readPending(this.#replayFrom!, count) : this.intake.readNew(count, blockMs))
        .catch((error: unknown) => { this.downstream.release(reservation); throw error; })
        .finally(endRead);
      // A reset during the read starts the replay over; the position of the old one is void.
      if (replaying && this.#resets === resetsBefore) this.#replayFrom = read.length > 0 ? read.at(-1)!.id : undefined;
      // An attempt of the read failed on the way: Redis may have handed this consumer entries whose reply
      // never came, and they stay pending until someone reads the pending entries. That is the replay.
      if (!replaying && this.intake.uncertainReads !== uncertainBefore) {
        this.#replayFrom = '0';
        log.warn('a read of the intake failed on the way; re-delivering its pending entries');
      }
      // What is still on its way to enrichment, or being removed, is not sent twice.
      const entries = replaying ? this.#notInHand(read) : read;
      lastReadFull = read.length >= count;
      if (!replaying) this.counts.read(read.length);
      this.downstream.release(reservation, count - entries.length);
      if (entries.length === 0) continue;
      const endWork = this.clock.begin('work');
      const { parent, links } = traceOf(entries);
      if (creditWaitFromMs !== undefined) {
        recordCreditWait(parent, this.downstream.link, Math.max(creditWaitFromMs, entries[0]!.event.acceptedAtMs), creditWaitEndMs, entries.length, this.downstream.stats().receiverWindow);
      }
      const { span, carrier } = startSendSpan(parent, { link: this.downstream.link, events: entries.length, creditAvailable: count }, links);
      const ids = entries.map((entry) => entry.id);
      try {
        const events = entries.map((entry) => entry.event);
        const sent = await this.downstream.send(events, carrier, reservation);
        this.onPassedOn(events);
        this.#inFlight.add(ids);
        sent.acknowledged.then(() => void this.#acknowledged(ids), () => this.#lost(ids));
      } catch (error) {
        if (!(error instanceof LinkResetError)) throw error;
        this.#lost([]);
      } finally {
        endWork();
        this.downstream.release(reservation);
        span.end();
      }
    }
  }

  /** Enrichment acknowledged them, so the sink committed them: they leave the intake. */
  async #acknowledged(ids: string[]): Promise<void> {
    this.#inFlight.delete(ids);
    for (const id of ids) this.#removing.add(id);
    try {
      await this.intake.remove(ids);
    } finally {
      for (const id of ids) this.#removing.delete(id);
    }
    this.counts.removed(ids.length);
  }

  /** The link reset before they were acknowledged: every entry still pending is re-delivered. */
  #lost(ids: string[]): void {
    this.#inFlight.delete(ids);
    this.#replayFrom = '0';
    this.#resets += 1;
    log.warn('link to enrichment reset; re-delivering pending intake entries', { unacknowledged: ids.length });
  }

  #notInHand(entries: IntakeEntry[]): IntakeEntry[] {
    if (this.#inFlight.size === 0 && this.#removing.size === 0) return entries;
    const inHand = new Set(this.#removing);
    for (const ids of this.#inFlight) for (const id of ids) inHand.add(id);
    return entries.filter((entry) => !inHand.has(entry.id));
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
