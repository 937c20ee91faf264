import type { Event } from '../lib/contract/loadContract.js';
import { isEventKind, isEventTime, isPrice, kindRule, textProblem } from '../lib/contract/eventRules.js';

export interface EventError { index: number; field?: string; reason: string }

export interface ParseLimits {
  maxEvents: number;
  /** The most UTF-8 bytes of an id, user id or item id (at most the contract's maxFieldBytes). */
  maxFieldBytes: number;
}

export type Parsed =
  | { ok: true; events: Event[] }
  | { ok: false; status: 400 | 413 | 415; error: string; errors: EventError[] };

/**
 * Turns a request body (a JSON array, or NDJSON: one event per line) into
 * events, or into every reason it cannot: nothing is taken from a body with
 * any invalid event.
 */
export function parseEvents(body: string, contentType: string, limits: ParseLimits): Parsed {
  const records = contentType === 'application/x-ndjson' ? parseNdjson(body) : contentType === 'application/json' ? parseJsonArray(body) : undefined;
  if (!records) return { ok: false, status: 415, error: 'Content-Type must be application/json (an array of events) or application/x-ndjson', errors: [] };
  if ('error' in records) return { ok: false, status: 400, error: records.error, errors: records.errors };
  if (records.values.length === 0) return { ok: false, status: 400, error: 'no events', errors: [] };
  if (records.values.length > limits.maxEvents) {
    return { ok: false, status: 413, error: `at most ${limits.maxEvents} events per request, got ${records.values.length}`, errors: [] };
  }
  const errors: EventError[] = [];
  const events: Event[] = [];
  const seen = new Set<string>();
  records.values.forEach((value, index) => {
    const event = toEvent(value, index, limits, errors);
    if (!event) return;
    if (seen.has(event.id!)) errors.push({ index, field: 'id', reason: 'repeats an earlier event of this request' });
    seen.add(event.id!);
    events.push(event);
  });
  if (errors.length > 0) return { ok: false, status: 400, error: 'invalid events; none were accepted', errors };
  return { ok: true, events };
}

type Records = { values: unknown[] } | { error: string; errors: EventError[] };

function parseJsonArray(body: string): Records {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { error: `malformed JSON: ${(error as Error).message}`, errors: [] };
  }
  if (!Array.isArray(value)) return { error: 'the body must be a JSON array of events', errors: [] };
  return { values: value };
}

function parseNdjson(body: string): Records {
  const values: unknown[] = [];
  const errors: EventError[] = [];
  for (const line of body.split('\n')) {
    if (line.trim() === '') continue;
    try {
      values.push(JSON.parse(line));
    } catch (error) {
      errors.push({ index: values.length + errors.length, reason: `malformed JSON: ${(error as Error).message}` });
    }
  }
  return errors.length > 0 ? { error: 'malformed NDJSON; none were accepted', errors } : { values };
}

function toEvent(value: unknown, index: number, limits: ParseLimits, errors: EventError[]): Event | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    errors.push({ index, reason: 'an event must be a JSON object' });
    return undefined;
  }
  const record = value as Record<string, unknown>;
  const before = errors.length;
  const text = (field: string): string => {
    const reason = textProblem(record[field], limits.maxFieldBytes);
    if (reason) errors.push({ index, field, reason });
    return reason ? '' : record[field] as string;
  };
  const id = text('id');
  const userId = text('user_id');
  const itemId = text('item_id');
  const kind = record.kind;
  if (!isEventKind(kind)) errors.push({ index, field: 'kind', reason: kindRule });
  const eventTimeMs = toEpochMs(record.event_time);
  if (eventTimeMs === undefined) errors.push({ index, field: 'event_time', reason: 'required, an RFC 3339 timestamp or milliseconds since the epoch' });
  const price = record.price_cents;
  if (!isPrice(price)) errors.push({ index, field: 'price_cents', reason: 'required, an integer >= 0' });
  if (errors.length > before) return undefined;
  return { id, userId, itemId, kind: kind as string, eventTimeMs, priceCents: price as number };
}

function toEpochMs(value: unknown): number | undefined {
  if (typeof value === 'number') return isEventTime(value) ? value : undefined;
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(value)) return undefined;
  const ms = Date.parse(value);
  return isEventTime(ms) ? ms : undefined;
}
