import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedis, redisReady } from '../../lib/storage/redis.js';
import type { CutMode } from '../helpers/tcpProxy.js';
import { redisUrl } from '../helpers/testServers.js';
import { proxyToSharedRedis } from './chaosMesh.js';

// A command on its way when the connection drops must fail promptly, so the breaker around it
// counts a failure and a stage in degrade mode degrades at once; and it must not run later behind
// the caller's back (ioredis re-sends unanswered commands after a reconnect), when the caller has
// long given up on it or retried it. Through a proxy whose backend is down ('hangup': connections
// are accepted, then closed) ioredis's reconnect attempts connect, and without care the command
// waits for Redis to come back.
for (const mode of ['reset', 'hangup'] as CutMode[]) {
  test(`a Redis command in flight when the connection is lost fails at once and is not re-sent later (cut: ${mode})`, { timeout: 20_000 }, async (t) => {
    const proxy = await proxyToSharedRedis();
    const direct = createRedis(redisUrl, { name: 'connection-loss-direct' });
    const client = createRedis(proxy.url(redisUrl), { name: 'connection-loss-client' });
    const key = `mesh-chaos-${randomBytes(5).toString('hex')}:counter`;
    t.after(async () => {
      await direct.del(key);
      client.disconnect();
      direct.disconnect();
      await proxy.close();
    });
    await Promise.all([redisReady(direct), redisReady(client)]);

    proxy.delayMs = 300; // the command is still inside the proxy when the connection goes
    const sentAt = Date.now();
    const outcome = client.incr(key).then((value) => ({ value, ms: Date.now() - sentAt }), (error: Error) => ({ error: error.message, ms: Date.now() - sentAt }));
    await sleep(50);
    await proxy.cut(mode);
    const settled = await Promise.race([outcome, sleep(3_000).then(() => undefined)]);
    proxy.delayMs = 0;
    await proxy.restore();
    await redisReady(client, 5_000);
    await sleep(200);
    const counter = await direct.get(key);
    t.diagnostic(`the command ${settled ? `settled after ${settled.ms} ms: ${JSON.stringify(settled)}` : 'had not settled after 3 s'}; counter after reconnecting: ${counter}`);
    assert.ok(settled && 'error' in settled, 'the command failed while the connection was down, within 3 s');
    assert.ok(settled.ms < 1_500, `promptly (${settled.ms} ms)`);
    assert.equal(counter, null, 'and it did not run after the reconnect');
  });
}
