import http from 'node:http';
import { Outcome } from './EventLedger.js';

const KEPT_BODY_CHARS = 4096;

/**
 * `POST /v1/events` for one API key, over keep-alive connections (node's http.request, as the load
 * generator's GatewayClient, which this does not change), reading from a 429's body why it was shed.
 */
export class EdgeHttpClient {
  readonly #endpoint: URL;
  readonly #agent: http.Agent;
  #inFlight = 0;

  constructor(gatewayUrl: string, private readonly token: string, readonly maxInFlight: number, private readonly timeoutMs = 10_000) {
    this.#endpoint = new URL('/v1/events', gatewayUrl);
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
  }

  get inFlight(): number { return this.#inFlight; }

  /** Sends one JSON array of `events` events, all of class `priority` (which it declares); never rejects: the outcome of all of them. */
  post(body: string, events: number, priority: string): Promise<Outcome> {
    this.#inFlight += 1;
    return new Promise<Outcome>((resolve) => {
      const request = http.request(this.#endpoint, {
        method: 'POST',
        agent: this.#agent,
        timeout: this.timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${this.token}`, 'x-priority-class': priority },
      }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => { if (text.length < KEPT_BODY_CHARS) text += chunk; });
        response.on('error', () => resolve(Outcome.failed));
        response.on('end', () => resolve(outcomeOf(response.statusCode ?? 0, text, events)));
      });
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', () => resolve(Outcome.failed));
      request.end(body);
    }).finally(() => { this.#inFlight -= 1; });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** 202 with every event accepted; 429 by its reason (a refusal before the body was read names no class); anything else failed. */
export function outcomeOf(status: number, body: string, events: number): Outcome {
  let answer: { accepted?: unknown; reason?: unknown; class?: unknown } = {};
  try {
    answer = JSON.parse(body) as typeof answer;
  } catch {
    // not JSON: the status decides
  }
  if (status === 202) return answer.accepted === events ? Outcome.admitted : Outcome.failed;
  if (status !== 429) return Outcome.failed;
  if (answer.reason === 'reserve') return Outcome.reserve;
  if (answer.reason === 'fair-share') return Outcome.fairShare;
  return answer.class === null || answer.class === undefined ? Outcome.noRoomUnread : Outcome.noRoom;
}
