import pg from 'pg';
import type { Environment } from '../config.js';
import { createLogger } from '../log.js';

const log = createLogger('postgres');
const databaseNamePattern = /^[a-z_][a-z0-9_]*$/;

/** DATABASE_URL: the PostgreSQL database of the mesh. */
export function readDatabaseUrl(env: Environment): string {
  return env.url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/mesh', ['postgres:', 'postgresql:']);
}

export interface PoolOptions {
  max?: number;
  applicationName?: string;
}

export function createPool(databaseUrl: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    application_name: options.applicationName,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (server restart, network cut) is reported here; without a
  // listener it would crash the process. The pool replaces the client on the next checkout.
  pool.on('error', (error) => log.warn('idle postgres client failed', { error: error.message }));
  return pool;
}

/** Creates the database unless it already exists (also when another caller creates it at the same moment). */
export async function createDatabase(adminUrl: string, name: string): Promise<void> {
  assertDatabaseName(name);
  try {
    await withClient(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  } catch (error) {
    const code = (error as { code?: string }).code;
    // 42P04: it exists; 23505: a concurrent CREATE DATABASE of the same name won the catalog insert.
    if (code !== '42P04' && code !== '23505') throw error;
  }
}

/** Drops the database, terminating its open connections. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  assertDatabaseName(name);
  await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/** Creates the database a URL names, connecting to the `postgres` database of the same server. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  await createDatabase(adminUrlOf(databaseUrl), databaseNameOf(databaseUrl));
}

function databaseNameOf(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  assertDatabaseName(name);
  return name;
}

/** The same server and credentials, on the `postgres` maintenance database. */
export function adminUrlOf(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

function assertDatabaseName(name: string): void {
  if (!databaseNamePattern.test(name)) {
    throw new Error(`invalid database name ${JSON.stringify(name)}: expected ${databaseNamePattern}`);
  }
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {}); // the query below rejects with the same error
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

// SQLSTATE classes that describe the statement or its data, not the server: data exceptions,
// integrity violations, syntax or access rules, invalid SQL routine, external routine, program limits
// (a key too large for its index, say).
const permanentClasses = new Set(['22', '23', '42', '2F', '38', '39', '54']);

/** A failure retrying cannot fix (the data is wrong), as opposed to a server or network one. */
export function isPermanentPostgresError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && permanentClasses.has(code.slice(0, 2));
}
