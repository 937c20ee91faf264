import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRedis } from '../lib/storage/redis.js';
import { freshDatabase, randomName, redisUrl } from './helpers/testServers.js';
import { wireEvents, postEvents } from './helpers/httpEvents.js';

const launcher = fileURLToPath(new URL('../tools/launcher/main.js', import.meta.url));

test('npm start: schema, seed, five services each announced with its address, and a clean stop on SIGTERM', { timeout: 90_000 }, async (t) => {
  const database = await freshDatabase();
  const keyPrefix = `${randomName('mesh-launch-')}:`;
  const basePort = 42_000 + Math.floor(Math.random() * 10_000);
  const gatewayPort = basePort + 10;
  const child = spawn(process.execPath, [launcher], {
    env: { ...process.env, DATABASE_URL: database.url, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: keyPrefix, SEED_USERS: '50', SEED_PRODUCTS: '20', MESH_BASE_PORT: String(basePort), GATEWAY_PORT: String(gatewayPort), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const redis = createRedis(redisUrl, { name: 'launcher-test' });
  t.after(async () => {
    child.kill('SIGKILL');
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await database.drop();
  });
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('mesh ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`launcher exited ${code}: ${lines.join('\n')}`)));
  });
  assert.ok(lines.includes('seeded 50 user profiles and 20 products'));
  for (const [name, port] of [['source', basePort], ['enrichment', basePort + 1], ['join', basePort + 2], ['sink', basePort + 3]] as const) {
    assert.ok(lines.includes(`${name} listening on 127.0.0.1:${port}`), `${name} announced: ${lines.join(' | ')}`);
  }
  assert.ok(lines.includes(`gateway listening on http://127.0.0.1:${gatewayPort}`));

  const answer = await postEvents(`http://127.0.0.1:${gatewayPort}`, JSON.stringify(wireEvents(10, randomName('launch'), { users: 50, products: 20 })));
  assert.equal(answer.status, 202);

  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  const pool = database.pool();
  assert.equal(Number((await pool.query('SELECT count(*) FROM events')).rows[0].count), 10, 'what was accepted before the stop was committed');
});
