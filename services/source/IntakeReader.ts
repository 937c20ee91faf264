import { createLogger } from '../../lib/log.js';
import type { LinkSender } from '../../lib/flow/LinkSender.js';
import { LinkResetError } from '../../lib/flow/linkErrors.js';
import type { Intake } from './Intake.js';

const log = createLogger('source');

interface InFlight { generation: number; end: number; ids: string[] }

/**
 * Intake → enrichment. Reads the intake only as fast as enrichment grants
 * credit; deletes entries once enrichment acknowledges them (which it does only
 * after the sink committed them); and after its own start or any reset of the
 * link, re-delivers every entry still pending before reading new ones.
 */
export class IntakeReader {
  readonly #inFlight: InFlight[] = [];
  #replayFrom: string | undefined = '0';
  #resets = 0;

  constructor(private readonly intake: Intake, private readonly downstream: LinkSender, private readonly onRemoved: (count: number) => void) {
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

  async run(maxBatchEvents: number, blockMs: number, signal: AbortSignal): Promise<void> {
    const stopped = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    stopped.catch(() => undefined);
    while (!signal.aborted) {
      const credit = await Promise.race([this.downstream.waitForCredit(), stopped]);
      const count = Math.min(credit, maxBatchEvents);
      const replaying = this.#replayFrom !== undefined;
      const resetsBefore = this.#resets;
      const entries = replaying ? await this.intake.readPending(this.#replayFrom!, count) : await this.intake.readNew(count, blockMs);
      // A reset during the read starts the replay over; the position of the old one is void.
      if (replaying && this.#resets === resetsBefore) this.#replayFrom = entries.length > 0 ? entries.at(-1)!.id : undefined;
      if (entries.length === 0) continue;
      try {
        const sent = await this.downstream.send(entries.map((entry) => entry.event));
        this.#inFlight.push({ generation: sent.generation, end: sent.offset + sent.count, ids: entries.map((entry) => entry.id) });
      } catch (error) {
        if (!(error instanceof LinkResetError)) throw error;
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
    await this.intake.remove(done);
    this.onRemoved(done.length);
  }
}
