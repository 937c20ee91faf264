import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { eventIdPrefix, opening } from '../../conformance/checks.js';
import { runConformance, runConformanceKit } from '../../conformance/runConformance.js';
import { startMeshUnderTest, type MeshUnderTest } from '../helpers/meshHarness.js';

const cli = fileURLToPath(new URL('../../conformance/cli.js', import.meta.url));
const token = `kit-token-${randomBytes(8).toString('hex')}`;
let run: MeshUnderTest;
before(async () => {
  run = await startMeshUnderTest({ serviceEnv: { gateway: { GATEWAY_API_KEYS: `kit:${token}` } } });
});
after(() => run?.dispose());

test('the conformance kit passes against the gateway\'s gRPC ingest, its links carrying a bearer token', { timeout: 60_000 }, async (t) => {
  const { results, eventsAcknowledged } = await runConformanceKit(run.mesh.ingestAddress, { metadata: { authorization: `Bearer ${token}` } });
  for (const result of results.filter((r) => !r.pass)) t.diagnostic(`FAIL rule ${result.rule}: ${result.title} (${result.seen})`);
  assert.deepEqual(results.filter((result) => !result.pass).map((result) => `rule ${result.rule}: ${result.title}`), []);
  assert.ok(results.length >= 13);

  // Without the token no link opens, so no check could pass.
  const refused = await runConformance(run.mesh.ingestAddress, { scenarios: [opening] });
  assert.ok(refused.length > 0 && refused.every((result) => !result.pass && result.seen.includes('UNAUTHENTICATED')), refused.map((result) => result.seen).join('; '));

  // An Ack of the ingest means in the intake: every event it acknowledged reaches the sink, as a
  // dead letter (the kit's item is no seeded product), and none becomes a result.
  const deadline = Date.now() + 30_000;
  let deadLetters = 0;
  while (deadLetters < eventsAcknowledged && Date.now() < deadline) {
    await sleep(250);
    deadLetters = Number((await run.pool.query('SELECT count(*) FROM dead_letters WHERE event_id LIKE $1', [`${eventIdPrefix}%`])).rows[0].count);
  }
  t.diagnostic(`${eventsAcknowledged} events acknowledged by the ingest, ${deadLetters} dead letters`);
  assert.ok(deadLetters >= eventsAcknowledged, `${deadLetters} dead letters for ${eventsAcknowledged} events acknowledged`);
  const written = await run.pool.query("SELECT count(*) FROM events WHERE id LIKE 'conformance-%'");
  assert.equal(Number(written.rows[0].count), 0);
});

test('the kit\'s command line passes call metadata with --metadata', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [cli, '--target', run.mesh.ingestAddress, '--metadata', `authorization=Bearer ${token}`], { env: { ...process.env, LOG_LEVEL: 'silent' } });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stdout);
  assert.match(stdout, /PASS rule 7: Open is answered by Opened/);
  assert.doesNotMatch(stdout, /^FAIL/m);
});
