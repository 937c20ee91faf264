import type pg from 'pg';
import { asDeadLetter, eventRejection } from '../../lib/contract/eventRules.js';
import type { Event__Output } from '../../lib/contract/loadContract.js';
import { booleanArrayLiteral, numberArrayLiteral, textArrayLiteral } from '../../lib/storage/arrayLiterals.js';

export interface DeadLetter { eventId: string; stage: string; reason: string; payload: string }

/** Why the sink cannot write an event, or undefined if it can. */
function rejectionReason(event: Event__Output): string | undefined {
  return eventRejection(event) ?? (event.product?.found ? undefined : `unknown product ${event.itemId}`);
}

// One statement, so one round trip and one transaction: the events that were
// really inserted (not those already there) are what item_minute counts, so a
// replay never counts twice; dead letters are idempotent on (stage, event_id).
const commitStatement = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::int8[], $7::float8[],
                       $8::bool[], $9::bool[], $10::text[], $11::text[], $12::text[], $13::text[], $14::int8[])
    AS t(id, user_id, item_id, kind, event_ms, price_cents, accepted_ms, profile_found, profile_degraded,
         user_segment, user_country, product_name, product_category, list_price_cents)
), inserted AS (
  INSERT INTO events (id, user_id, item_id, kind, event_time, price_cents, accepted_at, profile_found, profile_degraded,
                      user_segment, user_country, product_name, product_category, list_price_cents)
  SELECT id, user_id, item_id, kind, to_timestamp(event_ms / 1000.0), price_cents, to_timestamp(accepted_ms / 1000.0),
         profile_found, profile_degraded, user_segment, user_country, product_name, product_category, list_price_cents
  FROM input
  ON CONFLICT (id) DO NOTHING
  RETURNING item_id, event_time
), counted AS (
  INSERT INTO item_minute (item_id, minute, count)
  SELECT item_id, date_trunc('minute', event_time, 'UTC'), count(*) FROM inserted GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (item_id, minute) DO UPDATE SET count = item_minute.count + EXCLUDED.count
  RETURNING 1
), dead AS (
  INSERT INTO dead_letters (event_id, stage, reason, payload)
  SELECT * FROM unnest($15::text[], $16::text[], $17::text[], $18::jsonb[])
  ON CONFLICT (stage, event_id) DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM inserted)::int AS inserted, (SELECT count(*) FROM counted)::int AS counted, (SELECT count(*) FROM dead)::int AS dead`;

const deadlockDetected = '40P01';

// Postgres stores no NUL character in text or jsonb: a dead letter must be storable whatever made it one.
const withoutNul = (text: string) => text.replaceAll('\u0000', '\uFFFD');

function deadLetter(event: Event__Output, stage: string, reason: string): DeadLetter {
  const { deadLetter: why, ...payload } = asDeadLetter(event, stage, reason);
  return {
    eventId: withoutNul(payload.id || `intake:${payload.intakeId}`),
    stage: withoutNul(why!.stage),
    reason: withoutNul(why!.reason),
    // JSON writes a NUL as the escape \u0000, which jsonb refuses as well.
    payload: JSON.stringify(payload).replaceAll('\\u0000', '\\ufffd'),
  };
}

/** Writes a batch: good events to `events` and `item_minute`, the rest to `dead_letters`, atomically. */
export async function commitEvents(pool: pg.Pool, events: Event__Output[]): Promise<{ inserted: number; dead: number }> {
  const good: Event__Output[] = [];
  const dead: DeadLetter[] = [];
  for (const event of events) {
    const stage = event.deadLetter ? event.deadLetter.stage : 'sink';
    const reason = event.deadLetter ? event.deadLetter.reason : rejectionReason(event);
    if (reason) dead.push(deadLetter(event, stage, reason));
    else good.push(event);
  }
  const texts = (field: (event: Event__Output) => string | null) => textArrayLiteral(good.map(field));
  const numbers = (field: (event: Event__Output) => number) => numberArrayLiteral(good.map(field));
  const booleans = (field: (event: Event__Output) => boolean) => booleanArrayLiteral(good.map(field));
  const parameters = [
    texts((e) => e.id), texts((e) => e.userId), texts((e) => e.itemId), texts((e) => e.kind),
    numbers((e) => e.eventTimeMs), numbers((e) => e.priceCents), numbers((e) => e.acceptedAtMs || Date.now()),
    booleans((e) => e.profile?.found ?? false), booleans((e) => e.profile?.degraded ?? false),
    texts((e) => (e.profile?.found ? e.profile.segment : null)), texts((e) => (e.profile?.found ? e.profile.country : null)),
    texts((e) => e.product!.name), texts((e) => e.product!.category), numbers((e) => e.product!.listPriceCents),
    textArrayLiteral(dead.map((d) => d.eventId)), textArrayLiteral(dead.map((d) => d.stage)),
    textArrayLiteral(dead.map((d) => d.reason)), textArrayLiteral(dead.map((d) => d.payload)),
  ];
  for (let attempt = 1; ; attempt += 1) {
    try {
      // Named, so each connection parses and plans it once and then only binds and executes it.
      const { rows } = await pool.query<{ inserted: number; dead: number }>({ name: 'sink-commit-events', text: commitStatement, values: parameters });
      return rows[0]!;
    } catch (error) {
      // Concurrent batches may lock the same item_minute rows in another order; the loser retries.
      if ((error as { code?: string }).code !== deadlockDetected || attempt >= 5) throw error;
    }
  }
}
