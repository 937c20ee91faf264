import { Redis, type ChainableCommander } from 'ioredis';
import type { Environment } from '../config.js';
import { createLogger } from '../log.js';

export type { Redis } from 'ioredis';

const log = createLogger('redis');

/** What is stored, as JSON, at profileKey. */
export interface StoredProfile {
  segment: string;
  country: string;
}

/** REDIS_URL: the Redis of the mesh. */
export function readRedisUrl(env: Environment): string {
  return env.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']);
}

/** REDIS_KEY_PREFIX: what every key of the mesh in Redis starts with, so that meshes can share a Redis. */
export function readKeyPrefix(env: Environment): string {
  return env.string('REDIS_KEY_PREFIX', 'mesh:');
}

export function intakeStreamKey(prefix: string): string {
  return `${prefix}intake`;
}

export function profileKey(prefix: string, userId: string): string {
  return `${prefix}profile:${userId}`;
}

export function createRedis(redisUrl: string, options: { name?: string } = {}): Redis {
  const redis = new Redis(redisUrl, {
    connectionName: options.name,
    // Fail fast while Redis is down instead of queueing commands without bound: the breakers
    // around the calls turn failures into back-pressure.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: false,
    // Reconnect at most a second apart (ioredis's default backs off to 5 s): the breakers probe every
    // BREAKER_REDIS_RESET_MS (2 s), and a probe is wasted while the client still waits to reconnect to a
    // Redis that is back. One attempt per second per connection is still no storm.
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** (attempt - 1), 1_000) + Math.floor(Math.random() * 100),
  });
  // ioredis emits an error on every failed reconnect attempt; log each distinct failure once.
  let lastError: string | undefined;
  let connected = false;
  redis.on('error', (error: Error) => {
    if (error.message === lastError) return;
    lastError = error.message;
    log.warn('redis connection failed', { name: options.name, error: error.message });
  });
  redis.on('ready', () => {
    if (lastError !== undefined) log.info('redis connection restored', { name: options.name });
    lastError = undefined;
    connected = true;
  });
  // Commands on their way when a connection drops fail now. ioredis would keep them and re-send them
  // once it reconnects, which leaves them hanging while Redis is away when a reconnect attempt gets as
  // far as a TCP connection (a proxy or load balancer in front of a dead Redis accepts, then closes),
  // and then runs them after the caller's breaker has given up on them and the caller has retried:
  // an XADD appended twice, an XREADGROUP whose entries no one receives.
  redis.on('close', () => {
    if (!connected) return;
    connected = false;
    const lost = new Error('the connection to Redis was lost before it answered; the command may or may not have run');
    for (let item = redis.commandQueue.shift(); item !== undefined; item = redis.commandQueue.shift()) item.command.reject(lost);
  });
  return redis;
}

/**
 * Resolves once the client is connected. Without the offline queue, commands sent before then
 * fail at once, which is right for services behind breakers but not for one-shot tools.
 */
export function redisReady(redis: Redis, timeoutMs = 5_000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError = 'no answer';
    const onError = (error: Error) => { lastError = error.message; };
    const onReady = () => { settle(); resolve(); };
    const timer = setTimeout(() => {
      settle();
      reject(new Error(`redis not ready after ${timeoutMs} ms: ${lastError}`));
    }, timeoutMs);
    const settle = () => {
      clearTimeout(timer);
      redis.off('ready', onReady).off('error', onError);
    };
    redis.on('ready', onReady).on('error', onError);
  });
}

const transientReplies = ['LOADING', 'BUSY', 'TRYAGAIN', 'CLUSTERDOWN', 'MASTERDOWN', 'READONLY'];

/** Redis refused the command itself (say, WRONGTYPE): retrying cannot fix it, unlike a dropped connection. */
export function isPermanentRedisError(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'ReplyError') return false;
  return !transientReplies.some((reply) => error.message.startsWith(reply));
}

/** Runs the commands of `pipeline`, and fails with the first error among them as a single command would; resolves to their replies. */
export async function runPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = await pipeline.exec();
  const failed = results?.find(([error]) => error);
  if (failed) throw failed[0];
  return (results ?? []).map(([, reply]) => reply);
}

/** Deletes every key under `prefix` (a test's or a benchmark's own), a page at a time. */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
