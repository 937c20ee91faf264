import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChaosMesh } from './chaosMesh.js';
import type { Answer, OpenLoad } from './openLoad.js';
import type { TcpProxyStats } from '../helpers/tcpProxy.js';

export interface Diagnostics { diagnostic(message: string): void }

/** Statuses the edge may answer while a dependency is down: never a 500, never a dropped request. */
export const edgeStatuses = new Set<Answer['status']>([202, 429, 503]);

export function difference(after: TcpProxyStats, before: TcpProxyStats): TcpProxyStats {
  return {
    connections: after.connections - before.connections,
    refused: after.refused - before.refused,
    active: after.active,
    bytesToServer: after.bytesToServer - before.bytesToServer,
    chunksToServer: after.chunksToServer - before.chunksToServer,
    bytesToClient: after.bytesToClient - before.bytesToClient,
    pauses: after.pauses - before.pauses,
  };
}

export function describeProxy(stats: TcpProxyStats): string {
  return `${stats.connections} connections forwarded, ${stats.refused} attempts reset, ${stats.chunksToServer} chunks / ${stats.bytesToServer} B to the server, ${stats.bytesToClient} B back`;
}

/** Events accepted (202) per second among answers received in [from, to). */
export function acceptedRate(load: OpenLoad, from: number, to: number): number {
  const events = load.answersReceived(from, to).filter((answer) => answer.status === 202).reduce((sum, answer) => sum + answer.events, 0);
  return events / Math.max((to - from) / 1000, 0.001);
}

/** The first 202 to a request sent at or after `since` (the mesh takes new events again), waiting up to `timeoutMs`. */
export async function firstAcceptedAfter(load: OpenLoad, since: number, timeoutMs: number): Promise<Answer | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = load.answersSent(since).filter((answer) => answer.status === 202).sort((a, b) => a.answeredAt - b.answeredAt)[0];
    if (found || Date.now() > deadline) return found;
    await sleep(25);
  }
}

export async function committedCount(run: ChaosMesh): Promise<number> {
  return Number((await run.pool.query('SELECT count(*) FROM events')).rows[0].count);
}

/**
 * Waits (up to `timeoutMs`) until every accepted id is committed and the intake
 * is empty, then asserts: each accepted id is in `events` exactly once, nothing
 * is there that was not offered, the intake has no entry left, pending or not.
 */
export async function assertDrainedExactlyOnce(run: ChaosMesh, load: OpenLoad, runId: string, t: Diagnostics, timeoutMs = 20_000): Promise<number> {
  const accepted = load.accepted;
  assert.equal(new Set(accepted).size, accepted.length, 'the load never reuses an id');
  const started = Date.now();
  let present = 0;
  let intakeLength = -1;
  while (Date.now() - started < timeoutMs) {
    present = Number((await run.pool.query('SELECT count(*) FROM events WHERE id = ANY($1)', [accepted])).rows[0].count);
    intakeLength = await run.redis.xlen(run.intakeKey);
    if (present === accepted.length && intakeLength === 0) break;
    await sleep(200);
  }
  const drainedMs = Date.now() - started;
  const [pending] = (await run.redis.xpending(run.intakeKey, 'mesh')) as [number];
  const total = await committedCount(run);
  const foreign = Number((await run.pool.query('SELECT count(*) FROM events WHERE id NOT LIKE $1', [`${runId}-%`])).rows[0].count);
  const dead = Number((await run.pool.query('SELECT count(*) FROM dead_letters')).rows[0].count);
  t.diagnostic(`drain: accepted ${accepted.length}, of them committed ${present}, events rows ${total} (offered ${load.offered}; rows beyond the accepted ones come from 503s whose events did reach the intake), intake ${intakeLength}, pending ${pending}, dead letters ${dead}, drained ${drainedMs} ms after the load stopped`);
  if (present !== accepted.length || intakeLength !== 0) {
    for (const name of ['source', 'enrichment', 'join', 'sink'] as const) {
      t.diagnostic(`${name} last lines:\n${run.recentLines(name).slice(-12).join('\n')}`);
    }
  }
  assert.equal(present, accepted.length, 'every accepted (202) event is committed (events.id is the primary key: at most once)');
  assert.equal(intakeLength, 0, 'the intake drains to 0');
  assert.equal(pending, 0, 'no intake entry is left pending');
  assert.equal(foreign, 0, 'nothing that was not offered');
  assert.ok(total <= load.offered, 'no more rows than events offered');
  assert.equal(dead, 0, 'no dead letters');
  return drainedMs;
}

export function assertEdgeAnswers(load: OpenLoad): void {
  const unexpected = load.answers.filter((answer) => !edgeStatuses.has(answer.status));
  assert.deepEqual(unexpected.map((answer) => answer.status), [], 'the gateway answers only 202, 429 or 503 (never 500, never a dropped connection)');
}

export function round(ms: number | undefined): string {
  return ms === undefined ? 'never' : `${Math.round(ms)} ms`;
}
