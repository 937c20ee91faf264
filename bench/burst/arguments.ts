import { parseArgs } from 'node:util';
import { meshModes, type MeshMode } from '../../lib/stage/meshMode.js';
import { positive, positiveInteger } from '../numberArguments.js';

export const USAGE = `usage: npm run bench -- burst [--json] [options]
  --steady N        events/s of the steady load (default 5000: about half of what the mesh sustains here with the sink below)
  --sink-concurrency N, --sink-delay-ms MS
                    the sink commits N batches at once, each taking MS longer (defaults 1 and 20: a sink bounded by its
                    database, about 12000 events/s here, so that it is the slowest hop, as the database is in the story)
  --factor F        the burst is F times the steady rate (default 10)
  --before S        seconds of steady load before the burst (default 15)
  --burst S         seconds of burst (default 30)
  --after S         seconds of steady load after it (default 60)
  --drain S         seconds at most to wait, after the load, for what was accepted to be committed (default 45)
  --batch B         events per request (default 250)
  --heap MB         --max-old-space-size of every service (default 256), so a runaway process fails in seconds
  --modes LIST      comma-separated, of ${meshModes.join(', ')} (default all three)
  --report DIR      where burst.md and its charts go (default bench/results)
  --json            print the results as one JSON object, the last line on stdout`;

export interface BurstSettings {
  json: boolean;
  steadyRate: number;
  factor: number;
  beforeS: number;
  burstS: number;
  afterS: number;
  drainS: number;
  batch: number;
  heapMb: number;
  sinkConcurrency: number;
  sinkDelayMs: number;
  modes: MeshMode[];
  reportDirectory: string;
}

export function parseBurstArguments(args: string[]): BurstSettings {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      steady: { type: 'string', default: '5000' },
      factor: { type: 'string', default: '10' },
      before: { type: 'string', default: '15' },
      burst: { type: 'string', default: '30' },
      after: { type: 'string', default: '60' },
      drain: { type: 'string', default: '45' },
      batch: { type: 'string', default: '250' },
      heap: { type: 'string', default: '256' },
      'sink-concurrency': { type: 'string', default: '1' },
      'sink-delay-ms': { type: 'string', default: '20' },
      modes: { type: 'string', default: meshModes.join(',') },
      report: { type: 'string', default: 'bench/results' },
    },
  });
  const modes = values.modes.split(',').map((mode) => mode.trim());
  for (const mode of modes) if (!(meshModes as readonly string[]).includes(mode)) throw new Error(`--modes: unknown mode '${mode}', expected ${meshModes.join(', ')}`);
  return {
    json: values.json,
    steadyRate: positive(values.steady, '--steady'),
    factor: positive(values.factor, '--factor'),
    beforeS: positive(values.before, '--before'),
    burstS: positive(values.burst, '--burst'),
    afterS: positive(values.after, '--after'),
    drainS: positive(values.drain, '--drain'),
    batch: positiveInteger(values.batch, '--batch'),
    heapMb: positiveInteger(values.heap, '--heap'),
    sinkConcurrency: positiveInteger(values['sink-concurrency'], '--sink-concurrency'),
    sinkDelayMs: positiveInteger(values['sink-delay-ms'], '--sink-delay-ms'),
    modes: modes as MeshMode[],
    reportDirectory: values.report,
  };
}
