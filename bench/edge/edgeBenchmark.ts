import { runBenchmark } from '../runBenchmark.js';
import { parseEdgeArguments, USAGE, type EdgeSettings } from './arguments.js';
import { measureEdge } from './measureEdge.js';
import { resultJson, writeReport } from './report.js';

/**
 * The edge's priority classes and fair shares under a burst: mixed traffic over HTTP and the gRPC
 * ingest from two keys, one of which floods, on one fresh seeded mesh.
 */
export async function runEdgeBenchmark(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return;
  }
  return runBenchmark('edge', USAGE, parseEdgeArguments, args, async (settings: EdgeSettings, stop: AbortSignal) => {
    const result = await measureEdge(settings, stop);
    const burst = result.burst;
    console.error(`edge bench: capacity ${result.capacity_events_per_s} events/s; burst: ${Object.entries(burst.classes).map(([name, figures]) => `${name} ${figures.admitted}/${figures.offered} admitted, p99 ${figures.p99_ms} ms`).join('; ')}; ` +
      `purchases refused while views admitted ${burst.purchases_refused_while_views_admitted}; committed/capacity ${burst.committed_vs_capacity}; ` +
      `share error ${result.keys.max_share_error}; gRPC/HTTP events per gateway CPU-s ${result.grpc_vs_http_events_per_s.events_per_gateway_cpu_s_ratio}; ` +
      `gRPC refusals ${result.grpc_refusals}; lost ${result.lost}; duplicated ${result.duplicated}; crashed: ${result.crashed.join(', ') || 'none'}`);
    const report = await writeReport(result, settings, `npm run bench -- edge ${args.join(' ')}`.trim());
    console.error(`edge bench: report in ${report}`);
    if (settings.json) console.log(JSON.stringify(resultJson(result, settings)));
  });
}
