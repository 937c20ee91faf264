import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import type { Event__Output } from '../../lib/contract/loadContract.js';
import { applyMigrations } from '../../lib/storage/migrate.js';
import { commitEvents } from '../../services/sink/commitEvents.js';
import { freshDatabase } from '../helpers/testServers.js';

function joinedEvent(id: string, itemId: string, minute: number): Event__Output {
  return {
    id, userId: 'user-1', itemId, kind: 'view', eventTimeMs: Date.UTC(2026, 10, 26, 12, minute, 30), priceCents: 100, acceptedAtMs: Date.now(), intakeId: '1-0',
    profile: { found: true, segment: 'vip', country: 'DE', degraded: false },
    product: { found: true, name: 'Lamp', category: 'home', listPriceCents: 120 },
    deadLetter: null, priorityClass: '', producerKey: '',
  };
}

describe('the sink commit', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let pool: pg.Pool;
  before(async () => {
    database = await freshDatabase();
    pool = database.pool();
    await applyMigrations(pool);
  });
  after(() => database.drop());

  test('a replayed batch is written once and counted once in item_minute', async () => {
    const batch = [joinedEvent('c1', 'item-1', 0), joinedEvent('c2', 'item-1', 0), joinedEvent('c3', 'item-2', 1)];
    assert.deepEqual(await commitEvents(pool, batch), { inserted: 3, counted: 2, dead: 0 });
    assert.deepEqual(await commitEvents(pool, [...batch, joinedEvent('c4', 'item-1', 0)]), { inserted: 1, counted: 1, dead: 0 });
    const counts = await pool.query("SELECT item_id, minute, count::int FROM item_minute ORDER BY item_id");
    assert.deepEqual(counts.rows.map((row) => [row.item_id, row.minute.toISOString(), row.count]), [
      ['item-1', '2026-11-26T12:00:00.000Z', 3],
      ['item-2', '2026-11-26T12:01:00.000Z', 1],
    ]);
  });

  test('events it cannot write go to dead_letters with the reason, once, and the rest of the batch is written', async () => {
    const unknown = { ...joinedEvent('d1', 'item-9', 2), product: { found: false, name: '', category: '', listPriceCents: 0 } };
    const badPrice = { ...joinedEvent('d2', 'item-1', 2), priceCents: -3 };
    const good = joinedEvent('d3', 'item-1', 2);
    assert.deepEqual(await commitEvents(pool, [unknown, badPrice, good]), { inserted: 1, counted: 1, dead: 2 });
    assert.deepEqual(await commitEvents(pool, [unknown, badPrice]), { inserted: 0, counted: 0, dead: 0 });
    const dead = await pool.query('SELECT event_id, stage, reason FROM dead_letters ORDER BY event_id');
    assert.deepEqual(dead.rows, [
      { event_id: 'd1', stage: 'sink', reason: 'unknown product item-9' },
      { event_id: 'd2', stage: 'sink', reason: 'invalid price_cents: an integer >= 0' },
    ]);
  });

  test('every field is written as it was, whatever characters it holds; an unfound profile writes no segment or country', async () => {
    const awkward = 'a "quoted", {braced} \\ back\\slash NULL ünïcødé 🎉';
    const written = {
      ...joinedEvent('w1"\\{,}', 'item-"1"', 4), userId: awkward, kind: 'click',
      profile: { found: true, segment: awkward, country: '', degraded: true },
      product: { found: true, name: awkward, category: 'NULL', listPriceCents: 0 },
    };
    const unfound = { ...joinedEvent('w2', 'item-1', 4), profile: { found: false, segment: 'ignored', country: 'ignored', degraded: false } };
    assert.deepEqual(await commitEvents(pool, [written, unfound]), { inserted: 2, counted: 2, dead: 0 });
    const { rows } = await pool.query(`SELECT id, user_id, item_id, kind, price_cents::int, profile_found, profile_degraded, user_segment, user_country,
      product_name, product_category, list_price_cents::int, event_time FROM events WHERE id IN ('w1"\\{,}', 'w2') ORDER BY id`);
    assert.deepEqual(rows, [
      {
        id: 'w1"\\{,}', user_id: awkward, item_id: 'item-"1"', kind: 'click', price_cents: 100, profile_found: true, profile_degraded: true,
        user_segment: awkward, user_country: '', product_name: awkward, product_category: 'NULL', list_price_cents: 0, event_time: new Date(written.eventTimeMs),
      },
      {
        id: 'w2', user_id: 'user-1', item_id: 'item-1', kind: 'view', price_cents: 100, profile_found: false, profile_degraded: false,
        user_segment: null, user_country: null, product_name: 'Lamp', product_category: 'home', list_price_cents: 120, event_time: new Date(unfound.eventTimeMs),
      },
    ]);
  });

  test('concurrent batches over the same items do not fail each other', async () => {
    const batches = Array.from({ length: 8 }, (_, b) => Array.from({ length: 50 }, (_, i) => joinedEvent(`p${b}-${i}`, `item-${(i * 7 + b) % 5}`, 3)));
    const results = await Promise.all(batches.map((batch) => commitEvents(pool, batch)));
    assert.equal(results.reduce((sum, result) => sum + result.inserted, 0), 400);
    const total = await pool.query("SELECT sum(count)::int AS total FROM item_minute WHERE minute = '2026-11-26T12:03:00Z'");
    assert.equal(total.rows[0].total, 400);
  });
});
