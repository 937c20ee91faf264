import { createHash } from 'node:crypto';
import type { Event__Output } from './loadContract.js';

/**
 * The rules an event's fields obey, the same at the HTTP edge and at every
 * stage: the hop in front of a stage may be someone else's program.
 */
export const eventKinds = ['view', 'click', 'cart', 'purchase'] as const;

/**
 * The most UTF-8 bytes of an id, user id or item id. Postgres refuses a
 * btree key above about 2.7 KB (the sink's primary key and the dead letters'
 * unique key), and a bound in bytes is what other languages can check.
 */
export const maxFieldBytes = 512;

export interface FieldProblem { field: string; reason: string }

const controlCharacters = /[\u0000-\u001f]/;

/** Why `value` is not an acceptable id, user id or item id of at most `maxBytes` UTF-8 bytes, or undefined. */
export function textProblem(value: unknown, maxBytes = maxFieldBytes): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'required, a non-empty string';
  // A UTF-16 unit takes at most 3 bytes of UTF-8: most strings are decided without counting.
  if (value.length > maxBytes || (value.length * 3 > maxBytes && Buffer.byteLength(value, 'utf8') > maxBytes)) return `longer than ${maxBytes} bytes`;
  if (controlCharacters.test(value)) return 'contains control characters';
  return undefined;
}

export const isEventKind = (kind: unknown): boolean => eventKinds.includes(kind as (typeof eventKinds)[number]);
export const isEventTime = (ms: unknown): boolean => typeof ms === 'number' && Number.isSafeInteger(ms) && ms > 0;
export const isPrice = (cents: unknown): boolean => typeof cents === 'number' && Number.isSafeInteger(cents) && cents >= 0;

export const kindRule = `one of ${eventKinds.join(', ')}`;

/** The first rule `event` breaks (its field named as in events.proto), or undefined: what a stage checks before it depends on or writes a field. */
function eventProblem(event: Event__Output): FieldProblem | undefined {
  const texts = [['id', event.id], ['user_id', event.userId], ['item_id', event.itemId]] as const;
  for (const [field, value] of texts) {
    const reason = textProblem(value);
    if (reason) return { field, reason };
  }
  if (!isEventKind(event.kind)) return { field: 'kind', reason: kindRule };
  if (!isEventTime(event.eventTimeMs)) return { field: 'event_time_ms', reason: 'a positive integer of milliseconds since the epoch' };
  if (!isPrice(event.priceCents)) return { field: 'price_cents', reason: 'an integer >= 0' };
  return undefined;
}

/** `eventProblem` as a dead letter's reason. */
export function eventRejection(event: Event__Output): string | undefined {
  const problem = eventProblem(event);
  return problem && `invalid ${problem.field}: ${problem.reason}`;
}

/** The most characters of any other string a dead letter keeps: poison must travel and rest small. */
const maxDeadLetterString = 1_024;
const cut = (text: string, max = maxDeadLetterString) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** The digest an id that breaks the rules (too long for an index, say) is kept under. */
const digestId = (id: string) => `sha256:${createHash('sha256').update(id).digest('hex')}`;

/**
 * `event` as a dead letter of `stage`: an id that breaks the rules is replaced
 * by its digest and every other long string is cut, so the payload that goes
 * on to `dead_letters` is bounded whatever the poison carried.
 */
export function asDeadLetter(event: Event__Output, stage: string, reason: string): Event__Output {
  const { profile, product } = event;
  return {
    ...event,
    id: event.id && textProblem(event.id) ? digestId(event.id) : event.id,
    userId: cut(event.userId),
    itemId: cut(event.itemId),
    kind: cut(event.kind),
    intakeId: cut(event.intakeId, 64),
    profile: profile && { ...profile, segment: cut(profile.segment), country: cut(profile.country) },
    product: product && { ...product, name: cut(product.name), category: cut(product.category) },
    deadLetter: { stage: cut(stage, 64), reason: cut(reason) },
  };
}
