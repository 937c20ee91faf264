/**
 * Redis and Postgres for the local launcher and the tests: the configured server when it answers,
 * otherwise a private throw-away instance in a temp folder. Shared servers are never stopped.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { adminUrlOf, ensureDatabase } from '../lib/storage/postgres.js';

export interface LocalServer {
  url: string;
  stop(): Promise<void>;
  /** True when this call started the server; stop() then shuts it down and removes its folder. */
  private: boolean;
  /** The private server's temp folder. */
  directory?: string;
}

const run = promisify(execFile);
const startAttempts = 3;

export async function ensureRedis(redisUrl: string): Promise<LocalServer> {
  if (await redisAnswers(redisUrl, 1_000)) return shared(redisUrl);
  const binary = findExecutable('redis-server');
  if (binary === undefined) {
    throw new Error(`Redis is not reachable at REDIS_URL=${redisUrl} and redis-server is not on PATH to start a private one`);
  }
  return withStartAttempts(() => startPrivateRedis(binary));
}

export async function ensurePostgres(databaseUrl: string): Promise<LocalServer> {
  if (await postgresAnswers(adminUrlOf(databaseUrl), 1_000)) {
    await ensureDatabase(databaseUrl);
    return shared(databaseUrl);
  }
  const binaries = findPostgresBinaries();
  if (binaries === undefined) {
    throw new Error(`Postgres is not reachable at DATABASE_URL=${databaseUrl} and initdb/pg_ctl were not found to start a private one`);
  }
  return withStartAttempts(() => startPrivatePostgres(binaries, databaseUrl));
}

function shared(url: string): LocalServer {
  return { url, stop: async () => {}, private: false };
}

async function startPrivateRedis(binary: string): Promise<LocalServer> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'mesh-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const child = spawn(binary, ['--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--port', String(port), '--dir', directory], {
    cwd: directory,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output = (output + chunk.toString()).slice(-4_000); });
  child.stderr!.on('data', (chunk: Buffer) => { output = (output + chunk.toString()).slice(-4_000); });
  const stop = async () => {
    await stopChild(child);
    await rm(directory, { recursive: true, force: true });
  };
  try {
    await waitUntil(() => redisAnswers(url, 500), 10_000, () => child.exitCode !== null);
  } catch (error) {
    await stop();
    throw new Error(`private redis-server did not start: ${(error as Error).message}\n${output}`);
  }
  return { url, stop: idempotent(stop), private: true, directory };
}

interface PostgresBinaries {
  initdb: string;
  pgCtl: string;
}

async function startPrivatePostgres(binaries: PostgresBinaries, databaseUrl: string): Promise<LocalServer> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'mesh-postgres-'));
  const dataDirectory = path.join(directory, 'data');
  const logFile = path.join(directory, 'postgres.log');
  const port = await freePort();
  // Postgres refuses to run as root: run its tools as the postgres user, in a folder it owns.
  const asPostgresUser = process.getuid?.() === 0;
  if (asPostgresUser) await chownToPostgres(directory);
  const postgresTool = (binary: string, args: string[]) => asPostgresUser
    ? run('runuser', ['-u', 'postgres', '--', binary, ...args], { cwd: directory })
    : run(binary, args, { cwd: directory });

  let mayBeRunning = false;
  const stop = async () => {
    if (mayBeRunning) await postgresTool(binaries.pgCtl, ['stop', '-D', dataDirectory, '-m', 'fast', '-w']).catch(() => {});
    await rm(directory, { recursive: true, force: true });
  };
  try {
    await postgresTool(binaries.initdb, ['-D', dataDirectory, '-U', 'postgres', '-A', 'trust', '--no-sync', '--no-locale', '-E', 'UTF8']);
    mayBeRunning = true; // a start that fails half-way may still leave a postmaster behind
    await postgresTool(binaries.pgCtl, [
      'start', '-D', dataDirectory, '-l', logFile, '-w', '-t', '30',
      '-o', `-p ${port} -k ${directory} -c listen_addresses=127.0.0.1 -c fsync=off`,
    ]);
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    url.username = 'postgres';
    url.password = '';
    await ensureDatabase(url.toString());
    return { url: url.toString(), stop: idempotent(stop), private: true, directory };
  } catch (error) {
    const serverLog = await readFile(logFile, 'utf8').catch(() => '');
    await stop();
    throw new Error(`private postgres did not start: ${(error as Error).message}\n${serverLog.slice(-4_000)}`, { cause: error });
  }
}

async function chownToPostgres(directory: string): Promise<void> {
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  await chown(directory, Number(uid.trim()), Number(gid.trim()));
}

async function redisAnswers(url: string, timeoutMs: number): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function postgresAnswers(url: string, timeoutMs: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (error) {
    // A server that answered with an error (bad credentials, ...) is there: starting another would hide the mistake.
    if (error instanceof pg.DatabaseError) throw error;
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function findExecutable(name: string, directories = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)): string | undefined {
  for (const directory of directories) {
    const candidate = path.join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function findPostgresBinaries(): PostgresBinaries | undefined {
  const fromPath = { initdb: findExecutable('initdb'), pgCtl: findExecutable('pg_ctl') };
  if (fromPath.initdb !== undefined && fromPath.pgCtl !== undefined) return { initdb: fromPath.initdb, pgCtl: fromPath.pgCtl };
  // Debian and Ubuntu keep them out of PATH, one folder per major version; prefer the newest.
  let versions: string[] = [];
  try {
    versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  } catch {
    return undefined;
  }
  for (const version of versions) {
    const bin = path.join('/usr/lib/postgresql', version, 'bin');
    const initdb = findExecutable('initdb', [bin]);
    const pgCtl = findExecutable('pg_ctl', [bin]);
    if (initdb !== undefined && pgCtl !== undefined) return { initdb, pgCtl };
  }
  return undefined;
}

/** A port that was free a moment ago; a start that loses the race to it is retried. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP port available');
  return address.port;
}

async function withStartAttempts(start: () => Promise<LocalServer>): Promise<LocalServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= startAttempts) throw error;
    }
  }
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, givenUp: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (givenUp()) throw new Error('the process exited');
    if (Date.now() > deadline) throw new Error(`no answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** stop() may be called from several cleanup paths; only the first does the work. */
function idempotent(stop: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => (stopping ??= stop());
}
