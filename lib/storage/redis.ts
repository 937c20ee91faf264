import { Redis } from 'ioredis';
import { createLogger } from '../log.js';

export type { Redis } from 'ioredis';

const log = createLogger('redis');

/** What is stored, as JSON, at profileKey. */
export interface Profile {
  segment: string;
  country: string;
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
  });
  // ioredis emits an error on every failed reconnect attempt; log each distinct failure once.
  let lastError: string | undefined;
  redis.on('error', (error: Error) => {
    if (error.message === lastError) return;
    lastError = error.message;
    log.warn('redis connection failed', { name: options.name, error: error.message });
  });
  redis.on('ready', () => {
    if (lastError !== undefined) log.info('redis connection restored', { name: options.name });
    lastError = undefined;
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
