import type pg from 'pg';
import type { Event__Output } from '../../lib/contract/loadContract.js';
import { booleanArrayLiteral, numberArrayLiteral, textArrayLiteral } from '../../lib/storage/arrayLiterals.js';

const floorTable = 'events_floor';

/** A scratch copy of `events` (its columns, defaults, keys and indexes) that the bare insert fills. */
export async function createFloorTable(pool: pg.Pool): Promise<void> {
  await pool.query(`CREATE TABLE ${floorTable} (LIKE events INCLUDING ALL)`);
}

const bareInsertStatement = `
INSERT INTO ${floorTable} (id, user_id, item_id, kind, event_time, price_cents, accepted_at, profile_found, profile_degraded,
                           user_segment, user_country, product_name, product_category, list_price_cents)
SELECT id, user_id, item_id, kind, to_timestamp(event_ms / 1000.0), price_cents, to_timestamp(accepted_ms / 1000.0),
       profile_found, profile_degraded, user_segment, user_country, product_name, product_category, list_price_cents
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::int8[], $7::float8[],
            $8::bool[], $9::bool[], $10::text[], $11::text[], $12::text[], $13::text[], $14::int8[])
  AS t(id, user_id, item_id, kind, event_ms, price_cents, accepted_ms, profile_found, profile_degraded,
       user_segment, user_country, product_name, product_category, list_price_cents)
ON CONFLICT DO NOTHING`;

/**
 * The floor any statement of the sink pays: the batch's rows inserted into the scratch copy of `events`
 * with `unnest … ON CONFLICT DO NOTHING`, nothing counted, no dead letters; resolves with the rows inserted.
 */
export async function bareInsert(pool: pg.Pool, events: Event__Output[]): Promise<number> {
  const texts = (field: (event: Event__Output) => string | null) => textArrayLiteral(events.map(field));
  const numbers = (field: (event: Event__Output) => number) => numberArrayLiteral(events.map(field));
  const booleans = (field: (event: Event__Output) => boolean) => booleanArrayLiteral(events.map(field));
  // Its parameters written as the sink writes its own, so that the two differ only in what Postgres does.
  const result = await pool.query({ name: 'bench-bare-insert', text: bareInsertStatement, values: [
    texts((e) => e.id), texts((e) => e.userId), texts((e) => e.itemId), texts((e) => e.kind),
    numbers((e) => e.eventTimeMs), numbers((e) => e.priceCents), numbers((e) => e.acceptedAtMs),
    booleans((e) => e.profile?.found ?? false), booleans((e) => e.profile?.degraded ?? false),
    texts((e) => e.profile?.segment ?? null), texts((e) => e.profile?.country ?? null),
    texts((e) => e.product!.name), texts((e) => e.product!.category), numbers((e) => e.product!.listPriceCents),
  ] });
  return result.rowCount ?? 0;
}
