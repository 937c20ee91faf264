import { readFileSync } from 'node:fs';
import type { Redis } from '../../lib/storage/redis.js';

/**
 * The pid of the Redis server `redis` is connected to, when that server runs on this machine (its
 * INFO process_id names a redis-server process here); undefined otherwise, so its CPU is not counted.
 */
export async function redisServerPid(redis: Redis): Promise<number | undefined> {
  const info = await redis.info('server');
  const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('redis-server') ? pid : undefined;
  } catch {
    return undefined;
  }
}
