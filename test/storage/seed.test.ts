import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { applyMigrations } from '../../lib/storage/migrate.js';
import { createRedis, profileKey, redisReady, type Redis } from '../../lib/storage/redis.js';
import { productOf, profileOf, seedProducts, seedProfiles } from '../../tools/seed.js';
import { freshDatabase, randomName, redisUrl } from '../helpers/testServers.js';

async function keysUnder(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

test('seedProfiles writes exactly N profiles under the prefix', async (t) => {
  const prefix = randomName('mesh-test-') + ':';
  const redis = createRedis(redisUrl, { name: 'seed-test' });
  t.after(async () => {
    const keys = await keysUnder(redis, `${prefix}*`);
    for (let start = 0; start < keys.length; start += 1000) await redis.del(keys.slice(start, start + 1000));
    redis.disconnect();
  });
  await redisReady(redis);

  await seedProfiles(redis, prefix, 2_345);

  const keys = await keysUnder(redis, `${prefix}*`);
  assert.equal(keys.length, 2_345);
  assert.ok(keys.every((key) => key.startsWith(profileKey(prefix, 'user-'))));
  for (const index of [1, 1_000, 1_001, 2_345]) {
    const stored = await redis.get(profileKey(prefix, `user-${index}`));
    assert.deepEqual(JSON.parse(stored!), profileOf(index));
  }
  assert.equal(await redis.exists(profileKey(prefix, 'user-2346')), 0);
  assert.ok(['new', 'regular', 'vip'].every((segment) => [1, 2, 3, 4, 5, 6, 7, 8, 9].some((i) => profileOf(i).segment === segment)));
});

test('seedProducts upserts exactly M products, again without duplicates', async (t) => {
  const database = await freshDatabase();
  t.after(() => database.drop());
  const pool = database.pool();
  await applyMigrations(pool);

  await seedProducts(pool, 1_234);
  await seedProducts(pool, 1_234);

  const { rows: [count] } = await pool.query('SELECT count(*)::int AS n, min(price_cents) > 0 AS priced FROM products');
  assert.deepEqual(count, { n: 1_234, priced: true });
  const { rows: [first] } = await pool.query(`SELECT id, name, category, price_cents::int AS "priceCents" FROM products WHERE id = 'item-1'`);
  assert.deepEqual(first, productOf(1));
});

test('the seed command refuses arguments that are not positive integers, with exit code 2', () => {
  const seedScript = fileURLToPath(new URL('../../tools/seed.js', import.meta.url));
  for (const args of [['--users', '0'], ['--products', '-3'], ['--products=-3'], ['--users', '2.5'], ['--products', 'many'], ['--unknown', '1']]) {
    const result = spawnSync(process.execPath, [seedScript, ...args], { encoding: 'utf8' });
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /^seed: .+\nusage: npm run seed/s);
  }
});

test('the seed command checks where it seeds as the services do, and refuses a wrong address with exit code 2', () => {
  const seedScript = fileURLToPath(new URL('../../tools/seed.js', import.meta.url));
  const result = spawnSync(process.execPath, [seedScript], { env: { ...process.env, REDIS_URL: 'http://127.0.0.1:6379', DATABASE_URL: 'nowhere' }, encoding: 'utf8' });
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /^seed: invalid configuration:/);
  assert.match(result.stderr, /DATABASE_URL must be a URL/);
  assert.match(result.stderr, /REDIS_URL must be a redis: or rediss: URL/);
});
