import http from 'node:http';
import https from 'node:https';

/** What the gateway made of one batch, per its contract. */
export type BatchOutcome =
  | { kind: 'accepted' }
  | { kind: 'rejected'; retryAfterMs: number }
  | { kind: 'failed'; reason: string; detail: string };

const KEPT_BODY_CHARS = 4096;
const DEFAULT_RETRY_AFTER_MS = 1000;

/**
 * `POST /v1/events` over keep-alive connections with node's http.request rather than the built-in
 * fetch: measured on the 2-core machine, the whole load generator at 20 000 events/s took 18% of a
 * core with http.request against 40% with fetch in batches of 100, 26% against 75% in batches of 20.
 */
export class GatewayClient {
  private readonly endpoint: URL;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;

  /** `apiKey`: the bearer token of a gateway that requires one. */
  constructor(gatewayUrl: string, maxConnections: number, private readonly timeoutMs: number, private readonly apiKey?: string) {
    this.endpoint = new URL('/v1/events', gatewayUrl);
    this.transport = this.endpoint.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: maxConnections });
  }

  /** Sends one JSON array of `eventCount` events; never rejects, a network error is a failed outcome. */
  post(body: string, eventCount: number): Promise<BatchOutcome> {
    return new Promise((resolve) => {
      const fail = (error: Error) => resolve({ kind: 'failed', reason: networkReason(error), detail: error.message });
      const request = this.transport.request(this.endpoint, {
        method: 'POST',
        agent: this.agent,
        timeout: this.timeoutMs,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
        },
      }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => { if (text.length < KEPT_BODY_CHARS) text += chunk; });
        response.on('error', fail);
        response.on('end', () => resolve(classify(response.statusCode ?? 0, response.headers['retry-after'], text, eventCount)));
      });
      request.on('timeout', () => request.destroy(new TimeoutError(`no answer within ${this.timeoutMs} ms`)));
      request.on('error', fail);
      request.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

class TimeoutError extends Error {}

function classify(status: number, retryAfter: string | undefined, body: string, eventCount: number): BatchOutcome {
  if (status === 202) {
    const accepted = acceptedCount(body);
    return accepted === eventCount ? { kind: 'accepted' } : { kind: 'failed', reason: '202 with a wrong count', detail: `accepted ${accepted} of ${eventCount}: ${body}` };
  }
  if (status === 429) return { kind: 'rejected', retryAfterMs: retryAfterMs(retryAfter) };
  return { kind: 'failed', reason: `HTTP ${status}`, detail: body };
}

function acceptedCount(body: string): unknown {
  try {
    return (JSON.parse(body) as { accepted?: unknown }).accepted;
  } catch {
    return undefined;
  }
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110). */
function retryAfterMs(header: string | undefined): number {
  if (header === undefined) return DEFAULT_RETRY_AFTER_MS;
  const seconds = Number(header);
  if (header.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? DEFAULT_RETRY_AFTER_MS : Math.max(0, date - Date.now());
}

function networkReason(error: Error): string {
  if (error instanceof TimeoutError) return 'timeout';
  return `network ${(error as NodeJS.ErrnoException).code ?? error.message}`;
}
