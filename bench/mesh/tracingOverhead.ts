import { createServer } from 'node:http';
import { once } from 'node:events';
import type { MeshBenchSettings } from './arguments.js';
import type { MeshWindow } from './measureMeshWindow.js';

export type MeasureMesh = (env: Record<string, string>) => Promise<{ mesh: MeshWindow; peakRssMb: Record<string, number> }>;

interface Pair { off: number; on: number; ratio: number }

/**
 * The mesh's sustained rate with tracing off and on (10 % of requests sampled, as a production
 * setting would), alternately, so that both see the same machine: the overhead of tracing as a
 * ratio, the median over the pairs. Spans go over OTLP/HTTP (protobuf) to a receiver in this
 * process that takes and counts them, so the export costs what it would with a collector.
 */
export async function compareTracing(settings: MeshBenchSettings, measure: MeasureMesh, signal: AbortSignal): Promise<void> {
  const receiver = await startCountingOtlpReceiver();
  const tracingOn = {
    OTEL_SDK_DISABLED: 'false',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.1',
  };
  const pairs: Pair[] = [];
  try {
    for (let pair = 1; pair <= settings.pairs && !signal.aborted; pair += 1) {
      console.error(`tracing pair ${pair}/${settings.pairs}: off`);
      const off = (await measure({ OTEL_SDK_DISABLED: 'true' })).mesh.committedPerS;
      const exportedBefore = receiver.requests;
      console.error(`tracing pair ${pair}/${settings.pairs}: on`);
      const on = (await measure(tracingOn)).mesh.committedPerS;
      if (receiver.requests === exportedBefore) throw new Error('tracing was on but no spans reached the OTLP receiver');
      pairs.push({ off, on, ratio: on / off });
      console.error(`  off ${off.toFixed(0)} events/s, on ${on.toFixed(0)} events/s, ratio ${(on / off).toFixed(3)}`);
    }
  } finally {
    await receiver.close();
  }
  if (pairs.length === 0) return;
  const result = {
    tracing_ratio: round(median(pairs.map((pair) => pair.ratio))),
    tracing_off_events_per_s: Math.round(median(pairs.map((pair) => pair.off))),
    tracing_on_events_per_s: Math.round(median(pairs.map((pair) => pair.on))),
    sampling: 0.1,
    pairs: pairs.map((pair) => ({ off: Math.round(pair.off), on: Math.round(pair.on), ratio: round(pair.ratio) })),
    otlp_exports: receiver.requests,
    otlp_bytes: receiver.bytes,
  };
  console.log(`tracing on/off: ${result.tracing_ratio} (median of ${pairs.length} pairs: ${pairs.map((pair) => pair.ratio.toFixed(3)).join(', ')}); ` +
    `${result.tracing_on_events_per_s} vs ${result.tracing_off_events_per_s} events/s; ${receiver.requests} OTLP exports, ${(receiver.bytes / 1e6).toFixed(1)} MB`);
  if (settings.json) console.log(JSON.stringify(result));
}

async function startCountingOtlpReceiver(): Promise<{ url: string; readonly requests: number; readonly bytes: number; close(): Promise<void> }> {
  let requests = 0;
  let bytes = 0;
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => { bytes += chunk.length; });
    request.on('end', () => {
      requests += 1;
      // An empty ExportTraceServiceResponse: everything accepted.
      response.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 }).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    get requests() { return requests; },
    get bytes() { return bytes; },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
