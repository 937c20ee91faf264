import { createServer } from 'node:http';
import { once } from 'node:events';
import { maxFieldBytes } from '../lib/contract/eventRules.js';
import { createLogger } from '../lib/log.js';
import { ApiKeyring } from '../lib/security/ApiKeyring.js';
import { readApiKeys } from '../lib/security/apiKeys.js';
import { readLinkCredentials } from '../lib/security/linkCredentials.js';
import { RateLimiter, anonymousCaller, readRateLimit } from '../lib/security/RateLimiter.js';
import { runService } from '../lib/service/runService.js';
import { defaultAddress, defaultAdminAddress, defaultGatewayPort, stageNames, type StageName } from '../lib/service/stages.js';
import { openOutbound, readRouting } from '../lib/stage/openOutbound.js';
import { createPool, isPermanentPostgresError, readDatabaseUrl } from '../lib/storage/postgres.js';
import { Admission } from './admission/Admission.js';
import { FairShares, readKeyWeights } from './admission/FairShares.js';
import { readPriorityPolicy } from './admission/priorityClasses.js';
import { readWaitingRoom } from './admission/WaitingRoom.js';
import { loadDashboard } from './dashboardFiles.js';
import { GrpcIngest } from './ingest/GrpcIngest.js';
import { EdgeTraffic } from './EdgeTraffic.js';
import { IntakeClient } from './IntakeClient.js';
import { createHttpApi } from './httpApi.js';
import { MeshPressure } from './MeshPressure.js';
import { PressureStream } from './PressureStream.js';

await runService('gateway', async (env, kit) => {
  const port = env.integer('GATEWAY_PORT', defaultGatewayPort, { min: 0, max: 65_535 });
  const host = env.string('GATEWAY_HOST', '127.0.0.1');
  const sourceAddress = env.addresses('SOURCE_ADDR', defaultAddress('source'));
  const databaseUrl = readDatabaseUrl(env);
  const limits = {
    maxBodyBytes: env.integer('MAX_BODY_BYTES', 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
    maxEvents: env.integer('MAX_EVENTS_PER_REQUEST', 1000, { min: 1, max: 100_000 }),
    maxFieldBytes: env.integer('MAX_FIELD_BYTES', 128, { min: 1, max: maxFieldBytes }),
  };
  const admins = Object.fromEntries(stageNames.map((stage) => [stage, env.addresses(`${stage.toUpperCase()}_ADMIN_ADDR`, defaultAdminAddress(stage))])) as Record<StageName, string>;
  const pressureIntervalMs = env.integer('PRESSURE_INTERVAL_MS', 1_000, { min: 100, max: 60_000 });
  const maxPressureStreams = env.integer('MAX_PRESSURE_STREAMS', 32, { min: 1, max: 10_000 });
  const databaseBreaker = kit.breaker('postgres', isPermanentPostgresError);
  const keyring = new ApiKeyring(readApiKeys(env));
  const rateLimit = readRateLimit(env);
  const linkCredentials = readLinkCredentials(env);
  const routing = readRouting(env);
  const callers = keyring.enabled ? keyring.names : [anonymousCaller];
  const priorityPolicy = readPriorityPolicy(env, keyring.names);
  const keyWeights = readKeyWeights(env, callers);
  const waitingRoom = readWaitingRoom(env, priorityPolicy.classes.length);
  const ingestAddress = env.address('INGEST_ADDR', '127.0.0.1:50050');
  const ingestCapacity = env.integer('INGEST_LINK_CAPACITY', Math.max(2_000, limits.maxEvents), { min: limits.maxEvents, max: 1_000_000 });
  const ingestMaxLinks = env.integer('INGEST_MAX_LINKS', 32, { min: 1, max: 1_024 });
  const openTimeoutMs = env.integer('OPEN_TIMEOUT_MS', 2_000, { min: 100, max: 600_000 });
  env.done();

  const log = createLogger('gateway');
  if (keyring.enabled) log.info('/v1/* requires a bearer token', { keys: keyring.names, rateLimit });
  else log.warn('no GATEWAY_API_KEYS: /v1/* is open to anyone, which is meant for local use only', { rateLimit });
  const rateLimiter = rateLimit && new RateLimiter(rateLimit, callers);

  const pool = createPool(databaseUrl, { max: 4, applicationName: 'mesh-gateway' });
  kit.closeOnStop(() => pool.end());
  const intake = new IntakeClient(openOutbound('gateway', { target: sourceAddress, link: 'gateway->source', minWindow: limits.maxEvents }, { credentials: linkCredentials, routing }), kit.pressure);
  kit.pressure.watchOutbound(intake.outbound);
  const admission = new Admission(priorityPolicy, new FairShares(keyWeights), waitingRoom, () => intake.credit(), kit.metrics);
  intake.outbound.on('credit', () => waitingRoom.creditArrived());
  const edge = new EdgeTraffic(kit.metrics, kit.pressure, admission);
  const ingest = await GrpcIngest.start({
    listen: ingestAddress, capacity: ingestCapacity, maxLinks: ingestMaxLinks, maxBatchEvents: limits.maxEvents, maxBatchBytes: limits.maxBodyBytes,
    maxFieldBytes: limits.maxFieldBytes, openTimeoutMs, keyring, admission, intake, serverCredentials: linkCredentials.server,
  });
  log.info('gRPC ingest listening', { address: ingest.address, classes: priorityPolicy.classes.map(({ name, reserve }) => `${name}:${reserve}`).join(',') });
  const pressure = new MeshPressure(kit.pressure, kit.metrics, edge, kit.faults, admins);
  const pressureStream = new PressureStream(pressure, pressureIntervalMs, maxPressureStreams);
  const dashboard = loadDashboard();
  const server = createServer(createHttpApi({ ...limits, intake, admission, pool, databaseBreaker, keyring, rateLimiter, edge, pressure, pressureStream, dashboard, clock: kit.pressure.clock }));
  server.keepAliveTimeout = 65_000;
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  return {
    address: `http://${host}:${boundPort}`,
    async stop() {
      // Stop taking requests, let those in hand get their answer (bounded), then let go of the source.
      const answered = new Promise<void>((resolve) => server.close(() => resolve()));
      pressureStream.close();
      server.closeIdleConnections();
      waitingRoom.close();
      await Promise.race([answered, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
      ingest.close('the gateway is stopping');
      await intake.close();
      edge.stop();
      admission.stop();
    },
  };
});
