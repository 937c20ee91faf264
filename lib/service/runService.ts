import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { Breaker, breakerSettings } from '../breaker.js';
import { Environment, ConfigError, exitForConfigError } from '../config.js';
import { FaultSwitches } from '../faults.js';
import { createLogger, readLogLevel } from '../log.js';
import { HopPressure } from '../telemetry/HopPressure.js';
import { createMetricsRegistry } from '../telemetry/prometheusMetrics.js';
import { startTracing } from '../telemetry/tracing.js';
import { adminHandler, listenAdmin } from './adminServer.js';
import { ServiceHealth } from './ServiceHealth.js';

export interface StartedService {
  /** What it listens on, printed as "<name> listening on <address>". */
  address: string;
  /** Stops what is the service's own; its breakers and what it asked to have closed (closeOnStop) go after. */
  stop(): Promise<void>;
}

/** What every service gets from its process: its pressure figures, its fault switches, and breakers wired to both. */
export interface ServiceKit {
  pressure: HopPressure;
  faults: FaultSwitches;
  /** gRPC health (NOT_SERVING while a breaker is open or the service drains) and reflection, for a service's gRPC server. */
  health: ServiceHealth;
  /**
   * A breaker for `dependency` (redis, postgres), configured by BREAKER_<DEPENDENCY>_*, reported and subject to the
   * fault switches; `probe` (a trivial call) tells a batch the dependency refuses from a dependency that is down.
   * It is shut down after the service has stopped.
   */
  breaker(dependency: 'redis' | 'postgres', isPermanent: (error: unknown) => boolean, probe?: () => Promise<unknown>): Breaker;
  /** Closes a client of the service's (a Redis connection, a Postgres pool) after it has stopped and its breakers are shut down, in the order asked. */
  closeOnStop(close: () => unknown): void;
  metrics: ReturnType<typeof createMetricsRegistry>;
}

export interface ServiceOptions {
  /** Where the admin API (metrics, pressure, fault switches) listens by default; none for a service that serves them itself. */
  adminAddress?: string;
}

/**
 * The life of one service process: start tracing, read and validate its
 * configuration, start it and its admin API, say where it listens, and on
 * SIGTERM or SIGINT stop it gracefully (a second signal exits at once), shut
 * down its breakers, close its clients, then flush its spans.
 */
export async function runService(name: string, start: (env: Environment, kit: ServiceKit) => Promise<StartedService>, options: ServiceOptions = {}): Promise<void> {
  const log = createLogger(name);
  const tracing = startTracing(name);
  const env = new Environment();
  readLogLevel(env);
  const adminAddress = options.adminAddress && env.address('ADMIN_ADDR', options.adminAddress);
  // Which replica of its stage this process is, in every figure it reports: the host's name (a pod's is its own) and the admin port unless told.
  const replicaName = env.matching('REPLICA', '', /^([A-Za-z0-9][A-Za-z0-9._:-]{0,127})?$/, '1 to 128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit');
  const faults = new FaultSwitches(env.oneOf('FAULT_SWITCHES', ['on', 'off'] as const, 'off') === 'on', {
    slow_sink_ms: env.integer('SINK_DELAY_MS', 0, { min: 0, max: 60_000 }),
    slow_sink_us_per_event: env.integer('SINK_DELAY_US_PER_EVENT', 0, { min: 0, max: 100_000 }),
    redis_latency_ms: env.integer('REDIS_LATENCY_MS', 0, { min: 0, max: 60_000 }),
    postgres_failure_percent: env.integer('POSTGRES_FAILURE_PERCENT', 0, { min: 0, max: 100 }),
  });
  const pressure = new HopPressure(name, faults);
  const metrics = createMetricsRegistry(pressure);
  const health = new ServiceHealth();
  const breakers: Breaker[] = [];
  const clients: Array<() => unknown> = [];
  const kit: ServiceKit = {
    pressure, faults, metrics, health,
    breaker(dependency, isPermanent, probe) {
      const breaker = new Breaker(dependency, breakerSettings(env, dependency), isPermanent, faults, probe);
      pressure.watchBreaker(breaker);
      health.watch(breaker);
      breakers.push(breaker);
      return breaker;
    },
    closeOnStop(close) { clients.push(close); },
  };
  let service: StartedService;
  let admin: Server | undefined;
  try {
    service = await start(env, kit);
    const listening = adminAddress ? await listenAdmin(adminHandler({ pressure, faults, metrics }), adminAddress) : undefined;
    admin = listening?.server;
    pressure.replica = replicaName || (listening ? `${hostname()}:${listening.address.replace(/^.*:/, '')}` : hostname());
    metrics.setDefaultLabels({ stage: name, replica: pressure.replica });
  } catch (error) {
    if (error instanceof ConfigError) exitForConfigError(name, error);
    log.error('failed to start', { error: String(error) });
    process.exit(1);
  }
  console.log(`${name} listening on ${service.address}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info('stopping', { signal });
    try {
      health.drain();
      await service.stop();
      for (const breaker of breakers) breaker.shutdown();
      for (const close of clients) await close();
      admin?.close();
      admin?.closeAllConnections();
      pressure.stop();
      // Spans of the last batches go out, within a bound.
      await Promise.race([tracing.shutdown(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      process.exit(0);
    } catch (error) {
      log.error('stop failed', { error: String(error) });
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
