import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { Redis } from 'ioredis';
import { dropDatabase } from '../../lib/storage/postgres.js';
import { ensurePostgres, ensureRedis } from '../../tools/localServers.js';
import { adminUrl, databaseUrl, randomName, redisUrl } from '../helpers/testServers.js';

async function ping(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await redis.ping();
  } finally {
    redis.disconnect();
  }
}

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

test('ensureRedis returns the shared server when it answers', async () => {
  const server = await ensureRedis(redisUrl);
  assert.deepEqual({ url: server.url, private: server.private }, { url: redisUrl, private: false });
  await server.stop();
  assert.equal(await ping(redisUrl), 'PONG');
});

test('ensureRedis starts a private redis-server when the URL does not answer, and stop removes it', async (t) => {
  const server = await ensureRedis('redis://127.0.0.1:1');
  t.after(() => server.stop());
  assert.equal(server.private, true);
  assert.notEqual(server.url, 'redis://127.0.0.1:1');
  assert.ok(server.directory !== undefined && existsSync(server.directory));
  assert.equal(await ping(server.url), 'PONG');

  await server.stop();

  assert.equal(existsSync(server.directory), false);
  await assert.rejects(ping(server.url));
});

test('ensurePostgres returns the shared server and creates the database it names', async (t) => {
  const name = randomName('mesh_test_');
  t.after(() => dropDatabase(adminUrl, name));
  const url = databaseUrl(name);

  const server = await ensurePostgres(url);

  assert.deepEqual({ url: server.url, private: server.private }, { url, private: false });
  assert.deepEqual((await query(url, 'SELECT current_database() AS name')).rows, [{ name }]);
  await server.stop();
  assert.equal((await query(adminUrl, 'SELECT 1 AS up')).rowCount, 1);
});

test('ensurePostgres starts a private cluster when the URL does not answer, and stop removes it', { timeout: 60_000 }, async (t) => {
  const server = await ensurePostgres('postgres://postgres@127.0.0.1:1/mesh_private_test');
  t.after(() => server.stop());
  assert.equal(server.private, true);
  assert.deepEqual((await query(server.url, 'SELECT current_database() AS name')).rows, [{ name: 'mesh_private_test' }]);
  assert.ok(server.directory !== undefined && existsSync(server.directory));

  await query(server.url, 'CREATE TABLE probe (id int PRIMARY KEY)');
  await query(server.url, 'INSERT INTO probe VALUES (1)');
  assert.deepEqual((await query(server.url, 'SELECT id FROM probe')).rows, [{ id: 1 }]);

  await server.stop();

  assert.equal(existsSync(server.directory), false);
  await assert.rejects(query(server.url, 'SELECT 1'));
});
