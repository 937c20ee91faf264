import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stageNames, type StageName } from '../../lib/service/stages.js';
import { ServiceProcess, type ServiceCommand } from './ServiceProcess.js';

export type ServiceName = StageName | 'gateway';
/** In the order they start: each stage after the one it sends to, the gateway last. */
export const serviceNames: readonly ServiceName[] = [...[...stageNames].reverse(), 'gateway'];

const compiledRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The project's own folder (package.json, proto/, examples/): where a replacement command runs. */
export const projectRoot = path.dirname(compiledRoot);
const scripts: Record<ServiceName, string> = {
  sink: 'services/sink/main.js',
  join: 'services/join/main.js',
  enrichment: 'services/enrichment/main.js',
  source: 'services/source/main.js',
  gateway: 'gateway/main.js',
};

/** A program run in place of a service, from the project root. */
export interface ReplacementCommand { command: string; args: string[] }

export interface MeshOptions {
  databaseUrl: string;
  redisUrl: string;
  keyPrefix: string;
  /** Fixed ports; free ones are picked for any left out. */
  ports?: Partial<Record<ServiceName, number>>;
  adminPorts?: Partial<Record<StageName, number>>;
  /** The gateway's gRPC ingest (INGEST_ADDR); a free one when left out. */
  ingestPort?: number;
  /** Environment for every service, then for one service. */
  env?: Record<string, string>;
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /**
   * Another implementation of a service: its compiled script, relative to the project's compiled
   * root (e.g. examples/plain-enrichment/main.js), or a command of any kind (e.g. `{ command:
   * '/usr/bin/python3', args: ['examples/python-enrichment/enrichment.py'] }`), run in the project
   * root. Either gets the environment of the service it replaces (LISTEN_ADDR, ADMIN_ADDR, the
   * *_ADDR of the others, REDIS_URL, REDIS_KEY_PREFIX, DATABASE_URL...) and must print
   * "<name> listening on <address>" on stdout (flushed) once it serves.
   */
  replace?: Partial<Record<ServiceName, string | ReplacementCommand>>;
  /** Replicas of a stage (default 1): each on ports of its own, all of them in the upstream's *_ADDR list. */
  replicas?: Partial<Record<StageName, number>>;
  /** Environment for one replica (0-based) of a stage, after everything else. */
  replicaEnv?: Partial<Record<StageName, Record<number, Record<string, string>>>>;
  onLine?: (service: ServiceName, line: string) => void;
}

/** The five services of the mesh as separate processes, wired to each other by address. */
export class Mesh {
  private constructor(
    /** The first replica of each stage, and the gateway. */
    readonly services: Record<ServiceName, ServiceProcess>,
    readonly ports: Record<ServiceName, number>,
    readonly adminPorts: Record<StageName, number>,
    /** Every replica of each stage. */
    readonly replicas: Record<StageName, Array<{ process: ServiceProcess; port: number; adminPort: number }>>,
    readonly ingestPort: number,
  ) {}

  /**
   * Starts the five services. A free port is found by binding it and letting it go, so another
   * process may take it first: a start that fails on a port in use is tried again on new ports.
   */
  static async start(options: MeshOptions): Promise<Mesh> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await Mesh.#startOnce(options);
      } catch (error) {
        if (attempt >= 3 || !String(error).includes('EADDRINUSE')) throw error;
      }
    }
  }

  static async #startOnce(options: MeshOptions): Promise<Mesh> {
    const ports = {} as Record<ServiceName, number>;
    for (const name of serviceNames) ports[name] = options.ports?.[name] ?? (await freePort());
    const adminPorts = {} as Record<StageName, number>;
    for (const name of stageNames) adminPorts[name] = options.adminPorts?.[name] ?? (await freePort());
    const ingestPort = options.ingestPort ?? (await freePort());
    const replicaPorts = {} as Record<StageName, Array<{ port: number; adminPort: number }>>;
    for (const name of stageNames) {
      replicaPorts[name] = [{ port: ports[name], adminPort: adminPorts[name] }];
      for (let replica = 1; replica < (options.replicas?.[name] ?? 1); replica += 1) replicaPorts[name].push({ port: await freePort(), adminPort: await freePort() });
    }
    const address = (name: ServiceName) => name === 'gateway' ? `127.0.0.1:${ports[name]}` : replicaPorts[name].map(({ port }) => `127.0.0.1:${port}`).join(',');
    // The gateway reads every replica's admin API.
    const adminAddress = (name: StageName) => replicaPorts[name].map(({ adminPort }) => `127.0.0.1:${adminPort}`).join(',');
    const common: Record<string, string> = {
      ...(process.env as Record<string, string>),
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      REDIS_KEY_PREFIX: options.keyPrefix,
      SOURCE_ADDR: address('source'),
      ENRICHMENT_ADDR: address('enrichment'),
      JOIN_ADDR: address('join'),
      SINK_ADDR: address('sink'),
      GATEWAY_PORT: String(ports.gateway),
      INGEST_ADDR: `127.0.0.1:${ingestPort}`,
      SOURCE_ADMIN_ADDR: adminAddress('source'),
      ENRICHMENT_ADMIN_ADDR: adminAddress('enrichment'),
      JOIN_ADMIN_ADDR: adminAddress('join'),
      SINK_ADMIN_ADDR: adminAddress('sink'),
      ...options.env,
    };
    const program = (name: ServiceName): string | ServiceCommand => {
      const replacement = options.replace?.[name] ?? scripts[name];
      if (typeof replacement === 'string') return path.join(compiledRoot, replacement);
      return { command: replacement.command, args: [...replacement.args], cwd: projectRoot };
    };
    const onLine = options.onLine as (service: string, line: string) => void;
    const replicas = {} as Mesh['replicas'];
    for (const name of stageNames) {
      replicas[name] = replicaPorts[name].map(({ port, adminPort }, index) => ({
        port,
        adminPort,
        process: new ServiceProcess(name, program(name), {
          ...common,
          LISTEN_ADDR: `127.0.0.1:${port}`,
          ADMIN_ADDR: `127.0.0.1:${adminPort}`,
          ...(name === 'source' ? { SOURCE_CONSUMER: `source-${index + 1}` } : {}),
          ...options.serviceEnv?.[name],
          ...options.replicaEnv?.[name]?.[index],
        }, onLine),
      }));
    }
    const services = {
      ...Object.fromEntries(stageNames.map((name) => [name, replicas[name][0]!.process])),
      gateway: new ServiceProcess('gateway', program('gateway'), { ...common, ...options.serviceEnv?.gateway }, onLine),
    } as Record<ServiceName, ServiceProcess>;
    const mesh = new Mesh(services, ports, adminPorts, replicas, ingestPort);
    try {
      for (const name of stageNames.slice().reverse()) for (const replica of replicas[name]) await replica.process.start();
      await services.gateway.start();
      await mesh.waitUntilReady();
    } catch (error) {
      await mesh.stop();
      throw error;
    }
    return mesh;
  }

  /** Resolves once the gateway says it is ready (its link to the source is open). */
  async waitUntilReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await fetch(`${this.gatewayUrl}/readyz`).then((response) => response.status, () => 0);
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`the gateway was not ready within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  get gatewayUrl(): string { return `http://127.0.0.1:${this.ports.gateway}`; }

  /** host:port of the gateway's gRPC ingest. */
  get ingestAddress(): string { return `127.0.0.1:${this.ingestPort}`; }

  address(name: StageName): string { return `127.0.0.1:${this.ports[name]}`; }

  /** host:port of a stage's admin API. */
  adminAddress(name: StageName): string { return `127.0.0.1:${this.adminPorts[name]}`; }

  /** Stops every service, the edge first, each given time to finish what it holds. */
  async stop(): Promise<void> {
    await this.services.gateway.stop('SIGTERM');
    for (const name of stageNames) for (const replica of this.replicas[name]) await replica.process.stop('SIGTERM');
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
