import { createLogger } from '../../lib/log.js';
import type { Downstream } from '../../lib/stage/Downstream.js';
import { LinkResetError } from '../../lib/flow/linkErrors.js';
import { contextOf, isSampled, recordCreditWait, startSendSpan, trace, type Link } from '../../lib/telemetry/batchSpans.js';
import type { StageClock } from '../../lib/telemetry/StageClock.js';
import type { Intake, IntakeEntry } from './Intake.js';

const log = createLogger('source');

interface InFlight { generation: number; end: number; ids: string[] }

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
  readonly #inFlight: InFlight[] = [];
  /** Entries acknowledged end to end whose removal from the intake is under way. */
  readonly #removing = new Set<string>();
  #replayFrom: string | undefined = '0';
  #resets = 0;

  constructor(
    private readonly intake: Intake,
    private readonly downstream: Downstream,
    private readonly onRemoved: (count: number) => void,
    /** Back-pressured while waiting for enrichment's credit, idle while the intake has nothing new. */
    private readonly clock: StageClock,
  ) {
    downstream.on('ack', ({ generation, offset }: { generation: number; offset: number }) => void this.#acknowledged(generation, offset));
    downstream.on('reset', ({ generation, unacknowledged }: { generation: number; unacknowledged: number }) => {
      for (let i = this.#inFlight.length - 1; i >= 0; i -= 1) if (this.#inFlight[i]!.generation <= generation) this.#inFlight.splice(i, 1);
      this.#replayFrom = '0';
      this.#resets += 1;
      log.warn('link to enrichment reset; re-delivering pending intake entries', { unacknowledged });
    });
  }

  get inFlightEvents(): number {
    return this.#inFlight.reduce((sum, batch) => sum + batch.ids.length, 0);
  }

  /**
   * Entries another source left pending this long are taken over and re-delivered (several sources
   * share the intake); `claimIdleMs` is far above any time an entry spends in flight through a mesh
   * whose links are bounded, so a live source's entries are not taken from under it.
   */
  async run(maxBatchEvents: number, blockMs: number, signal: AbortSignal, claimIdleMs = 60_000): Promise<void> {
    let lastReadEmpty = false;
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
      const creditWaitFromMs = this.downstream.stats().availableCredit > 0 ? undefined : Date.now();
      if (creditWaitFromMs !== undefined) this.clock.enter('backpressured');
      const credit = await untilAborted(this.downstream.waitForCredit(), signal);
      const creditWaitEndMs = Date.now();
      // A read that waits for new entries is idle time; one that finds them at once is work.
      this.clock.enter(lastReadEmpty ? 'idle' : 'busy');
      const count = Math.min(credit, maxBatchEvents);
      const replaying = this.#replayFrom !== undefined;
      const resetsBefore = this.#resets;
      const uncertainBefore = this.intake.uncertainReads;
      const read = replaying ? await this.intake.readPending(this.#replayFrom!, count) : await this.intake.readNew(count, blockMs);
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
      lastReadEmpty = read.length === 0;
      if (entries.length === 0) continue;
      this.clock.enter('busy');
      const { parent, links } = traceOf(entries);
      if (creditWaitFromMs !== undefined) {
        recordCreditWait(parent, this.downstream.link, Math.max(creditWaitFromMs, entries[0]!.event.acceptedAtMs), creditWaitEndMs, entries.length);
      }
      const { span, carrier } = startSendSpan(parent, { link: this.downstream.link, events: entries.length, creditAvailable: credit }, links);
      try {
        const sent = await this.downstream.send(entries.map((entry) => entry.event), carrier);
        this.#inFlight.push({ generation: sent.generation, end: sent.offset + sent.count, ids: entries.map((entry) => entry.id) });
      } catch (error) {
        if (!(error instanceof LinkResetError)) throw error;
      } finally {
        span.end();
      }
    }
  }

  async #acknowledged(generation: number, offset: number): Promise<void> {
    const done: string[] = [];
    while (this.#inFlight.length > 0) {
      const head = this.#inFlight[0]!;
      if (head.generation === generation && head.end > offset) break;
      this.#inFlight.shift();
      if (head.generation === generation) done.push(...head.ids);
    }
    if (done.length === 0) return;
    for (const id of done) this.#removing.add(id);
    try {
      await this.intake.remove(done);
    } finally {
      for (const id of done) this.#removing.delete(id);
    }
    this.onRemoved(done.length);
  }

  #notInHand(entries: IntakeEntry[]): IntakeEntry[] {
    if (this.#inFlight.length === 0 && this.#removing.size === 0) return entries;
    const inHand = new Set(this.#removing);
    for (const batch of this.#inFlight) for (const id of batch.ids) inHand.add(id);
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

/** `work`, or a rejection as soon as `signal` aborts; the abort listener goes when `work` settles, so none pile up. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => { signal.removeEventListener('abort', abort); resolve(value); },
      (error: unknown) => { signal.removeEventListener('abort', abort); reject(error); },
    );
  });
}
