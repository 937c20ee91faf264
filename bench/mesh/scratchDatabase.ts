import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { applyMigrations } from '../../lib/storage/migrate.js';
import { adminUrlOf, createDatabase, createPool, dropDatabase } from '../../lib/storage/postgres.js';

const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mesh';

/** A database of the benchmark's own, with the mesh's schema applied; drop() ends its pool and removes it. */
export interface ScratchDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** Creates a randomly named database on the server of DATABASE_URL (default the local one). */
export async function createScratchDatabase(options: { poolSize?: number } = {}): Promise<ScratchDatabase> {
  const adminUrl = adminUrlOf(serverUrl);
  const name = `mesh_bench_${randomBytes(6).toString('hex')}`;
  await createDatabase(adminUrl, name);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), { max: options.poolSize ?? 2, applicationName: 'mesh-bench' });
  let dropped: Promise<void> | undefined;
  const drop = () => (dropped ??= pool.end().finally(() => dropDatabase(adminUrl, name)));
  try {
    await applyMigrations(pool);
  } catch (error) {
    await drop();
    throw error;
  }
  return { name, url: url.toString(), pool, drop };
}
