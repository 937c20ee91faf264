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
let queries = 0;
before(async () => {
  database = await freshDatabase();
  pool = database.pool();
  await applyMigrations(pool);
  await seedProducts(pool, 20);
  pool.on('acquire', () => { queries += 1; });
});
after(() => database.drop());

test('the join looks a batch up in one query, then from its bounded cache until the TTL passes; unknown products are cached too', async () => {
  const breaker = new Breaker('postgres', { timeoutMs: 5_000, errorThresholdPercentage: 50, resetTimeoutMs: 1_000, volumeThreshold: 5 });
  const catalog = new ProductCatalog(pool, breaker, { maxEntries: 5, maxBytes: 1024 * 1024, ttlMs: 300 });
  const item2 = await pool.query("SELECT name FROM products WHERE id = 'item-2'");
  const before = queries;
  const first = await catalog.lookup(['item-1', 'item-2', 'item-1', 'item-404']);
  assert.equal(queries - before, 1, 'one query for the whole batch');
  assert.equal(first.get('item-1')!.found, true);
  assert.equal(first.get('item-404')!.found, false);
  assert.equal(first.get('item-2')!.name, item2.rows[0].name);

  await catalog.lookup(['item-1', 'item-2', 'item-404']);
  assert.equal(queries - before, 1, 'served from the cache');
  await catalog.lookup(['item-3', 'item-4', 'item-5', 'item-6']);
  assert.ok(catalog.cachedEntries <= 5, 'the cache stays within its bound');
  await new Promise((resolve) => setTimeout(resolve, 350));
  await catalog.lookup(['item-3']);
  assert.equal(queries - before, 3, 'an expired entry is fetched again');
  breaker.shutdown();
});

test('the product cache is bounded in bytes as well as entries: a flood of distinct long unknown ids cannot grow it past its byte bound', async () => {
  const breaker = new Breaker('postgres', { timeoutMs: 5_000, errorThresholdPercentage: 50, resetTimeoutMs: 1_000, volumeThreshold: 5 });
  const maxBytes = 256 * 1024;
  const catalog = new ProductCatalog(pool, breaker, { maxEntries: 100_000, maxBytes, ttlMs: 60_000 });
  for (let batch = 0; batch < 20; batch += 1) {
    const ids = Array.from({ length: 100 }, (_, i) => `unknown-${batch}-${i}-${'x'.repeat(480)}`);
    const found = await catalog.lookup(ids);
    assert.equal(found.get(ids[0]!)!.found, false);
  }
  assert.ok(catalog.cachedBytes <= maxBytes, `${catalog.cachedBytes} bytes cached, bound ${maxBytes}`);
  assert.ok(catalog.cachedEntries < 2_000, `${catalog.cachedEntries} of 2000 distinct ids kept`);
  breaker.shutdown();
});
