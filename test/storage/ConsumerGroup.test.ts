import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Breaker } from '../../lib/breaker.js';
import { ConsumerGroup } from '../../lib/storage/ConsumerGroup.js';
import { createRedis, isPermanentRedisError, redisReady } from '../../lib/storage/redis.js';
import { randomName, redisUrl } from '../helpers/testServers.js';

test('a consumer group reads new entries once, keeps them pending until removed, and pages through the pending ones past those deleted meanwhile', async (t) => {
  const redis = createRedis(redisUrl, { name: 'consumer-group-test' });
  const blockingRedis = createRedis(redisUrl, { name: 'consumer-group-test-reader' });
  const breaker = new Breaker('redis', { timeoutMs: 5_000, errorThresholdPercentage: 50, resetTimeoutMs: 1_000, volumeThreshold: 5 }, isPermanentRedisError);
  const key = randomName('mesh-test-') + ':stream';
  t.after(async () => {
    breaker.shutdown();
    await redis.del(key);
    redis.disconnect();
    blockingRedis.disconnect();
  });
  await Promise.all([redisReady(redis), redisReady(blockingRedis)]);
  const group = new ConsumerGroup(redis, blockingRedis, breaker, key, 'readers', 'reader-1');
  await group.createGroup();
  await group.createGroup();

  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push((await redis.xadd(key, '*', 'n', String(i)))!);
  const read = await group.readNew(3, 100);
  assert.deepEqual(read.map(({ id, fields }) => [id, fields]), ids.slice(0, 3).map((id, i) => [id, ['n', String(i)]]));
  const buffers = await group.readNewBuffers(10, 100);
  assert.deepEqual(buffers.map(({ id, fields }) => [id, fields.map(String)]), [[ids[3], ['n', '3']]]);
  assert.deepEqual(await group.readNew(10, 50), [], 'every entry was delivered once');

  await group.remove([ids[0]!]);
  await redis.xdel(key, ids[2]!, ids[3]!);
  const first = await group.readPending('0', 2);
  assert.deepEqual(first.entries.map(({ id }) => id), [ids[1]], 'the removed entry is no longer pending; the deleted one is left out');
  assert.equal(first.lastId, ids[2], 'the page ends past the deleted entry');
  const second = await group.readPendingBuffers(first.lastId!, 2);
  assert.deepEqual(second, { entries: [], lastId: ids[3] });
  assert.deepEqual(await group.readPending(second.lastId!, 2), { entries: [], lastId: undefined });
  assert.equal(await redis.xlen(key), 1);
});
