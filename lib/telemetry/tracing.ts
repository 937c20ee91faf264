import { NodeSDK } from '@opentelemetry/sdk-node';

export interface Tracing { shutdown(): Promise<void> }

/**
 * Starts the OpenTelemetry Node SDK for one service. Everything else comes from
 * the standard OTEL_* variables, as every OpenTelemetry user expects:
 * OTEL_EXPORTER_OTLP_ENDPOINT and _PROTOCOL, OTEL_TRACES_SAMPLER(_ARG),
 * OTEL_TRACES_EXPORTER, OTEL_SDK_DISABLED. OTEL_SERVICE_NAME, when set, wins
 * over the service's own name. No automatic instrumentation: the spans that
 * matter (per batch, per credit wait, per dependency call) are made by the
 * stage runtime and the breakers.
 */
export function startTracing(serviceName: string): Tracing {
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ? undefined : serviceName,
    instrumentations: [],
    // Metrics are Prometheus text on the admin port; logs are JSON lines on stderr.
    metricReaders: [],
    logRecordProcessors: [],
    // Contexts are passed explicitly, batch by batch: no AsyncLocalStorage, whose hooks would tax
    // every promise of these promise-heavy processes (measured: 10-15% of the mesh's throughput).
    // (null: "register none", as the SDK reads it; its type does not say so yet.)
    contextManager: null as unknown as undefined,
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
