import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRedis, redisReady } from '../lib/storage/redis.js';
import { freshDatabase, randomName, redisUrl } from './helpers/testServers.js';
import { wireEvents, postEvents } from './helpers/httpEvents.js';

const launcher = fileURLToPath(new URL('../tools/launcher/main.js', import.meta.url));
const stages = ['source', 'enrichment', 'join', 'sink'] as const;

/** Ports for one `npm start`: the stages from `base`, their admin APIs from `base + 4`, the gateway at `base + 8`. */
function portsFrom(base: number) {
  return { base, adminBase: base + 4, gateway: base + 8 };
}
/** A base below Linux's ephemeral range (32768 and up), so no outgoing connection holds one of its ports. */
function randomBase(): number {
  return 20_000 + Math.floor(Math.random() * 1_200) * 10;
}

interface Launched {
  child: ChildProcess;
  lines: string[];
  database: Awaited<ReturnType<typeof freshDatabase>>;
  /** Sends SIGTERM and resolves with the launcher's exit status. */
  stop(): Promise<number | null>;
}

/**
 * Runs `node dist/tools/launcher/main.js` (what `npm start` runs after building) on a database and
 * a key prefix of its own, and resolves once it says the mesh is ready. Afterwards everything it
 * started is killed (it leads a process group of its own, which its services join), its keys are
 * removed and its database dropped.
 */
async function launch(t: TestContext, ports: ReturnType<typeof portsFrom>): Promise<Launched> {
  const database = await freshDatabase();
  const keyPrefix = `${randomName('mesh-launch-')}:`;
  const child = spawn(process.execPath, [launcher], {
    env: {
      ...process.env, DATABASE_URL: database.url, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: keyPrefix, SEED_USERS: '50', SEED_PRODUCTS: '20',
      MESH_BASE_PORT: String(ports.base), MESH_ADMIN_BASE_PORT: String(ports.adminBase), GATEWAY_PORT: String(ports.gateway), LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  t.after(async () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    const redis = createRedis(redisUrl, { name: 'launcher-test' });
    try {
      await redisReady(redis);
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
      await database.drop(); // DROP DATABASE … WITH (FORCE): connections its services left do not hold it
    }
  });
  const lines: string[] = [];
  const errors: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => errors.push(line));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('mesh ready')) resolve();
    });
    void exited.then(([code]) => reject(new Error(`launcher exited ${code}: ${[...lines, ...errors.slice(-20)].join('\n')}`)));
  });
  return {
    child, lines, database,
    stop: async () => {
      child.kill('SIGTERM');
      return (await exited)[0];
    },
  };
}

test('npm start: schema, seed, five services each announced with its address, and a clean stop on SIGTERM', { timeout: 90_000 }, async (t) => {
  const ports = portsFrom(randomBase());
  const { lines, database, stop } = await launch(t, ports);
  assert.ok(lines.includes('seeded 50 user profiles and 20 products'));
  for (const [index, name] of stages.entries()) {
    assert.ok(lines.includes(`${name} listening on 127.0.0.1:${ports.base + index}`), `${name} announced: ${lines.join(' | ')}`);
  }
  assert.ok(lines.includes(`gateway listening on http://127.0.0.1:${ports.gateway}`));

  const answer = await postEvents(`http://127.0.0.1:${ports.gateway}`, JSON.stringify(wireEvents(10, randomName('launch'), { users: 50, products: 20 })));
  assert.equal(answer.status, 202);

  assert.equal(await stop(), 0);
  const pool = database.pool();
  assert.equal(Number((await pool.query('SELECT count(*) FROM events')).rows[0].count), 10, 'what was accepted before the stop was committed');
});

test('npm start twice on one machine: MESH_BASE_PORT, MESH_ADMIN_BASE_PORT and GATEWAY_PORT keep the two meshes apart', { timeout: 90_000 }, async (t) => {
  const first = portsFrom(randomBase());
  const second = portsFrom(first.base + (first.base < 30_000 ? 1_000 : -1_000));
  const meshes = await Promise.all([launch(t, first), launch(t, second)]);
  for (const ports of [first, second]) {
    const gateway = `http://127.0.0.1:${ports.gateway}`;
    for (const [index, name] of stages.entries()) {
      const health = await fetch(`http://127.0.0.1:${ports.adminBase + index}/healthz`);
      assert.equal(health.status, 200, `${name}'s admin API answers on ${ports.adminBase + index}`);
    }
    // The gateway reaches its own stages' admin APIs, on the ports the base gave them.
    const pressure = (await (await fetch(`${gateway}/v1/pressure`)).json()) as { hops: Array<{ name: string; up: boolean }> };
    assert.deepEqual(pressure.hops.map(({ name, up }) => [name, up]), [['gateway', true], ...stages.map((name) => [name, true])]);
    const answer = await postEvents(gateway, JSON.stringify(wireEvents(5, randomName('two-meshes'), { users: 50, products: 20 })));
    assert.equal(answer.status, 202, `the gateway on ${ports.gateway} accepts events`);
  }
  assert.deepEqual(await Promise.all(meshes.map((mesh) => mesh.stop())), [0, 0]);
});
