import { parseArgs } from 'node:util';
import { positive, positiveInteger } from '../numberArguments.js';

export const USAGE = `usage: npm run bench -- latency [--json] [options]
  --target MS       LATENCY_TARGET_MS of the adaptive mode, and the line p99 must come back under (default 250)
  --phase-s S       seconds of each offered-load phase: 50 %, 80 %, 100 % and 1000 % of the capacity (default 15)
  --saturation-s S  seconds of the saturation phase that measures the capacity (default 15; the first 5 s are not counted)
  --saturation-rate N
                    events/s offered while measuring the capacity (default 60000: well above what the sink below commits)
  --slow-s S        seconds at 100 % with the sink slowed 4x by its fault switch (default 20)
  --after-s S       seconds at 100 % once the sink is back to normal (default 15)
  --slowdown F      how many times slower the sink's batches (of saturation's size) are during the slowdown (default 4)
  --slow-per KIND   event: the slowdown is a wait per event, as a database slowed per row (a smaller batch is slowed less);
                    batch: the same wait over every batch whatever its size (default event)
  --drain-s S       seconds at most to wait between phases for what was accepted to be committed (default 20)
  --sink-concurrency N, --sink-delay-ms MS
                    the sink commits N batches at once, each taking MS longer (defaults 1 and 20, as the burst benchmark:
                    the sink is the slowest hop, so the mesh has a clear capacity)
  --batch B         events per request (default 250)
  --heap MB         --max-old-space-size of every service (default 256)
  --modes LIST      comma-separated, of fixed, adaptive (default both)
  --report DIR      where latency.md and its charts go (default bench/results)
  --json            print the results as one JSON object, the last line on stdout`;

export const windowModes = ['fixed', 'adaptive'] as const;
export type WindowMode = (typeof windowModes)[number];

export interface LatencySettings {
  json: boolean;
  targetMs: number;
  phaseS: number;
  saturationS: number;
  saturationRate: number;
  slowS: number;
  afterS: number;
  slowdown: number;
  slowPer: 'event' | 'batch';
  drainS: number;
  batch: number;
  heapMb: number;
  sinkConcurrency: number;
  sinkDelayMs: number;
  modes: WindowMode[];
  reportDirectory: string;
}

/** Seconds of the saturation phase left out of the capacity: the mesh filling up. */
export const SATURATION_WARMUP_S = 5;

export function parseLatencyArguments(args: string[]): LatencySettings {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      target: { type: 'string', default: '250' },
      'phase-s': { type: 'string', default: '15' },
      'saturation-s': { type: 'string', default: '15' },
      'saturation-rate': { type: 'string', default: '60000' },
      'slow-s': { type: 'string', default: '20' },
      'after-s': { type: 'string', default: '15' },
      slowdown: { type: 'string', default: '4' },
      'slow-per': { type: 'string', default: 'event' },
      'drain-s': { type: 'string', default: '20' },
      batch: { type: 'string', default: '250' },
      heap: { type: 'string', default: '256' },
      'sink-concurrency': { type: 'string', default: '1' },
      'sink-delay-ms': { type: 'string', default: '20' },
      modes: { type: 'string', default: windowModes.join(',') },
      report: { type: 'string', default: 'bench/results' },
    },
  });
  const modes = values.modes.split(',').map((mode) => mode.trim());
  for (const mode of modes) if (!(windowModes as readonly string[]).includes(mode)) throw new Error(`--modes: unknown mode '${mode}', expected ${windowModes.join(', ')}`);
  const saturationS = positive(values['saturation-s'], '--saturation-s');
  if (saturationS <= SATURATION_WARMUP_S) throw new Error(`--saturation-s must be more than ${SATURATION_WARMUP_S} (its first ${SATURATION_WARMUP_S} s are not counted), got '${values['saturation-s']}'`);
  const slowdown = positive(values.slowdown, '--slowdown');
  if (slowdown <= 1) throw new Error(`--slowdown must be more than 1, got '${values.slowdown}'`);
  const slowPer = values['slow-per'];
  if (slowPer !== 'event' && slowPer !== 'batch') throw new Error(`--slow-per must be event or batch, got '${slowPer}'`);
  return {
    json: values.json,
    targetMs: positiveInteger(values.target, '--target'),
    phaseS: positive(values['phase-s'], '--phase-s'),
    saturationS,
    saturationRate: positive(values['saturation-rate'], '--saturation-rate'),
    slowS: positive(values['slow-s'], '--slow-s'),
    afterS: positive(values['after-s'], '--after-s'),
    slowdown,
    slowPer,
    drainS: positive(values['drain-s'], '--drain-s'),
    batch: positiveInteger(values.batch, '--batch'),
    heapMb: positiveInteger(values.heap, '--heap'),
    sinkConcurrency: positiveInteger(values['sink-concurrency'], '--sink-concurrency'),
    sinkDelayMs: positiveInteger(values['sink-delay-ms'], '--sink-delay-ms'),
    modes: [...new Set(modes)] as WindowMode[],
    reportDirectory: values.report,
  };
}
