import { parseArgs } from 'node:util';
import { EventFactory, newRunId } from '../loadgen/eventFactory.js';
import { GatewayClient, type BatchOutcome } from '../loadgen/gatewayClient.js';
import { cpuSecondsOf } from '../mesh/processCpu.js';
import { startSeededMesh } from '../mesh/startSeededMesh.js';
import { positive, positiveInteger } from '../numberArguments.js';
import { runBenchmark } from '../runBenchmark.js';

const USAGE = `usage: npm run bench -- refusal [--json] [--duration S] [--batch B] [--concurrency C]
  What a 429 costs the gateway: the mesh is filled (its sink stalled, its intake full) until the
  gateway has no credit, then requests it must refuse are posted for --duration S (default 10)
  seconds, --batch B (default 500) events each, --concurrency C (default 16) at once, and the
  gateway's CPU time is divided by the requests it refused.
  --json   print the results as one JSON object, the last line on stdout`;

interface RefusalSettings { json: boolean; durationS: number; batch: number; concurrency: number }

const USERS = 1000;
const PRODUCTS = 500;
/** Small, so that filling the mesh takes a moment. */
const INTAKE_MAX_LENGTH = 5_000;
/** Refusals in a row that say the mesh is full. */
const FULL_AFTER_REFUSALS = 50;
const FILL_TIMEOUT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 2_000;

function parseRefusalArguments(args: string[]): RefusalSettings {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      duration: { type: 'string', default: '10' },
      batch: { type: 'string', default: '500' },
      concurrency: { type: 'string', default: '16' },
    },
  });
  return {
    json: values.json,
    durationS: positive(values.duration, '--duration'),
    batch: positiveInteger(values.batch, '--batch'),
    concurrency: positiveInteger(values.concurrency, '--concurrency'),
  };
}

export function runRefusalBenchmark(args: string[]): Promise<void> {
  return runBenchmark('refusal', USAGE, parseRefusalArguments, args, async (settings, stop) => {
    console.error(`refusal: starting the mesh with its sink stalled and an intake of ${INTAKE_MAX_LENGTH} events`);
    const seeded = await startSeededMesh({
      users: USERS,
      products: PRODUCTS,
      // Fixed windows: the intake's bound is what ends the gateway's credit.
      env: { INTAKE_MAX_LENGTH: String(INTAKE_MAX_LENGTH), LATENCY_TARGET_MS: '0' },
      serviceEnv: { sink: { SINK_DELAY_MS: '60000' } },
    });
    const client = new GatewayClient(seeded.mesh.gatewayUrl, settings.concurrency, REQUEST_TIMEOUT_MS);
    try {
      const gatewayPid = seeded.mesh.services.gateway?.pid;
      if (!gatewayPid) throw new Error('the gateway has no pid');
      const events = new EventFactory(newRunId(), USERS, PRODUCTS);
      await fillMesh(client, events, settings.batch, stop);
      console.error(`refusal: the mesh is full; posting ${settings.batch}-event requests, ${settings.concurrency} at once, for ${settings.durationS} s`);
      // Made before, so their making is not what is measured.
      const bodies = Array.from({ length: settings.concurrency }, () => JSON.stringify(events.batch(settings.batch)));
      const outcomes = { refused: 0, other: 0 };
      const cpuBefore = cpuSecondsOf(gatewayPid) ?? 0;
      const startMs = performance.now();
      await Promise.all(bodies.map(async (body) => {
        while (performance.now() - startMs < settings.durationS * 1000 && !stop.aborted) {
          const outcome = await client.post(body, settings.batch);
          if (outcome.kind === 'rejected') outcomes.refused += 1;
          else outcomes.other += 1;
        }
      }));
      const seconds = (performance.now() - startMs) / 1000;
      const gatewayCpuS = (cpuSecondsOf(gatewayPid) ?? 0) - cpuBefore;
      if (stop.aborted) throw new Error('stopped');
      const result = {
        refused_per_s: Math.round(outcomes.refused / seconds),
        other_answers: outcomes.other,
        gateway_cpu_ms_per_refusal: Math.round((gatewayCpuS * 1e6) / Math.max(outcomes.refused, 1)) / 1000,
        gateway_cpu_share: Math.round((gatewayCpuS / seconds) * 1000) / 1000,
        batch: settings.batch,
        concurrency: settings.concurrency,
        duration_s: Math.round(seconds * 100) / 100,
      };
      console.log(`refused ${result.refused_per_s} requests/s of ${settings.batch} events (${outcomes.other} other answers); `
        + `the gateway spent ${result.gateway_cpu_ms_per_refusal} ms of CPU per refusal, ${(result.gateway_cpu_share * 100).toFixed(1)}% of a core`);
      if (settings.json) console.log(JSON.stringify(result));
    } finally {
      client.close();
      await seeded.dispose();
    }
  });
}

/**
 * Posts requests of `batch` events until the gateway refuses FULL_AFTER_REFUSALS in a row, then of
 * half as many, and so on down to one event: what credit the larger ones left over is spent (a request
 * the source took waits, unconfirmed, while the sink is stalled; it times out), until the link has none.
 */
async function fillMesh(client: GatewayClient, events: EventFactory, batch: number, stop: AbortSignal): Promise<void> {
  const deadline = Date.now() + FILL_TIMEOUT_MS;
  for (let size = batch; size >= 1; size = size === 1 ? 0 : Math.ceil(size / 2)) {
    for (let refusedInARow = 0; refusedInARow < FULL_AFTER_REFUSALS;) {
      if (stop.aborted) throw new Error('stopped');
      if (Date.now() > deadline) throw new Error(`the mesh did not fill within ${FILL_TIMEOUT_MS} ms`);
      const outcome: BatchOutcome = await client.post(JSON.stringify(events.batch(size)), size);
      if (outcome.kind === 'failed' && outcome.reason !== 'timeout') throw new Error(`a request failed while filling the mesh: ${outcome.reason} ${outcome.detail}`);
      refusedInARow = outcome.kind === 'rejected' ? refusedInARow + 1 : 0;
    }
  }
}
