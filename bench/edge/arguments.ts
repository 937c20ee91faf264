import { parseArgs } from 'node:util';
import { positive, positiveInteger } from '../numberArguments.js';
import { defaultMix, parseMix, parseWeights, type ClassMix, type KeyWeights } from './traffic.js';

export const USAGE = `usage: npm run bench -- edge [--json] [options]
  Priority classes and fair shares at the edge: mixed traffic over HTTP and the gRPC ingest from two
  API keys (calm and flood), at a steady share of the measured capacity, then a burst in which the
  flood key floods, then steady again; counts what each class and key offered, had admitted and shed.
  --mix LIST          kind:share of the events offered (default ${defaultMix}; shares are relative)
  --steady F          steady load as a share of the measured capacity (default 0.6)
  --factor F          the burst offers F times the steady load (default 10)
  --before-s S, --burst-s S, --after-s S
                      seconds of steady load before the burst, of burst, of steady load after it (defaults 20, 30, 30)
  --flood F           during the burst the flood key offers F times as much per unit of its weight as the calm key (default 5)
  --weights A:B       GATEWAY_KEY_WEIGHTS of calm and flood (default 1:1)
  --grpc-share F      the share of each key's load sent over the gRPC ingest, the rest over HTTP (default 0.5)
  --saturation-s S    seconds of the saturation phase that measures the capacity (default 20; the first 10 s are not counted)
  --saturation-rate N events/s offered while measuring it (default 20000, both protocols: about 3x what the sink commits here)
  --cpu-s S           seconds of each of the two phases, HTTP alone and gRPC alone at saturation, that compare the
                      gateway's CPU per event (default 12; the first 4 s are not counted)
  --cpu-offer F       load offered in those phases, as a multiple of the capacity (default 2)
  --drain-s S         seconds at most to wait between phases, and at the end, for what was admitted to be committed (default 45)
  --batch B           events per batch, split into one HTTP request (or gRPC batch) per class (default 400)
  --concurrency N     HTTP requests in flight at most per key; a request due beyond it is dropped by the client (default 64)
  --grpc-batch B      events a gRPC producer stream sends at most at once (default 250)
  --grpc-backlog N    events a gRPC producer stream holds at most waiting for credit; beyond, it drops them (default 4000)
  --latency-target MS LATENCY_TARGET_MS of every service (default 0: fixed windows, the mesh's default;
                      with 250 the gateway's window is sized by time, and see bench/results/edge.md)
  --sink-concurrency N, --sink-delay-ms MS
                      the sink commits N batches at once, each taking MS longer (defaults 1 and 20: the sink is the
                      slowest hop, so the mesh has a clear capacity)
  --heap MB           --max-old-space-size of every service (default 256)
  --report DIR        where edge.md and its charts go (default bench/results)
  --json              print the results as one JSON object, the last line on stdout
  --help              this text`;

export interface EdgeSettings {
  json: boolean;
  mix: ClassMix;
  mixText: string;
  steadyShare: number;
  factor: number;
  beforeS: number;
  burstS: number;
  afterS: number;
  flood: number;
  weights: KeyWeights;
  grpcShare: number;
  saturationS: number;
  saturationRate: number;
  cpuS: number;
  cpuOffer: number;
  drainS: number;
  batch: number;
  concurrency: number;
  grpcBatch: number;
  grpcBacklog: number;
  latencyTargetMs: number;
  sinkConcurrency: number;
  sinkDelayMs: number;
  heapMb: number;
  reportDirectory: string;
}

/** Seconds of the saturation phase left out of the capacity: the fresh mesh warming up and filling (it commits well under its capacity for its first ten seconds or so). */
export const SATURATION_WARMUP_S = 10;
export const CPU_WARMUP_S = 4;
/** What the gateway takes in one request at most (MAX_EVENTS_PER_REQUEST's default), and so in one gRPC batch. */
const MAX_EVENTS_PER_REQUEST = 1000;

export function parseEdgeArguments(args: string[]): EdgeSettings {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      mix: { type: 'string', default: defaultMix },
      steady: { type: 'string', default: '0.6' },
      factor: { type: 'string', default: '10' },
      'before-s': { type: 'string', default: '20' },
      'burst-s': { type: 'string', default: '30' },
      'after-s': { type: 'string', default: '30' },
      flood: { type: 'string', default: '5' },
      weights: { type: 'string', default: '1:1' },
      'grpc-share': { type: 'string', default: '0.5' },
      'saturation-s': { type: 'string', default: '20' },
      'saturation-rate': { type: 'string', default: '20000' },
      'cpu-s': { type: 'string', default: '12' },
      'cpu-offer': { type: 'string', default: '2' },
      'drain-s': { type: 'string', default: '45' },
      batch: { type: 'string', default: '400' },
      concurrency: { type: 'string', default: '64' },
      'grpc-batch': { type: 'string', default: '250' },
      'grpc-backlog': { type: 'string', default: '4000' },
      'latency-target': { type: 'string', default: '0' },
      'sink-concurrency': { type: 'string', default: '1' },
      'sink-delay-ms': { type: 'string', default: '20' },
      heap: { type: 'string', default: '256' },
      report: { type: 'string', default: 'bench/results' },
    },
  });
  const share = (text: string, option: string, { allowZero = false, allowOne = true } = {}) => {
    const value = Number(text);
    const ok = text.trim() !== '' && Number.isFinite(value) && (allowZero ? value >= 0 : value > 0) && (allowOne ? value <= 1 : value < 1);
    if (!ok) throw new Error(`${option} must be a number ${allowZero ? 'from 0' : 'above 0'} ${allowOne ? 'to 1' : 'and below 1'}, got '${text}'`);
    return value;
  };
  const saturationS = positive(values['saturation-s'], '--saturation-s');
  if (saturationS <= SATURATION_WARMUP_S) throw new Error(`--saturation-s must be more than ${SATURATION_WARMUP_S} (its first ${SATURATION_WARMUP_S} s are not counted), got '${values['saturation-s']}'`);
  const cpuS = positive(values['cpu-s'], '--cpu-s');
  if (cpuS <= CPU_WARMUP_S) throw new Error(`--cpu-s must be more than ${CPU_WARMUP_S} (its first ${CPU_WARMUP_S} s are not counted), got '${values['cpu-s']}'`);
  const flood = positive(values.flood, '--flood');
  if (flood < 1) throw new Error(`--flood must be at least 1 (1: the flood key offers its weighted share, as the calm one), got '${values.flood}'`);
  const factor = positive(values.factor, '--factor');
  if (factor < 1) throw new Error(`--factor must be at least 1, got '${values.factor}'`);
  const batch = positiveInteger(values.batch, '--batch');
  const grpcBatch = positiveInteger(values['grpc-batch'], '--grpc-batch');
  if (grpcBatch > MAX_EVENTS_PER_REQUEST) throw new Error(`--grpc-batch must be at most ${MAX_EVENTS_PER_REQUEST} (the gateway's largest batch), got '${values['grpc-batch']}'`);
  const grpcBacklog = positiveInteger(values['grpc-backlog'], '--grpc-backlog');
  if (grpcBacklog < grpcBatch) throw new Error(`--grpc-backlog (${grpcBacklog}) must be at least --grpc-batch (${grpcBatch})`);
  const latencyText = values['latency-target'];
  const latencyTargetMs = Number(latencyText);
  if (latencyText.trim() === '' || !Number.isInteger(latencyTargetMs) || (latencyTargetMs !== 0 && (latencyTargetMs < 50 || latencyTargetMs > 60_000))) {
    throw new Error(`--latency-target must be 0 (fixed windows) or an integer from 50 to 60000, got '${latencyText}'`);
  }
  const mix = parseMix(values.mix);
  if (mix.purchase === 0 || mix.view === 0) throw new Error('--mix must offer some purchases and some views: the figures compare the highest class with the lowest');
  const largestRequest = Math.ceil(batch * Math.max(...Object.values(mix)));
  if (largestRequest > MAX_EVENTS_PER_REQUEST) throw new Error(`--batch ${batch} makes requests of up to ${largestRequest} events of one class; the gateway takes at most ${MAX_EVENTS_PER_REQUEST} per request`);
  return {
    json: values.json,
    mix,
    mixText: values.mix,
    steadyShare: positive(values.steady, '--steady'),
    factor,
    beforeS: positive(values['before-s'], '--before-s'),
    burstS: positive(values['burst-s'], '--burst-s'),
    afterS: positive(values['after-s'], '--after-s'),
    flood,
    weights: parseWeights(values.weights),
    grpcShare: share(values['grpc-share'], '--grpc-share', { allowZero: true }),
    saturationS,
    saturationRate: positive(values['saturation-rate'], '--saturation-rate'),
    cpuS,
    cpuOffer: positive(values['cpu-offer'], '--cpu-offer'),
    drainS: positive(values['drain-s'], '--drain-s'),
    batch,
    concurrency: positiveInteger(values.concurrency, '--concurrency'),
    grpcBatch,
    grpcBacklog,
    latencyTargetMs,
    sinkConcurrency: positiveInteger(values['sink-concurrency'], '--sink-concurrency'),
    sinkDelayMs: positiveInteger(values['sink-delay-ms'], '--sink-delay-ms'),
    heapMb: positiveInteger(values.heap, '--heap'),
    reportDirectory: values.report,
  };
}
