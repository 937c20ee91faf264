import * as grpc from '@grpc/grpc-js';
import { scenarios, type CheckResult, type Kit, type Scenario } from './checks.js';

export interface ConformanceOptions {
  credentials?: grpc.ChannelCredentials;
  /** Metadata every call carries, e.g. `{ authorization: 'Bearer <token>' }` for the gateway's ingest when it has API keys. */
  metadata?: Record<string, string>;
  timeoutMs?: number;
  /** The scenarios to run, in order; default all of them. */
  scenarios?: Scenario[];
}

export interface ConformanceRun {
  results: CheckResult[];
  /** Events the kit sent over all its links: what a live stage may pass on (to end as dead letters). */
  eventsSent: number;
  /** Events the receiver acknowledged: for a live stage, done downstream. */
  eventsAcknowledged: number;
}

/** Runs every check against the receiver at `target` (host:port), speaking only the proto. */
export async function runConformance(target: string, options: ConformanceOptions = {}): Promise<CheckResult[]> {
  return (await runConformanceKit(target, options)).results;
}

/** runConformance, and how many events the kit sent and had acknowledged. */
export async function runConformanceKit(target: string, options: ConformanceOptions = {}): Promise<ConformanceRun> {
  const kit: Kit = {
    target,
    credentials: options.credentials ?? grpc.credentials.createInsecure(),
    metadata: options.metadata ?? {},
    timeoutMs: options.timeoutMs ?? 5_000,
    links: [],
  };
  const results: CheckResult[] = [];
  try {
    for (const scenario of options.scenarios ?? scenarios) results.push(...(await scenario(kit)));
  } finally {
    for (const link of kit.links) link.dispose();
  }
  return {
    results,
    eventsSent: kit.links.reduce((sum, link) => sum + link.sent, 0),
    eventsAcknowledged: kit.links.reduce((sum, link) => sum + (link.acks.at(-1) ?? 0), 0),
  };
}

export function formatResult(result: CheckResult): string {
  return `${result.pass ? 'PASS' : 'FAIL'} rule ${result.rule}: ${result.title} (seen: ${result.seen})`;
}
