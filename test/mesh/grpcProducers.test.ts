import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { debianPython } from '../helpers/debianPython.js';
import { startMeshUnderTest, type MeshUnderTest } from '../helpers/meshHarness.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const producers = {
  typescript: [process.execPath, path.join(projectRoot, 'dist/examples/grpc-producer/main.js')],
  python: [debianPython, path.join(projectRoot, 'examples/python-producer/producer.py')],
} as const;
const token = `producer-token-${randomBytes(8).toString('hex')}`;
// Small limits, so that the producers must cut their batches (BATCH 500 > 200) and wait for credit (3000 events > 400).
const maxBatchEvents = 200;
const linkCapacity = 400;

let run: MeshUnderTest;
before(async () => {
  // The users and products the examples pick from: npm start's seed.
  run = await startMeshUnderTest({
    users: 1_000,
    products: 500,
    serviceEnv: { gateway: { GATEWAY_API_KEYS: `producers:${token}`, MAX_EVENTS_PER_REQUEST: String(maxBatchEvents), INGEST_LINK_CAPACITY: String(linkCapacity) } },
  });
});
after(() => run?.dispose());

interface Finished { code: number | null; stdout: string; stderr: string }

function runProducer(language: keyof typeof producers, env: Record<string, string>): Promise<Finished> {
  const [command, script] = producers[language];
  const child = spawn(command, [script], { cwd: projectRoot, env: { ...process.env, INGEST_ADDR: run.mesh.ingestAddress, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(killer);
    resolve({ code, stdout, stderr });
  }));
}

/** The events committed with ids `<prefix>-<n>`, once all `expected` are there (or 20 s have passed). */
async function committed(prefix: string, expected: number) {
  const deadline = Date.now() + 20_000;
  const count = async () => Number((await run.pool.query('SELECT count(*) FROM events WHERE id LIKE $1', [`${prefix}-%`])).rows[0].count);
  while ((await count()) < expected && Date.now() < deadline) await sleep(200);
  await sleep(300); // anything more (a duplicate could not be a row, but an event of another id could) arrives meanwhile
  const { rows } = await run.pool.query<{ id: string; kind: string; user_id: string; profile_found: boolean }>(
    'SELECT id, kind, user_id, profile_found FROM events WHERE id LIKE $1', [`${prefix}-%`],
  );
  const deadLetters = Number((await run.pool.query('SELECT count(*) FROM dead_letters WHERE event_id LIKE $1', [`${prefix}-%`])).rows[0].count);
  return { rows, deadLetters };
}

for (const language of ['typescript', 'python'] as const) {
  test(`the ${language} producer streams its events within credit, each committed exactly once`, { timeout: 60_000 }, async (t) => {
    const prefix = `${language}-${randomBytes(4).toString('hex')}`;
    const events = 3_000;
    // The Python one asks for class cart, so it sends only carts (a batch's class is that of its lowest event).
    const priorityClass: Record<string, string> = language === 'python' ? { PRIORITY_CLASS: 'cart' } : {};
    const finished = await runProducer(language, { INGEST_TOKEN: token, EVENTS: String(events), BATCH: '500', ID_PREFIX: prefix, ...priorityClass });
    assert.equal(finished.code, 0, `exit code; stderr: ${finished.stderr}`);
    assert.doesNotMatch(finished.stderr, /link ended early/);
    assert.match(finished.stdout, new RegExp(`opened: "gateway" takes at most ${maxBatchEvents} events`));
    const done = /done: (\d+) events acknowledged in [\d.]+ s \(\d+ events\/s\), (\d+) batches/.exec(finished.stdout);
    assert.ok(done, `a done line; stdout: ${finished.stdout}`);
    t.diagnostic(done[0]);
    assert.equal(Number(done[1]), events);
    assert.ok(Number(done[2]) >= events / maxBatchEvents, `batches cut to Opened's max_batch_events: ${done[2]} batches`);

    const { rows, deadLetters } = await committed(prefix, events);
    assert.equal(rows.length, events, 'every event committed once');
    assert.deepEqual(new Set(rows.map((row) => row.id)), new Set(Array.from({ length: events }, (_, i) => `${prefix}-${i + 1}`)));
    assert.equal(deadLetters, 0);
    assert.ok(rows.every((row) => row.profile_found), 'every user is a seeded one');
    if (language === 'python') assert.ok(rows.every((row) => row.kind === 'cart'));
    else assert.ok(new Set(rows.map((row) => row.kind)).size > 1, 'a mix of kinds');
  });

  test(`the ${language} producer with a wrong token is refused with UNAUTHENTICATED`, { timeout: 60_000 }, async () => {
    const prefix = `${language}-refused-${randomBytes(4).toString('hex')}`;
    const finished = await runProducer(language, { INGEST_TOKEN: `${token}-wrong`, EVENTS: '100', ID_PREFIX: prefix });
    assert.equal(finished.code, 1, `exit code; stdout: ${finished.stdout}`);
    assert.match(finished.stderr, /link ended early: UNAUTHENTICATED .*\(0 events sent, 0 acknowledged\)/);
    assert.doesNotMatch(finished.stdout, /opened:/);
    const { rows } = await run.pool.query('SELECT count(*) FROM events WHERE id LIKE $1', [`${prefix}-%`]);
    assert.equal(Number(rows[0].count), 0);
  });
}

test('the producers refuse settings that are not valid, naming each, with exit code 2', { timeout: 30_000 }, async () => {
  for (const language of ['typescript', 'python'] as const) {
    const finished = await runProducer(language, { INGEST_ADDR: 'no-port', EVENTS: '0', BATCH: 'x', PRIORITY_CLASS: 'Not A Class' });
    assert.equal(finished.code, 2, language);
    for (const name of ['INGEST_ADDR', 'EVENTS', 'BATCH', 'PRIORITY_CLASS']) assert.match(finished.stderr, new RegExp(name), `${language}: ${finished.stderr}`);
  }
});
