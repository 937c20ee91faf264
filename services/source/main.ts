import { hostname } from 'node:os';
import { runService } from '../../lib/service/runService.js';
import { defaultAddress, defaultAdminAddress } from '../../lib/service/stages.js';
import { unlimitedCredit } from '../../lib/stage/meshMode.js';
import { serveUpstream } from '../../lib/stage/serveUpstream.js';
import { defaultMinWindow, latencyShares, readLatencyTargetMs, stageSettings } from '../../lib/stage/stageSettings.js';
import { drainFigures } from '../../lib/telemetry/HopPressure.js';
import { createRedis, intakeStreamKey, isPermanentRedisError, readKeyPrefix, readRedisUrl, redisReady } from '../../lib/storage/redis.js';
import { Intake } from './Intake.js';
import { IntakeReader } from './IntakeReader.js';
import { IntakeWriter } from './IntakeWriter.js';

await runService('source', async (env, kit) => {
  const settings = stageSettings(env, kit, defaultAddress('source'));
  const enrichmentAddress = env.addresses('ENRICHMENT_ADDR', defaultAddress('enrichment'));
  const redisUrl = readRedisUrl(env);
  const keyPrefix = readKeyPrefix(env);
  // About a second of the mesh's throughput on this machine: a deeper intake adds queueing latency (Little's law), not throughput.
  // Only the flow mode bounds the intake; the others take whatever comes, as pipelines without demand do.
  const maxIntakeLength = env.integer('INTAKE_MAX_LENGTH', settings.mode === 'flow' ? 20_000 : unlimitedCredit, { min: 1, max: unlimitedCredit });
  // Unique per source when several share the intake: the host's name unless told (a container's or pod's is its own).
  const consumer = env.string('SOURCE_CONSUMER', `source-${hostname()}`);
  const claimIdleMs = env.integer('SOURCE_CLAIM_IDLE_MS', 60_000, { min: 1_000, max: 86_400_000 });
  // Sized by time, the intake holds unread what the mesh reads in its share of the target (see IntakeWriter).
  const intakeSizing = { latencyShareMs: readLatencyTargetMs(env) / latencyShares, minWindow: Math.min(maxIntakeLength, env.integer('INTAKE_MIN_WINDOW', defaultMinWindow(settings.receiver.maxBatchEvents), { min: 1, max: unlimitedCredit })) };
  env.done();

  const redis = createRedis(redisUrl, { name: 'mesh-source' });
  kit.closeOnStop(() => redis.disconnect());
  const breaker = kit.breaker('redis', isPermanentRedisError, () => redis.ping());
  const blockingRedis = createRedis(redisUrl, { name: 'mesh-source-reader' });
  kit.closeOnStop(() => blockingRedis.disconnect());
  await Promise.all([redisReady(redis), redisReady(blockingRedis)]).catch(() => undefined);
  const intake = new Intake(redis, blockingRedis, breaker, intakeStreamKey(keyPrefix), 'mesh', consumer, kit.pressure.clock);
  await intake.createGroup();

  const upstream = await serveUpstream({ ...settings, name: 'source' });
  const inbound = upstream.links;
  // Counted in events once at start-up; afterwards the writer keeps the counts, resynced from Redis's entries (see IntakeWriter#resync).
  const writer = new IntakeWriter(intake, inbound, maxIntakeLength, await intake.count(), intakeSizing);
  const downstream = settings.wiring.outbound(consumer, { target: enrichmentAddress, link: 'source->enrichment' });
  const reader = new IntakeReader(intake, downstream, writer, kit.pressure.clock, (events) => kit.pressure.passedOn(events));
  kit.pressure.watchInbound(inbound);
  kit.pressure.watchOutbound(downstream);
  // In events, as of the last reading from Redis.
  const intakeFigures = { length: writer.length, capacity: maxIntakeLength, lag: writer.unread, pending: writer.length - writer.unread };
  kit.pressure.watchIntake(() => ({ ...intakeFigures, window: writer.window, ...drainFigures(writer.drain, intakeFigures.lag) }));
  kit.pressure.watchBehind(() => intakeFigures.lag > 0);
  const resizeTimer = setInterval(() => writer.resize(), 250);
  // Read once a second for the figures; a failed read keeps the last ones.
  const figuresTimer = setInterval(() => {
    const mark = writer.syncMark();
    intake.figures().then(({ length, pending }) => {
      writer.resync(length, pending, mark);
      Object.assign(intakeFigures, { length: writer.length, pending: writer.length - writer.unread, lag: writer.unread });
    }, () => undefined);
  }, 1_000);

  const stopping = new AbortController();
  const running = Promise.all([
    writer.run(settings.receiver.maxBatchEvents, stopping.signal),
    reader.run(settings.receiver.maxBatchEvents, 1_000, stopping.signal, claimIdleMs),
  ]);
  running.catch((error: unknown) => {
    if (stopping.signal.aborted) return;
    // The intake is durable and nothing is acknowledged before it is safe: exiting loses nothing, and a restart re-delivers.
    console.error(`source: intake loop failed: ${String(error)}`);
    process.exit(1);
  });
  return {
    address: upstream.address,
    async stop() {
      // Finish the write and the send in hand, let enrichment acknowledge what it holds, then let go of the gateway.
      stopping.abort();
      clearInterval(figuresTimer);
      clearInterval(resizeTimer);
      await running.catch(() => undefined);
      await downstream.close('source stopping');
      upstream.close('source stopping');
      settings.wiring.close();
    },
  };
}, { adminAddress: defaultAdminAddress('source') });
