import { runService } from '../../lib/service/runService.js';
import { runStage } from '../../lib/stage/runStage.js';
import { stageSettings } from '../../lib/stage/stageSettings.js';
import { createRedis, isPermanentRedisError, redisReady } from '../../lib/storage/redis.js';
import { InvalidProfile, ProfileStore } from './ProfileStore.js';

await runService('enrichment', async (env, kit) => {
  const settings = stageSettings(env, kit, '127.0.0.1:50052');
  const joinAddress = env.addresses('JOIN_ADDR', '127.0.0.1:50053');
  const redisUrl = env.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']);
  const keyPrefix = env.string('REDIS_KEY_PREFIX', 'mesh:');
  const mode = env.oneOf('ENRICHMENT_BREAKER_MODE', ['hold', 'degrade'] as const, 'hold');
  env.done();

  const redis = createRedis(redisUrl, { name: 'mesh-enrichment' });
  const breaker = kit.breaker('redis', isPermanentRedisError, () => redis.ping());
  // Started before Redis is up, it still starts, and holds until Redis answers.
  await redisReady(redis).catch(() => undefined);
  const profiles = new ProfileStore(redis, keyPrefix, breaker, mode);
  const stage = await runStage({
    ...settings,
    name: 'enrichment',
    downstream: { target: joinAddress, link: 'enrichment->join' },
    async process(events, trace, signal) {
      const found = await profiles.lookup(events.map((event) => event.userId), { trace, signal });
      return events.map((event) => {
        const profile = found.get(event.userId)!;
        if (profile instanceof InvalidProfile) return { ...event, deadLetter: { stage: 'enrichment', reason: `${profile.reason} (user ${event.userId})` } };
        return { ...event, profile };
      });
    },
  });
  return {
    address: stage.address,
    async stop() {
      await stage.stop();
      breaker.shutdown();
      redis.disconnect();
    },
  };
}, { adminAddress: '127.0.0.1:9102' });
