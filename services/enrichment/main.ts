import { runService } from '../../lib/service/runService.js';
import { defaultAddress, defaultAdminAddress } from '../../lib/service/stages.js';
import { runStage } from '../../lib/stage/runStage.js';
import { stageSettings } from '../../lib/stage/stageSettings.js';
import { createRedis, isPermanentRedisError, readKeyPrefix, readRedisUrl, redisReady } from '../../lib/storage/redis.js';
import { InvalidProfile, ProfileStore } from './ProfileStore.js';

await runService('enrichment', async (env, kit) => {
  const settings = stageSettings(env, kit, defaultAddress('enrichment'));
  const joinAddress = env.addresses('JOIN_ADDR', defaultAddress('join'));
  const redisUrl = readRedisUrl(env);
  const keyPrefix = readKeyPrefix(env);
  const mode = env.oneOf('ENRICHMENT_BREAKER_MODE', ['hold', 'degrade'] as const, 'hold');
  env.done();

  const redis = createRedis(redisUrl, { name: 'mesh-enrichment' });
  kit.closeOnStop(() => redis.disconnect());
  const breaker = kit.breaker('redis', isPermanentRedisError, () => redis.ping());
  // Started before Redis is up, it still starts, and holds until Redis answers.
  await redisReady(redis).catch(() => undefined);
  const profiles = new ProfileStore(redis, keyPrefix, breaker, mode);
  const stage = await runStage({
    ...settings,
    name: 'enrichment',
    downstream: { target: joinAddress, link: 'enrichment->join' },
    async process(events, trace, signal) {
      const found = await kit.pressure.clock.during('dependency', () => profiles.lookup(events.map((event) => event.userId), { trace, signal }));
      return events.map((event) => {
        const profile = found.get(event.userId)!;
        if (profile instanceof InvalidProfile) return { ...event, deadLetter: { stage: 'enrichment', reason: `${profile.reason} (user ${event.userId})` } };
        return { ...event, profile };
      });
    },
  });
  return { address: stage.address, stop: () => stage.stop() };
}, { adminAddress: defaultAdminAddress('enrichment') });
