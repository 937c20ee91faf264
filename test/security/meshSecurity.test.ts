import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { startMeshUnderTest, type MeshUnderTest } from '../helpers/meshHarness.js';
import { wireEvents } from '../helpers/httpEvents.js';
import { createTestAuthority, linkTlsEnv, opensslAvailable, type TestAuthority } from './testCertificates.js';
import { tryOpen } from './tryOpen.js';

const token = () => `tok-${randomBytes(16).toString('hex')}`;

describe('a mesh with mutual TLS between its services and bearer tokens at its edge', { timeout: 60_000, skip: !opensslAvailable() && 'the openssl CLI is not installed' }, () => {
  const tokens = { alice: token(), bob: token() };
  const runId = `sec-${randomBytes(4).toString('hex')}`;
  let authority: TestAuthority;
  let run: MeshUnderTest;
  /** Every line every service wrote. */
  const output: string[] = [];

  before(async () => {
    authority = createTestAuthority();
    const keysFile = path.join(authority.directory, 'gateway-keys');
    writeFileSync(keysFile, `# callers of this test\nbob:${tokens.bob}\n`);
    run = await startMeshUnderTest({
      users: 50,
      products: 20,
      onLine: (_service, line) => { output.push(line); },
      env: {
        LOG_LEVEL: 'info',
        ...linkTlsEnv(authority, authority.issue('mesh-service')),
        GATEWAY_API_KEYS: `alice:${tokens.alice}`,
        GATEWAY_API_KEYS_FILE: keysFile,
        GATEWAY_RATE_LIMIT_EVENTS_PER_S: '1',
        GATEWAY_RATE_LIMIT_BURST: '100',
      },
    });
  });
  after(async () => {
    await run?.dispose();
    authority.remove();
  });

  const post = async (count: number, bearer?: string, from = 0) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
    const response = await fetch(`${run.mesh.gatewayUrl}/v1/events`, { method: 'POST', headers, body: JSON.stringify(wireEvents(count, runId, { users: 50, products: 20, from })) });
    return { status: response.status, body: await response.json() as { error?: string; accepted?: number }, retryAfter: response.headers.get('retry-after') };
  };
  const committed = async () => Number((await run.pool.query('SELECT count(*) FROM events')).rows[0].count);

  test('the services reach each other over mutual TLS, and refuse a client without a certificate', async () => {
    assert.equal((await fetch(`${run.mesh.gatewayUrl}/readyz`)).status, 200, 'the gateway holds a TLS link to the source');
    for (const service of ['source', 'enrichment', 'join', 'sink'] as const) {
      assert.equal(await tryOpen(run.mesh.address(service), grpc.credentials.createInsecure()), 'UNAVAILABLE', service);
    }
  });

  test('no token or a wrong one gets 401; the right one gets 202 and the events are committed', async () => {
    assert.equal((await post(10)).status, 401);
    assert.equal((await post(10, token())).status, 401);
    assert.equal((await post(10, `${tokens.alice}x`)).status, 401);
    assert.equal(await committed(), 0);
    assert.deepEqual(await post(60, tokens.alice), { status: 202, body: { accepted: 60, class: 'view' }, retryAfter: null });
    const deadline = Date.now() + 10_000;
    while ((await committed()) < 60 && Date.now() < deadline) await sleep(100);
    assert.equal(await committed(), 60);
  });

  test('a key over its rate limit gets 429 with Retry-After while another key is unaffected', async () => {
    const over = await post(60, tokens.alice, 60);
    assert.equal(over.status, 429);
    assert.match(over.body.error!, /your rate limit/);
    assert.ok(Number(over.retryAfter) >= 1, `Retry-After ${over.retryAfter}`);
    assert.deepEqual(await post(60, tokens.bob, 120), { status: 202, body: { accepted: 60, class: 'view' }, retryAfter: null });
  });

  test('no service writes a token to its log', () => {
    assert.ok(output.some((line) => line.includes('"keys":["alice","bob"]')), 'the gateway logged its key names');
    for (const secret of Object.values(tokens)) assert.ok(!output.some((line) => line.includes(secret)), 'a token appears in a log');
  });

  test('a gateway with a malformed key exits at start-up with status 2, naming the variable and not the token', () => {
    const gateway = fileURLToPath(new URL('../../gateway/main.js', import.meta.url));
    const secret = token();
    const result = spawnSync(process.execPath, [gateway], { env: { ...process.env, GATEWAY_API_KEYS: `alice:${secret},alice:${token()}` }, encoding: 'utf8', timeout: 10_000 });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /GATEWAY_API_KEYS entry 2 defines key "alice" a second time/);
    assert.ok(!result.stderr.includes(secret));
  });
});
