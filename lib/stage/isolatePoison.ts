import { asDeadLetter, eventRejection } from '../contract/eventRules.js';
import type { Event, Event__Output } from '../contract/loadContract.js';
import { createLogger } from '../log.js';
import type { Context } from '../telemetry/batchSpans.js';

export type ProcessBatch = (events: Event__Output[], trace: Context, signal: AbortSignal) => Promise<Event[]>;

/**
 * A hop's processing, made safe against poison. An event that breaks the
 * contract's rules becomes a dead letter before the hop sees it (the hop in
 * front may be someone else's program); dead letters pass through untouched.
 * A batch that throws is split in halves until the event that throws is alone;
 * that one becomes a dead letter and the rest goes on, so a poison pill neither
 * blocks the stream nor holds back the events around it. A hop that `passesOn`
 * nothing (the sink) gets dead letters to write, and checks what it writes itself.
 */
export function isolatingPoison(stage: string, process: ProcessBatch, passesOn: boolean): ProcessBatch {
  const log = createLogger(stage);

  async function processIsolating(events: Event__Output[], trace: Context, signal: AbortSignal): Promise<Event[]> {
    try {
      return await process(events, trace, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      if (events.length > 1) {
        const half = Math.ceil(events.length / 2);
        return [...(await processIsolating(events.slice(0, half), trace, signal)), ...(await processIsolating(events.slice(half), trace, signal))];
      }
      const reason = error instanceof Error ? error.message : String(error);
      log.warn('poison pill dead-lettered', { eventId: events[0]!.id, reason });
      const dead = asDeadLetter(events[0]!, stage, reason);
      if (passesOn) return [dead];
      return process([dead], trace, signal).catch((unrecordable: unknown) => {
        // Not even storable as a dead letter: the log is its only record, and the stream goes on.
        log.error('poison pill could not be dead-lettered; dropped', { eventId: dead.id, reason, error: String(unrecordable) });
        return [];
      });
    }
  }

  return async (events, trace, signal) => {
    if (!passesOn) return processIsolating(events, trace, signal);
    const live: Event__Output[] = [];
    const passed: Event[] = [];
    for (const event of events) {
      if (event.deadLetter) { passed.push(event); continue; }
      const reason = eventRejection(event);
      if (reason) passed.push(asDeadLetter(event, stage, reason));
      else live.push(event);
    }
    if (passed.length === 0) return processIsolating(events, trace, signal);
    const processed = live.length > 0 ? await processIsolating(live, trace, signal) : [];
    return [...processed, ...passed];
  };
}
