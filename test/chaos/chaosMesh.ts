/**
 * A mesh under test whose services reach Redis and Postgres through TCP proxies
 * the test can cut, slow down and restore, and whose log lines are kept (with
 * breaker transitions parsed) for the test to assert on. The proxies stand in
 * front of the machine's shared servers, which are never stopped: an outage is
 * the proxy cutting its connections.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { applyMigrations } from '../../lib/storage/migrate.js';
import { createRedis, deleteKeysWithPrefix, redisReady, type Redis } from '../../lib/storage/redis.js';
import { seedProducts, seedProfiles } from '../../tools/seed.js';
import { Mesh, serviceNames, type ServiceName } from '../../tools/launcher/Mesh.js';
import { RecentLines } from '../helpers/RecentLines.js';
import { adminUrl, freshDatabase, redisUrl } from '../helpers/testServers.js';
import { TcpProxy } from '../helpers/tcpProxy.js';

export interface Route { redis?: TcpProxy; database?: TcpProxy }

export interface ChaosMeshOptions {
  users?: number;
  products?: number;
  /** Environment for every service, then for one. LOG_LEVEL is info unless given: breaker transitions are logged at info. */
  env?: Record<string, string>;
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Proxies every service reaches its stores through, then overrides for one service. */
  via?: Route;
  serviceVia?: Partial<Record<ServiceName, Route>>;
}

export type BreakerState = 'open' | 'half-open' | 'closed';
export interface BreakerTransition { service: ServiceName; dependency: string; state: BreakerState; at: number }
export interface LogRecord { service: ServiceName; at: number; level: string; component: string; message: string; fields: Record<string, unknown> }

export interface ChaosMesh {
  mesh: Mesh;
  /** Direct (not proxied) connections for the test's own checks. */
  pool: pg.Pool;
  redis: Redis;
  keyPrefix: string;
  intakeKey: string;
  databaseUrl: string;
  /** Every JSON log line of every service so far (bounded), oldest first. */
  records: LogRecord[];
  /** The last lines a service wrote, JSON or not, for a failure's diagnostics. */
  recentLines(service: ServiceName): string[];
  breakerTransitions(filter?: { service?: ServiceName; dependency?: string; since?: number; until?: number }): BreakerTransition[];
  /** Resolves with the first transition to `state` of the service's breaker at or after `since`, or undefined after `timeoutMs`. */
  waitForBreaker(service: ServiceName, state: BreakerState, since: number, timeoutMs: number): Promise<BreakerTransition | undefined>;
  /** Stops the mesh, then removes the database and every key of this run (proxies are the caller's). */
  dispose(): Promise<void>;
}

const maxRecords = 20_000;
const breakerMessages: Record<string, BreakerState> = {
  'breaker opened': 'open',
  'breaker half-open: probing': 'half-open',
  'breaker closed': 'closed',
};

/** A proxy in front of the shared Redis (REDIS_URL, default 127.0.0.1:6379). */
export function proxyToSharedRedis(): Promise<TcpProxy> {
  const url = new URL(redisUrl);
  return TcpProxy.start({ target: `${url.hostname}:${url.port || 6379}` });
}

/** A proxy in front of the shared PostgreSQL (DATABASE_URL, default 127.0.0.1:5432). */
export function proxyToSharedPostgres(): Promise<TcpProxy> {
  const url = new URL(adminUrl);
  return TcpProxy.start({ target: `${url.hostname}:${url.port || 5432}` });
}

export async function startChaosMesh(options: ChaosMeshOptions = {}): Promise<ChaosMesh> {
  const database = await freshDatabase();
  const pool = database.pool();
  const keyPrefix = `mesh-chaos-${randomBytes(5).toString('hex')}:`;
  const redis = createRedis(redisUrl, { name: 'mesh-chaos-test' });
  await redisReady(redis);
  await applyMigrations(pool);
  await seedProfiles(redis, keyPrefix, options.users ?? 200);
  await seedProducts(pool, options.products ?? 100);

  const records: LogRecord[] = [];
  const recent = new RecentLines();
  const onLine = (service: ServiceName, line: string) => {
    recent.record(service, line);
    if (!line.startsWith('{')) return;
    try {
      const { time, level, component, message, ...fields } = JSON.parse(line) as Record<string, unknown>;
      records.push({ service, at: Date.parse(String(time)), level: String(level), component: String(component), message: String(message), fields });
      if (records.length > maxRecords) records.splice(0, records.length - maxRecords);
    } catch {
      // not one of ours
    }
  };
  const routed = (route: Route | undefined): Record<string, string> => ({
    ...(route?.redis ? { REDIS_URL: route.redis.url(redisUrl) } : {}),
    ...(route?.database ? { DATABASE_URL: route.database.url(database.url) } : {}),
  });
  const serviceEnv: Partial<Record<ServiceName, Record<string, string>>> = {};
  for (const name of serviceNames) serviceEnv[name] = { ...routed(options.serviceVia?.[name]), ...options.serviceEnv?.[name] };

  let mesh: Mesh | undefined;
  const dispose = async () => {
    await mesh?.stop();
    await deleteKeysWithPrefix(redis, keyPrefix);
    redis.disconnect();
    await database.drop();
  };
  try {
    mesh = await Mesh.start({
      databaseUrl: database.url,
      redisUrl,
      keyPrefix,
      env: { LOG_LEVEL: 'info', OTEL_SDK_DISABLED: 'true', ...routed(options.via), ...options.env },
      serviceEnv,
      onLine,
    });
  } catch (error) {
    await dispose();
    throw error;
  }

  const breakerTransitions: ChaosMesh['breakerTransitions'] = (filter = {}) => records
    .filter((record) => record.component === 'breaker' && breakerMessages[record.message] !== undefined)
    .map((record) => ({ service: record.service, dependency: String(record.fields.dependency), state: breakerMessages[record.message]!, at: record.at }))
    .filter((transition) => (filter.service === undefined || transition.service === filter.service)
      && (filter.dependency === undefined || transition.dependency === filter.dependency)
      && transition.at >= (filter.since ?? 0) && transition.at <= (filter.until ?? Infinity));
  const waitForBreaker: ChaosMesh['waitForBreaker'] = async (service, state, since, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = breakerTransitions({ service, since }).find((transition) => transition.state === state);
      if (found || Date.now() > deadline) return found;
      await sleep(25);
    }
  };
  return { mesh, pool, redis, keyPrefix, intakeKey: `${keyPrefix}intake`, databaseUrl: database.url, records, recentLines: (service) => recent.of(service), breakerTransitions, waitForBreaker, dispose };
}


/**
 * The end of a test: the proxies heal first (a service stopping while its store is cut would hold
 * until it is killed), then the meshes stop and clean up, then the proxies close.
 */
export async function tearDown(proxies: TcpProxy[], runs: ChaosMesh[]): Promise<void> {
  for (const proxy of proxies) proxy.delayMs = 0;
  await Promise.all(proxies.map((proxy) => proxy.restore()));
  for (const run of runs) await run.dispose();
  await Promise.all(proxies.map((proxy) => proxy.close()));
}
