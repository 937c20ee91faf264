import {
  ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, propagation, trace,
  type Attributes, type Context, type Link, type Span,
} from '@opentelemetry/api';

const tracer = trace.getTracer('flow-mesh');

/** The system name the messaging attributes carry for this mesh's links. */
const messagingSystem = 'flow-mesh';

export type TraceCarrier = Record<string, string>;

/**
 * The context a batch's W3C trace context (rule 6) names. A batch that names
 * none was not sampled where its trace began: its spans here are not sampled
 * either (traces begin at the edge, or with the caller).
 */
export function contextOf(carrier: TraceCarrier | undefined): Context {
  if (carrier?.traceparent === undefined) return unsampled;
  const extracted = propagation.extract(ROOT_CONTEXT, carrier);
  // A traceparent that does not parse is no trace context at all: it starts no trace of its own either.
  return trace.getSpanContext(extracted) ? extracted : unsampled;
}

/** A parent that says "not sampled" to any parent-based sampler. */
const unsampled = trace.setSpanContext(ROOT_CONTEXT, { traceId: '1'.repeat(32), spanId: '1'.repeat(16), traceFlags: TraceFlags.NONE, isRemote: true });

/**
 * The W3C trace context of `span`, for the next Batch frame or intake entry;
 * empty when the span is not sampled, so unsampled batches carry nothing
 * (and a hop that receives nothing does not start a trace of its own: see
 * `contextOf`).
 */
export function carrierOf(span: Span): TraceCarrier {
  const carrier: TraceCarrier = {};
  if (span.isRecording()) propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return carrier;
}

/** Whether a carrier names a trace that is being sampled. */
export function isSampled(carrier: TraceCarrier | undefined): boolean {
  const flags = carrier?.traceparent?.split('-')[3];
  return flags !== undefined && (Number.parseInt(flags, 16) & 1) === 1;
}

export interface BatchAttributes {
  /** The link the batch came in on or goes out on, e.g. "join->sink". */
  link: string;
  events: number;
  /** Credit the hop had downstream when it took the batch. */
  creditAvailable?: number;
  /** Events waiting in the hop's inbound links when it took the batch. */
  queueDepth?: number;
  /** State of the hop's breakers, e.g. "postgres:closed". */
  breakerState?: string;
}

function batchAttributes(operation: 'process' | 'send', batch: BatchAttributes): Attributes {
  const attributes: Attributes = {
    'messaging.system': messagingSystem,
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
    'messaging.destination.name': batch.link,
    'messaging.batch.message_count': batch.events,
    'rpc.system': 'grpc',
    'rpc.service': 'mesh.flow.v1.Flow',
    'rpc.method': 'Exchange',
  };
  if (batch.creditAvailable !== undefined) attributes['mesh.credit.available'] = batch.creditAvailable;
  if (batch.queueDepth !== undefined) attributes['mesh.queue.depth'] = batch.queueDepth;
  if (batch.breakerState !== undefined) attributes['mesh.breaker.state'] = batch.breakerState;
  return attributes;
}

/** A hop processing one batch: a CONSUMER span, child of the span that sent the batch. */
export function startProcessSpan(stage: string, parent: Context, batch: BatchAttributes, links: Link[] = []): { span: Span; context: Context } {
  const span = tracer.startSpan(`process ${stage}`, { kind: SpanKind.CONSUMER, attributes: batchAttributes('process', batch), links }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** A hop sending one batch downstream: a PRODUCER span whose context travels in the Batch frames. */
export function startSendSpan(parent: Context, batch: BatchAttributes, links: Link[] = []): { span: Span; carrier: TraceCarrier } {
  const span = tracer.startSpan(`send ${batch.link}`, { kind: SpanKind.PRODUCER, attributes: batchAttributes('send', batch), links }, parent);
  return { span, carrier: carrierOf(span) };
}

/**
 * The time a batch waited at this hop for downstream credit (rule 6), as a
 * span of its own with the wait's real start and end.
 */
export function recordCreditWait(parent: Context, link: string, startMs: number, endMs: number, events: number, receiverWindow?: number): void {
  if (endMs <= startMs) return;
  const span = tracer.startSpan('credit.wait', {
    kind: SpanKind.INTERNAL,
    startTime: startMs,
    attributes: {
      'messaging.destination.name': link, 'messaging.batch.message_count': events, 'mesh.credit.wait_ms': endMs - startMs,
      // The window in force: what the receiver lets the link hold, as its last grant said.
      ...(receiverWindow ? { 'mesh.credit.window': receiverWindow } : {}),
    },
  }, parent);
  span.end(endMs);
}

/**
 * An HTTP request served: a SERVER span continuing the caller's trace when its
 * headers carry W3C trace context. End it with `endRequestSpan`.
 */
export function startRequestSpan(method: string, route: string, headers: Record<string, string | string[] | undefined>): { span: Span; context: Context } {
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  const span = tracer.startSpan(`${method} ${route}`, {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': method, 'http.route': route, 'url.path': route },
  }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

export function endRequestSpan(span: Span, status: number): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** Ends `span` as failed with `error`. */
export function endFailed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  span.end();
}

/** A Redis or Postgres call, as a CLIENT span under the (sampled) batch it serves, `parent`; none outside a batch. */
export async function withDependencySpan<T>(system: 'redis' | 'postgresql', operation: string, breakerState: string, parent: Context | undefined, call: () => Promise<T>): Promise<T> {
  if (!parent || !trace.getSpan(parent)?.isRecording()) return call();
  const span = tracer.startSpan(operation, {
    kind: SpanKind.CLIENT,
    attributes: { 'db.system.name': system, 'db.operation.name': operation, 'mesh.breaker.state': breakerState },
  }, parent);
  try {
    const result = await call();
    span.end();
    return result;
  } catch (error) {
    endFailed(span, error);
    throw error;
  }
}

export { trace, type Context, type Link, type Span };
