import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { adminUrlOf, createDatabase, createPool, dropDatabase } from '../../lib/storage/postgres.js';

/** The shared servers the storage tests run against. */
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const adminUrl = adminUrlOf(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mesh');

export function randomName(prefix: string): string {
  return `${prefix}${randomBytes(6).toString('hex')}`;
}

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A database of its own for one test; drop() ends the pools and removes it. */
export async function freshDatabase(): Promise<{ url: string; pool(): pg.Pool; drop(): Promise<void> }> {
  const name = randomName('mesh_test_');
  await createDatabase(adminUrl, name);
  const url = databaseUrl(name);
  const pools: pg.Pool[] = [];
  return {
    url,
    pool: () => {
      const pool = createPool(url, { applicationName: 'storage-test' });
      pools.push(pool);
      return pool;
    },
    drop: async () => {
      await Promise.all(pools.map((pool) => pool.end()));
      await dropDatabase(adminUrl, name);
    },
  };
}
