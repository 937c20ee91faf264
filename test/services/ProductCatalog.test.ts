import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { Breaker } from '../../lib/breaker.js';
import { applyMigrations } from '../../lib/storage/migrate.js';
import { seedProducts } from '../../tools/seed.js';
import { ProductCatalog } from '../../services/join/ProductCatalog.js';
import { freshDatabase } from '../helpers/testServers.js';

let database: Awaited<ReturnType<typeof freshDatabase>>;
let pool: pg.Pool;
before(async () => {
  database = await freshDatabase();
  pool = database.pool();
  await applyMigrations(pool);
  await seedProducts(pool, 20);
});
after(() => database.drop());

/** The pool, and the ids of each query the catalog sends to Postgres through it. */
function recordingPool(): { pool: pg.Pool; asked: string[][] } {
  const asked: string[][] = [];
  const query = (text: string, values: [string[]]) => {
    asked.push(values[0]);
    return pool.query(text, values);
  };
  return { pool: { query } as unknown as pg.Pool, asked };
}

test('the join looks a batch up in one query, then from its bounded cache until the TTL passes; unknown products are cached too', async () => {
  const breaker = new Breaker('postgres', { timeoutMs: 5_000, errorThresholdPercentage: 50, resetTimeoutMs: 1_000, volumeThreshold: 5 });
  const postgres = recordingPool();
  const catalog = new ProductCatalog(postgres.pool, breaker, { maxEntries: 5, maxBytes: 1024 * 1024, ttlMs: 300 });
  const item2 = await pool.query("SELECT name FROM products WHERE id = 'item-2'");
  const first = await catalog.lookup(['item-1', 'item-2', 'item-1', 'item-404']);
  assert.deepEqual(postgres.asked, [['item-1', 'item-2', 'item-404']], 'one query for the whole batch');
  assert.equal(first.get('item-1')!.found, true);
  assert.equal(first.get('item-404')!.found, false);
  assert.equal(first.get('item-2')!.name, item2.rows[0].name);

  await catalog.lookup(['item-1', 'item-2', 'item-404']);
  assert.equal(postgres.asked.length, 1, 'served from the cache');
  await catalog.lookup(['item-3', 'item-4', 'item-5', 'item-6']);
  const seen = ['item-1', 'item-2', 'item-404', 'item-3', 'item-4', 'item-5', 'item-6'];
  await catalog.lookup(seen);
  assert.equal(postgres.asked.length, 3);
  assert.ok(postgres.asked[2]!.length >= seen.length - 5, `the cache stays within its bound: of ${seen.length} ids seen, ${postgres.asked[2]!.length} asked for again`);
  await new Promise((resolve) => setTimeout(resolve, 350));
  await catalog.lookup(['item-3']);
  assert.deepEqual(postgres.asked.at(-1), ['item-3'], 'an expired entry is fetched again');
  assert.equal(postgres.asked.length, 4);
  breaker.shutdown();
});

test('the product cache is bounded in bytes as well as entries: a flood of distinct long unknown ids cannot grow it past its byte bound', async () => {
  const breaker = new Breaker('postgres', { timeoutMs: 5_000, errorThresholdPercentage: 50, resetTimeoutMs: 1_000, volumeThreshold: 5 });
  const maxBytes = 256 * 1024;
  const postgres = recordingPool();
  const catalog = new ProductCatalog(postgres.pool, breaker, { maxEntries: 100_000, maxBytes, ttlMs: 60_000 });
  const flood: string[] = [];
  for (let batch = 0; batch < 20; batch += 1) {
    const ids = Array.from({ length: 100 }, (_, i) => `unknown-${batch}-${i}-${'x'.repeat(480)}`);
    const found = await catalog.lookup(ids);
    assert.equal(found.get(ids[0]!)!.found, false);
    flood.push(...ids);
  }
  // What the cache still holds is what it answers without asking Postgres again.
  await catalog.lookup(flood);
  const askedAgain = new Set(postgres.asked.at(-1));
  const kept = flood.filter((id) => !askedAgain.has(id));
  const keptBytes = kept.reduce((sum, id) => sum + 2 * id.length, 0);
  assert.ok(keptBytes <= maxBytes, `the ids kept alone take ${keptBytes} bytes (two a UTF-16 unit), bound ${maxBytes}`);
  assert.ok(kept.length < 2_000, `${kept.length} of 2000 distinct ids kept`);
  breaker.shutdown();
});
