import * as grpc from '@grpc/grpc-js';
import { scenarios, type CheckResult, type Kit } from './checks.js';

export interface ConformanceOptions {
  credentials?: grpc.ChannelCredentials;
  timeoutMs?: number;
}

/** Runs every check against the receiver at `target` (host:port), speaking only the proto. */
export async function runConformance(target: string, options: ConformanceOptions = {}): Promise<CheckResult[]> {
  const kit: Kit = {
    target,
    credentials: options.credentials ?? grpc.credentials.createInsecure(),
    timeoutMs: options.timeoutMs ?? 5_000,
    links: [],
  };
  const results: CheckResult[] = [];
  try {
    for (const scenario of scenarios) results.push(...(await scenario(kit)));
  } finally {
    for (const link of kit.links) link.dispose();
  }
  return results;
}

export function formatResult(result: CheckResult): string {
  return `${result.pass ? 'PASS' : 'FAIL'} rule ${result.rule}: ${result.title} (seen: ${result.seen})`;
}
