// npm start: the whole mesh on this machine, on its default ports.
import { Environment, ConfigError, exitForConfigError } from '../../lib/config.js';
import { defaultAdminPorts, defaultGatewayPort, defaultPorts, stageNames, type StageName } from '../../lib/service/stages.js';
import { applyMigrations } from '../../lib/storage/migrate.js';
import { createPool, readDatabaseUrl } from '../../lib/storage/postgres.js';
import { createRedis, readKeyPrefix, readRedisUrl, redisReady } from '../../lib/storage/redis.js';
import { ensurePostgres, ensureRedis } from '../localServers.js';
import { seedProducts, seedProfiles } from '../seed.js';
import { Mesh, serviceNames } from './Mesh.js';

const env = new Environment();
const databaseUrl = readDatabaseUrl(env);
const redisUrl = readRedisUrl(env);
const keyPrefix = readKeyPrefix(env);
const users = env.integer('SEED_USERS', 1000, { min: 0, max: 10_000_000 });
const products = env.integer('SEED_PRODUCTS', 500, { min: 0, max: 10_000_000 });
const gatewayPort = env.integer('GATEWAY_PORT', defaultGatewayPort, { min: 1, max: 65_535 });
// The four stages listen on consecutive ports from here: source, enrichment, join, sink.
const basePort = env.integer('MESH_BASE_PORT', defaultPorts.source, { min: 1, max: 65_532 });
// The gateway's gRPC ingest, by default just below them (50050).
const ingestPort = env.integer('INGEST_PORT', basePort - 1, { min: 1, max: 65_535 });
// Their admin APIs, likewise, on consecutive ports from here (a second mesh on the machine moves all three).
const adminBasePort = env.integer('MESH_ADMIN_BASE_PORT', defaultAdminPorts.source, { min: 1, max: 65_532 });
// REPLACE_SOURCE, REPLACE_ENRICHMENT, REPLACE_JOIN, REPLACE_SINK: a command line run in place of that stage, from the
// project root, split on whitespace (no quoting), e.g. REPLACE_ENRICHMENT="/usr/bin/python3 examples/python-enrichment/enrichment.py".
const replace = Object.fromEntries(stageNames.flatMap((stage) => {
  const [command, ...args] = env.string(`REPLACE_${stage.toUpperCase()}`, '').split(/\s+/).filter(Boolean);
  return command ? [[stage, { command, args }]] : [];
}));
try {
  env.done();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  exitForConfigError('mesh', error);
}
const consecutivePorts = (first: number) => Object.fromEntries(stageNames.map((stage, index) => [stage, first + index])) as Record<StageName, number>;
const stagePorts = consecutivePorts(basePort);
const adminPorts = consecutivePorts(adminBasePort);
const allPorts = [...Object.values(stagePorts), ...Object.values(adminPorts), gatewayPort, ingestPort];
if (new Set(allPorts).size !== allPorts.length) {
  console.error(`mesh: MESH_BASE_PORT (${basePort}-${basePort + 3}), MESH_ADMIN_BASE_PORT (${adminBasePort}-${adminBasePort + 3}), GATEWAY_PORT (${gatewayPort}) and INGEST_PORT (${ingestPort}) overlap`);
  process.exit(2);
}

const postgres = await ensurePostgres(databaseUrl);
const redisServer = await ensureRedis(redisUrl);
if (postgres.private) console.log(`postgres (private, in ${postgres.directory}) on ${postgres.url}`);
if (redisServer.private) console.log(`redis (private, in ${redisServer.directory}) on ${redisServer.url}`);

const pool = createPool(postgres.url, { max: 2, applicationName: 'mesh-launcher' });
const redis = createRedis(redisServer.url, { name: 'mesh-launcher' });
await redisReady(redis);
await applyMigrations(pool);
await seedProfiles(redis, keyPrefix, users);
await seedProducts(pool, products);
await pool.end();
redis.disconnect();
console.log(`seeded ${users} user profiles and ${products} products`);

const mesh = await Mesh.start({
  databaseUrl: postgres.url,
  redisUrl: redisServer.url,
  keyPrefix,
  ports: { ...stagePorts, gateway: gatewayPort },
  adminPorts,
  ingestPort,
  replace,
  // Fault switches on, as a demo wants them; 10% of requests traced, unless the OTEL_* variables say otherwise.
  env: { FAULT_SWITCHES: 'on', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', ...(process.env as Record<string, string>) },
  onLine: (service, line) => { if (line.startsWith('{')) process.stderr.write(`${service} ${line}\n`); },
});
for (const name of serviceNames) console.log(`${name} listening on ${mesh.services[name].address}`);
console.log(`gateway gRPC ingest listening on ${mesh.ingestAddress}`);
console.log(`mesh ready: POST events to ${mesh.gatewayUrl}/v1/events (or stream them to the gRPC ingest); the pressure dashboard is ${mesh.gatewayUrl}/ (Ctrl-C stops everything)`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await mesh.stop();
  await redisServer.stop();
  await postgres.stop();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
