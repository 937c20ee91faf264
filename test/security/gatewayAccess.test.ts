import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type pg from 'pg';
import { Registry } from 'prom-client';
import type { Breaker } from '../../lib/breaker.js';
import type { Event } from '../../lib/contract/loadContract.js';
import { ApiKeyring } from '../../lib/security/ApiKeyring.js';
import { RateLimiter, anonymousCaller } from '../../lib/security/RateLimiter.js';
import { NoCreditError, type IntakeClient } from '../../gateway/IntakeClient.js';
import { createHttpApi } from '../../gateway/httpApi.js';
import { EdgeTraffic } from '../../gateway/EdgeTraffic.js';
import type { MeshPressure } from '../../gateway/MeshPressure.js';
import type { PressureStream } from '../../gateway/PressureStream.js';
import { testAdmission, plentyOfCredit } from '../helpers/admission.js';
import { wireEvents } from '../helpers/httpEvents.js';

/** Stands in for the link to the source: takes everything, or answers that the mesh has no credit. */
class FakeIntake {
  readonly connected = true;
  atCapacity = false;
  taken = 0;
  /** Some credit is always free, so the refusal is decided once the events are parsed. */
  refusalForAnyRequest(): undefined {
    return undefined;
  }
  tooLarge(): undefined {
    return undefined;
  }
  refusedForCredit(): void {}
  async submit(events: Event[]): Promise<void> {
    if (this.atCapacity) throw new NoCreditError(7);
    this.taken += events.length;
  }
}

async function startGateway(keyring: ApiKeyring, rateLimiter: RateLimiter | undefined, intake: FakeIntake): Promise<{ server: Server; url: string }> {
  const server = createServer(createHttpApi({
    maxBodyBytes: 1 << 20, maxEvents: 1000, maxFieldBytes: 128,
    intake: intake as unknown as IntakeClient, pool: undefined as unknown as pg.Pool, databaseBreaker: undefined as unknown as Breaker,
    keyring, rateLimiter, admission: testAdmission(plentyOfCredit, keyring.enabled ? keyring.names : ['anonymous']),
    edge: new EdgeTraffic(new Registry()), pressure: { bottleneck: async () => null, intakeRoomSeconds: () => undefined } as unknown as MeshPressure, pressureStream: undefined as unknown as PressureStream, dashboard: new Map(),
  }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

async function post(url: string, count: number, token?: string): Promise<{ status: number; body: any; retryAfter: string | null; challenge: string | null }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${url}/v1/events`, { method: 'POST', headers, body: JSON.stringify(wireEvents(count, `access-${Math.random()}`)) });
  return { status: response.status, body: await response.json(), retryAfter: response.headers.get('retry-after'), challenge: response.headers.get('www-authenticate') };
}

describe('the gateway with keys and a rate limit', () => {
  const intake = new FakeIntake();
  const keyring = new ApiKeyring([{ name: 'alice', token: 'token-alice' }, { name: 'bob', token: 'token-bob' }]);
  let gateway: { server: Server; url: string };
  before(async () => { gateway = await startGateway(keyring, new RateLimiter({ eventsPerSecond: 1, burst: 100 }, keyring.names), intake); });
  after(() => gateway.server.close());

  test('/v1/* needs a valid bearer token (401 with a Bearer challenge); health and readiness stay open', async () => {
    const missing = await post(gateway.url, 1);
    assert.equal(missing.status, 401);
    assert.equal(missing.challenge, 'Bearer realm="flow-mesh"');
    assert.match(missing.body.error, /Authorization: Bearer/);
    const wrong = await post(gateway.url, 1, 'token-mallory');
    assert.equal(wrong.status, 401);
    assert.match(wrong.challenge!, /^Bearer .*error="invalid_token"/);
    assert.equal((await fetch(`${gateway.url}/v1/hot-items`)).status, 401);
    assert.equal((await fetch(`${gateway.url}/v1/no-such-route`)).status, 401, 'unauthenticated callers learn nothing of the routes');
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${gateway.url}/readyz`)).status, 200);
    assert.equal(intake.taken, 0);
  });

  test('a caller over its rate limit gets 429 naming its rate limit, with the seconds until it fits; another caller is unaffected', async () => {
    assert.equal((await post(gateway.url, 80, 'token-alice')).status, 202);
    const over = await post(gateway.url, 50, 'token-alice');
    assert.equal(over.status, 429);
    assert.match(over.body.error, /your rate limit \(1 events\/s, burst 100\)/);
    assert.ok(Number(over.retryAfter) >= 29 && Number(over.retryAfter) <= 30, `Retry-After ${over.retryAfter}`);
    assert.equal((await post(gateway.url, 100, 'token-bob')).status, 202);
    const never = await post(gateway.url, 101, 'token-bob');
    assert.equal(never.status, 413, 'more events than the burst can never fit');
  });

  test('tokens taken for a request the mesh then refuses for capacity are given back', async () => {
    const fresh = new ApiKeyring([{ name: 'carol', token: 'token-carol' }]);
    const ownIntake = new FakeIntake();
    const own = await startGateway(fresh, new RateLimiter({ eventsPerSecond: 1, burst: 100 }, fresh.names), ownIntake);
    try {
      ownIntake.atCapacity = true;
      const busy = await post(own.url, 100, 'token-carol');
      assert.equal(busy.status, 429);
      assert.equal(busy.retryAfter, '7', "the mesh's Retry-After, not the rate limit's");
      assert.match(busy.body.error, /the mesh is at capacity/);
      ownIntake.atCapacity = false;
      assert.equal((await post(own.url, 100, 'token-carol')).status, 202, 'the whole burst is still there');
    } finally {
      own.server.close();
    }
  });

  test('without keys the gateway is open, and a rate limit applies to everyone together', async () => {
    const openIntake = new FakeIntake();
    const open = await startGateway(new ApiKeyring([]), new RateLimiter({ eventsPerSecond: 1, burst: 10 }, [anonymousCaller]), openIntake);
    try {
      assert.equal((await post(open.url, 10)).status, 202);
      assert.equal((await post(open.url, 1, 'anything')).status, 429);
    } finally {
      open.server.close();
    }
  });
});
