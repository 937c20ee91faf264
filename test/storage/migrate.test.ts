import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { applyMigrations } from '../../lib/storage/migrate.js';
import { freshDatabase } from '../helpers/testServers.js';

const tables = ['dead_letters', 'events', 'item_minute', 'products', 'schema_migrations'];

test('migrations apply once and are a no-op the second time', async (t) => {
  const database = await freshDatabase();
  t.after(() => database.drop());
  const pool = database.pool();

  assert.deepEqual(await applyMigrations(pool), ['001']);
  assert.deepEqual(await applyMigrations(pool), []);

  const { rows } = await pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
  );
  assert.deepEqual(rows.map((row) => row.table_name), tables);
  const index = await pool.query(`SELECT 1 FROM pg_indexes WHERE indexname = 'item_minute_top'`);
  assert.equal(index.rowCount, 1);
});

test('concurrent callers apply each migration exactly once', async (t) => {
  const database = await freshDatabase();
  t.after(() => database.drop());

  // Separate pools, as separate services starting together would have.
  const results = await Promise.all(Array.from({ length: 6 }, () => applyMigrations(database.pool())));

  assert.deepEqual(results.flat(), ['001']);
  const { rows } = await database.pool().query('SELECT version FROM schema_migrations');
  assert.deepEqual(rows, [{ version: '001' }]);
});

test('a failing migration is rolled back and not recorded', async (t) => {
  const database = await freshDatabase();
  const directory = await mkdtemp(path.join(os.tmpdir(), 'mesh-migrations-'));
  t.after(async () => {
    await database.drop();
    await rm(directory, { recursive: true, force: true });
  });
  await writeFile(path.join(directory, '001_first.sql'), 'CREATE TABLE first (id int);');
  await writeFile(path.join(directory, '002_broken.sql'), 'CREATE TABLE second (id int); SELECT no_such_function();');
  await writeFile(path.join(directory, 'README.md'), 'not a migration');
  const pool = database.pool();

  await assert.rejects(applyMigrations(pool, directory), /002_broken\.sql failed/);

  const { rows } = await pool.query('SELECT version FROM schema_migrations');
  assert.deepEqual(rows, [{ version: '001' }]);
  const second = await pool.query(`SELECT to_regclass('second') AS second`);
  assert.deepEqual(second.rows, [{ second: null }]);
});
