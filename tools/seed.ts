/**
 * Loads user profiles into Redis and the product inventory into Postgres:
 *   npm run seed -- --users N --products M      (defaults 1000 and 500)
 * DATABASE_URL, REDIS_URL and REDIS_KEY_PREFIX say where.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { ConfigError, Environment, exitForConfigError } from '../lib/config.js';
import { applyMigrations } from '../lib/storage/migrate.js';
import { createPool, ensureDatabase, readDatabaseUrl } from '../lib/storage/postgres.js';
import { createRedis, profileKey, readKeyPrefix, readRedisUrl, redisReady, type Redis, type StoredProfile } from '../lib/storage/redis.js';

export interface Product {
  id: string;
  name: string;
  category: string;
  priceCents: number;
}

const segments = ['new', 'regular', 'vip'];
const countries = ['DE', 'FR', 'US', 'GB', 'JP', 'BR', 'IN'];
const categories = ['books', 'electronics', 'garden', 'toys', 'kitchen', 'sports'];
const adjectives = ['Red', 'Quiet', 'Rapid', 'Tiny', 'Solid', 'Bright', 'Classic', 'Smart'];
const nouns = ['Lamp', 'Kettle', 'Drone', 'Novel', 'Racket', 'Shovel', 'Puzzle', 'Speaker'];
const chunkSize = 1_000;

/** A fixed scramble of the index, so neighbouring users and products differ without randomness. */
function scramble(index: number, salt: number): number {
  return Math.imul(index ^ salt, 0x9e3779b1) >>> 0;
}

function pick<T>(values: readonly T[], index: number, salt: number): T {
  return values[scramble(index, salt) % values.length]!;
}

export function profileOf(userIndex: number): StoredProfile {
  return { segment: pick(segments, userIndex, 0x51), country: pick(countries, userIndex, 0xc0) };
}

export function productOf(itemIndex: number): Product {
  return {
    id: `item-${itemIndex}`,
    name: `${pick(adjectives, itemIndex, 0xad)} ${pick(nouns, itemIndex, 0x40)} ${itemIndex}`,
    category: pick(categories, itemIndex, 0xca),
    priceCents: 99 + (scramble(itemIndex, 0x9c) % 50_000),
  };
}

/** Writes the profiles of user-1..user-n at profileKey(prefix, ...). */
export async function seedProfiles(redis: Redis, prefix: string, n: number): Promise<void> {
  for (let start = 1; start <= n; start += chunkSize) {
    const keysAndValues: string[] = [];
    for (let index = start; index <= Math.min(n, start + chunkSize - 1); index++) {
      keysAndValues.push(profileKey(prefix, `user-${index}`), JSON.stringify(profileOf(index)));
    }
    await redis.mset(keysAndValues);
  }
}

/** Upserts item-1..item-m into products. */
export async function seedProducts(pool: pg.Pool, m: number): Promise<void> {
  for (let start = 1; start <= m; start += chunkSize) {
    const products: Product[] = [];
    for (let index = start; index <= Math.min(m, start + chunkSize - 1); index++) products.push(productOf(index));
    await pool.query(
      `INSERT INTO products (id, name, category, price_cents)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
       ON CONFLICT (id) DO UPDATE
         SET name = EXCLUDED.name, category = EXCLUDED.category, price_cents = EXCLUDED.price_cents`,
      [products.map((p) => p.id), products.map((p) => p.name), products.map((p) => p.category), products.map((p) => p.priceCents)],
    );
  }
}

class UsageError extends Error {}

function parseSeedArguments(args: string[]): { users: number; products: number } {
  let values: { users?: string; products?: string };
  try {
    ({ values } = parseArgs({ args, options: { users: { type: 'string' }, products: { type: 'string' } } }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return { users: positiveInteger('--users', values.users ?? '1000'), products: positiveInteger('--products', values.products ?? '500') };
}

function positiveInteger(option: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${option} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

async function main(): Promise<void> {
  let counts: { users: number; products: number };
  try {
    counts = parseSeedArguments(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`seed: ${error.message}\nusage: npm run seed -- [--users N] [--products M]\n`);
    process.exit(2);
  }
  const env = new Environment();
  const databaseUrl = readDatabaseUrl(env);
  const redisUrl = readRedisUrl(env);
  const prefix = readKeyPrefix(env);
  try {
    env.done();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    exitForConfigError('seed', error);
  }

  await ensureDatabase(databaseUrl);
  const pool = createPool(databaseUrl, { applicationName: 'seed' });
  const redis = createRedis(redisUrl, { name: 'seed' });
  try {
    await applyMigrations(pool);
    await redisReady(redis);
    await seedProfiles(redis, prefix, counts.users);
    await seedProducts(pool, counts.products);
    process.stdout.write(`seeded ${counts.users} profiles under ${prefix} and ${counts.products} products\n`);
  } finally {
    redis.disconnect();
    await pool.end();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: Error) => {
    process.stderr.write(`seed failed: ${error.message}\n`);
    process.exitCode = 1;
  });
}
