import { decodeUpstream } from '../../lib/contract/batchDecoder.js';
import { encodeUpstream } from '../../lib/contract/batchEncoder.js';
import type { Event, Event__Output } from '../../lib/contract/loadContract.js';

/**
 * One intake entry: the events of one accepted delivery, in the protobuf
 * encoding of the contract's Batch (as an Upstream frame, the form the
 * decoupled mode's topics use too), so its events, their dead letters and
 * accepted times and the batch's trace context round-trip exactly; and their
 * count beside it, for the intake's figures in events without decoding.
 */
export interface IntakeEntry {
  id: string;
  /** Each with intake id `<entry id>/<index>`: unique per event, for the sink's key of a dead letter with no id. */
  events: Event__Output[];
  /** The events the entry counts for in the intake's figures: as many as were written. */
  count: number;
  /** The W3C trace context of the delivery that brought it in (sampled ones only), so its trace goes on when it is read. */
  traceContext: Record<string, string> | undefined;
}

export const batchField = 'b';
export const countField = 'n';

/** The fields and values of an entry holding `events`, for XADD. */
export function intakeEntryFields(events: readonly Event[], traceContext: Record<string, string>): [string, string, string, Buffer] {
  const frame = encodeUpstream({ batch: { offset: 0, events: events as Event[], traceContext } });
  return [countField, String(events.length), batchField, frame];
}

/** The count an entry was written with (what it counts for), or undefined when it has none readable. */
export function storedCount(fields: ReadonlyArray<Buffer | string>): number | undefined {
  const stored = fieldValue(fields, countField);
  const count = stored === undefined ? NaN : Number(stored.toString());
  return Number.isSafeInteger(count) && count > 0 ? count : undefined;
}

/** An entry that does not decode still flows on as one dead letter, so the sink records it and the stream does not block on it. */
export function decodeIntakeEntry(id: string, fields: ReadonlyArray<Buffer | string>): IntakeEntry {
  const bytes = fieldValue(fields, batchField);
  let events: Event__Output[];
  let traceContext: Record<string, string> | undefined;
  try {
    if (bytes === undefined) throw new Error(`no field "${batchField}"`);
    const batch = decodeUpstream(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1')).batch;
    if (!batch || batch.events.length === 0) throw new Error('no events');
    events = batch.events;
    for (let index = 0; index < events.length; index += 1) events[index]!.intakeId = `${id}/${index}`;
    traceContext = batch.traceContext.traceparent ? batch.traceContext : undefined;
  } catch (error) {
    events = [{
      id: '', userId: '', itemId: '', kind: '', eventTimeMs: 0, priceCents: 0, acceptedAtMs: 0, intakeId: `${id}/0`, profile: null, product: null, priorityClass: '', producerKey: '',
      deadLetter: { stage: 'source', reason: `intake entry is not a valid event: ${(error as Error).message}` },
    }];
  }
  return { id, events, count: storedCount(fields) ?? events.length, traceContext };
}

function fieldValue(fields: ReadonlyArray<Buffer | string>, name: string): Buffer | string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString() === name) return fields[i + 1];
  return undefined;
}
