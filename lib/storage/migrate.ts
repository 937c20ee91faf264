import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

/** deploy/sql of the repository; this module runs from dist/lib/storage/. */
const defaultMigrationsDirectory = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'deploy', 'sql',
);

const migrationFilePattern = /^(\d{3})_.+\.sql$/;
// Any constant works; it only has to be the same in every service that migrates this database.
const migrationLockKey = 7_262_015_001;

interface Migration {
  version: string;
  file: string;
}

/**
 * Applies the NNN_*.sql files of the directory that are not yet recorded in schema_migrations, in
 * order, each in its own transaction; returns the versions (NNN) it applied. Services that start
 * together may all call it: the advisory lock makes them take turns, and each applies only what
 * the others have not.
 */
export async function applyMigrations(pool: pg.Pool, directory = defaultMigrationsDirectory): Promise<string[]> {
  const migrations = await listMigrations(directory);
  const applied: string[] = [];
  const client = await pool.connect();
  try {
    for (const migration of migrations) {
      if (await applyOne(client, migration, directory)) applied.push(migration.version);
    }
  } catch (error) {
    client.release(true); // its session may be mid-transaction: discard it rather than return it to the pool
    throw error;
  }
  client.release();
  return applied;
}

async function listMigrations(directory: string): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for (const file of (await readdir(directory)).sort()) {
    const version = migrationFilePattern.exec(file)?.[1];
    if (version === undefined) continue;
    if (migrations.at(-1)?.version === version) {
      throw new Error(`two migrations share version ${version} in ${directory}`);
    }
    migrations.push({ version, file });
  }
  return migrations;
}

async function applyOne(client: pg.PoolClient, migration: Migration, directory: string): Promise<boolean> {
  const sql = await readFile(path.join(directory, migration.file), 'utf8');
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
    if (done.rowCount === 0) {
      await client.query(sql);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [migration.version]);
    }
    await client.query('COMMIT');
    return done.rowCount === 0;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw new Error(`migration ${migration.file} failed: ${(error as Error).message}`, { cause: error });
  }
}
