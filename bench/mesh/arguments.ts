import { parseArgs } from 'node:util';
import { serviceNames, type ServiceName } from '../../tools/launcher/Mesh.js';
import { positive, positiveInteger } from '../numberArguments.js';

export const USAGE = `usage: npm run bench -- mesh [--json] [--duration S] [--rate N] [options]
  --duration S           seconds of load (default 30); the first --warmup S (default 5) are left out
  --rate N               events/s offered, above capacity so that 429s shed the excess (default 40000)
  --batch B              events per request (default 500)
  --concurrency C        requests the load generator keeps outstanding at most (default 64)
  --ceiling-duration S   seconds of the database-alone ceiling (default 10)
  --ceiling-batch B      events per commit there (default: what the mesh's sink committed on average)
  --set [SERVICE.]VAR=V  environment for every service, or for one (e.g. sink.STAGE_CONCURRENCY=8); repeatable
  --profile DIR          profile every service's CPU (inspector, as --cpu-prof) into DIR/<service>; print the top self time
  --tracing              instead of the ceiling: the mesh with tracing on (10% of requests sampled, exported over OTLP
                         to a receiver in this process) and off, alternately, --pairs times; --json adds tracing_ratio (on/off)
  --pairs N              on/off pairs with --tracing (default 3)
  --json                 print the results as one JSON object, the last line on stdout`;

export interface MeshBenchSettings {
  json: boolean;
  durationS: number;
  warmupS: number;
  rate: number;
  batch: number;
  concurrency: number;
  ceilingDurationS: number;
  ceilingBatch: number | undefined;
  env: Record<string, string>;
  serviceEnv: Partial<Record<ServiceName, Record<string, string>>>;
  profileDirectory: string | undefined;
  tracing: boolean;
  pairs: number;
}

export function parseMeshBenchArguments(args: string[]): MeshBenchSettings {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      duration: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '5' },
      rate: { type: 'string', default: '40000' },
      batch: { type: 'string', default: '500' },
      concurrency: { type: 'string', default: '64' },
      'ceiling-duration': { type: 'string', default: '10' },
      'ceiling-batch': { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
      profile: { type: 'string' },
      tracing: { type: 'boolean', default: false },
      pairs: { type: 'string', default: '3' },
    },
  });
  const durationS = positive(values.duration, '--duration');
  const warmupS = positive(values.warmup, '--warmup');
  if (warmupS >= durationS - 1) throw new Error(`--warmup (${warmupS}) must leave at least 1 s of --duration (${durationS})`);
  const env: Record<string, string> = {};
  const serviceEnv: MeshBenchSettings['serviceEnv'] = {};
  for (const assignment of values.set) {
    const { service, name, value } = parseAssignment(assignment);
    if (service) (serviceEnv[service] ??= {})[name] = value;
    else env[name] = value;
  }
  return {
    json: values.json,
    durationS,
    warmupS,
    rate: positive(values.rate, '--rate'),
    batch: positiveInteger(values.batch, '--batch'),
    concurrency: positiveInteger(values.concurrency, '--concurrency'),
    ceilingDurationS: positive(values['ceiling-duration'], '--ceiling-duration'),
    ceilingBatch: values['ceiling-batch'] === undefined ? undefined : positiveInteger(values['ceiling-batch'], '--ceiling-batch'),
    env,
    serviceEnv,
    profileDirectory: values.profile,
    tracing: values.tracing,
    pairs: positiveInteger(values.pairs, '--pairs'),
  };
}

function parseAssignment(text: string): { service: ServiceName | undefined; name: string; value: string } {
  const match = /^(?:([a-z]+)\.)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(text);
  if (!match) throw new Error(`--set takes [SERVICE.]VARIABLE=VALUE, got '${text}'`);
  const [, service, name, value] = match;
  if (service !== undefined && !(serviceNames as readonly string[]).includes(service)) {
    throw new Error(`--set: unknown service '${service}', expected one of ${serviceNames.join(', ')}`);
  }
  return { service: service as ServiceName | undefined, name: name!, value: value! };
}
