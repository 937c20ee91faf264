import type { IncomingMessage, ServerResponse } from 'node:http';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import type { Breaker } from '../lib/breaker.js';
import { FaultSettingsError } from '../lib/faults.js';
import { createLogger } from '../lib/log.js';
import { readJson, reply } from '../lib/service/jsonHttp.js';
import type { ApiKeyring } from '../lib/security/ApiKeyring.js';
import { anonymousCaller, type RateLimiter } from '../lib/security/RateLimiter.js';
import { endRequestSpan, startRequestSpan, type Context } from '../lib/telemetry/batchSpans.js';
import type { StageClock } from '../lib/telemetry/StageClock.js';
import type { StaticFile } from './dashboardFiles.js';
import type { EdgeTraffic } from './EdgeTraffic.js';
import { markAdmitted, type Admission, type Verdict } from './admission/Admission.js';
import { classOfRequest } from './admission/priorityClasses.js';
import { hotItems } from './hotItems.js';
import { IntakeUnavailableError, NoCreditError, type IntakeClient } from './IntakeClient.js';
import { HopRefusedError, type MeshPressure } from './MeshPressure.js';
import { parseEvents, type ParseLimits } from './parseEvents.js';
import type { PressureStream } from './PressureStream.js';

const log = createLogger('gateway');

export interface HttpApiOptions extends ParseLimits {
  maxBodyBytes: number;
  intake: IntakeClient;
  /** Who gets the intake's credit when it is scarce: by priority class, and by key's weighted share. */
  admission: Admission;
  pool: pg.Pool;
  databaseBreaker: Breaker;
  /** The callers' keys; with none, /v1/* is open to anyone (for local use). */
  keyring: ApiKeyring;
  /** Events per second per caller; unlimited when absent. */
  rateLimiter?: RateLimiter;
  edge: EdgeTraffic;
  pressure: MeshPressure;
  pressureStream: PressureStream;
  /** The dashboard's files, by path. */
  dashboard: Map<string, StaticFile>;
  /** The gateway's clock: parsing a request is its work (reading the body is waiting for input). */
  clock?: StageClock;
}

class BodyTooLargeError extends Error {}

/** The gateway's HTTP routes: ingest, the hot-items read API, the pressure API and dashboard, fault switches, metrics, health and readiness. */
export function createHttpApi(options: HttpApiOptions): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    route(request, response, options).catch((error: unknown) => {
      log.error('request failed', { method: request.method, url: request.url, error: String(error) });
      if (!response.headersSent) reply(response, 500, { error: 'internal error' });
      else response.destroy();
    });
  };
}

async function route(request: IncomingMessage, response: ServerResponse, options: HttpApiOptions): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://gateway');
  const method = request.method ?? 'GET';
  const allow = (methods: string) => { response.setHeader('Allow', methods); reply(response, 405, { error: `use ${methods}` }); };
  let caller = anonymousCaller;
  if (url.pathname.startsWith('/v1/') && options.keyring.enabled) {
    const name = options.keyring.authenticate(request.headers.authorization);
    if (name === undefined) return refuseUnauthenticated(request, response);
    caller = name;
  }
  const page = options.dashboard.get(url.pathname);
  if (page) {
    if (method !== 'GET') return allow('GET');
    response.writeHead(200, { 'Content-Type': page.contentType, 'Content-Length': page.body.length, 'Cache-Control': 'no-cache' });
    return void response.end(page.body);
  }
  switch (url.pathname) {
    case '/v1/events':
      return method === 'POST' ? tracedIngest(request, response, options, caller) : allow('POST');
    case '/v1/hot-items':
      return method === 'GET' ? readHotItems(url, response, options) : allow('GET');
    case '/v1/pressure':
      return method === 'GET' ? reply(response, 200, await options.pressure.report()) : allow('GET');
    case '/v1/pressure/stream':
      if (method !== 'GET') return allow('GET');
      if (!options.pressureStream.watch(response)) reply(response, 503, { error: `at most ${options.pressureStream.maxWatchers} pressure streams at once` });
      return;
    case '/v1/faults':
      if (method === 'GET') return reply(response, 200, (await options.pressure.report()).faults);
      return method === 'PUT' ? setFaults(request, response, options) : allow('GET, PUT');
    case '/metrics':
      if (method !== 'GET') return allow('GET');
      response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      return void response.end(await options.pressure.metricsText());
    case '/healthz':
      return reply(response, 200, { status: 'ok' });
    case '/readyz':
      return options.intake.connected ? reply(response, 200, { status: 'ready' }) : reply(response, 503, { status: 'not connected to the source' });
    default:
      return reply(response, 404, { error: `no route ${url.pathname}` });
  }
}

function refuseUnauthenticated(request: IncomingMessage, response: ServerResponse): void {
  const presented = request.headers.authorization !== undefined;
  response.setHeader('Connection', 'close'); // not worth reading, nor keeping a connection for, whatever body follows
  response.setHeader('WWW-Authenticate', presented ? 'Bearer realm="flow-mesh", error="invalid_token"' : 'Bearer realm="flow-mesh"');
  reply(response, 401, { error: presented ? 'the bearer token is not valid' : 'an Authorization: Bearer <token> header is required' });
}

/** Ingest inside its request's span; every answer is counted by status. */
async function tracedIngest(request: IncomingMessage, response: ServerResponse, options: HttpApiOptions, caller: string): Promise<void> {
  const { span, context } = startRequestSpan('POST', '/v1/events', request.headers);
  let accepted = 0;
  response.once('close', () => {
    endRequestSpan(span, response.statusCode);
    options.edge.answered(response.statusCode, accepted);
  });
  accepted = await ingest(request, response, options, caller, context);
}

/** Answers the request; resolves with the number of events accepted. */
async function ingest(request: IncomingMessage, response: ServerResponse, options: HttpApiOptions, caller: string, trace: Context): Promise<number> {
  // Under overload most requests are refused: deciding that before the body is read and parsed spares the work.
  // Not a request that claims the highest class, though, while that class may wait for room: only its body can tell if it is one.
  const declaredBytes = Number(request.headers['content-length'] ?? 0);
  const requested = request.headers['x-priority-class'];
  const requestedClass = Array.isArray(requested) ? requested[0] : requested;
  const mayWait = options.admission.room.open && requestedClass === options.admission.policy.classes[0]!.name;
  const refusal = declaredBytes <= options.maxBodyBytes && !mayWait ? options.intake.refusalForAnyRequest() : undefined;
  if (refusal) {
    discardBody(request, options.maxBodyBytes);
    await refuseForCapacity(response, options, refusal);
    return 0;
  }
  let body: string;
  try {
    body = await readBody(request, options.maxBodyBytes);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    response.setHeader('Connection', 'close');
    reply(response, 413, { error: `the body is larger than ${options.maxBodyBytes} bytes` });
    return 0;
  }
  const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const endParse = options.clock?.begin('work');
  const parsed = parseEvents(body, contentType, options);
  endParse?.();
  if (!parsed.ok) {
    reply(response, parsed.status, { error: parsed.error, errors: parsed.errors });
    return 0;
  }
  const choice = classOfRequest(options.admission.policy, parsed.events.map((event) => event.kind!), requestedClass, caller);
  if (!choice.ok) {
    reply(response, 400, { error: choice.error });
    return 0;
  }
  const { priority } = choice;
  const bucket = options.rateLimiter?.bucketOf(caller);
  const taken = bucket?.take(parsed.events.length);
  if (bucket && taken && !taken.taken) {
    if (taken.retryAfterSeconds === Infinity) {
      reply(response, 413, { error: `at most ${bucket.capacity} events per request fit your rate limit` });
      return 0;
    }
    response.setHeader('Retry-After', String(taken.retryAfterSeconds));
    reply(response, 429, { error: `your rate limit (${bucket.ratePerSecond} events/s, burst ${bucket.capacity}) is used up; retry after the given seconds` });
    return 0;
  }
  const tooLarge = options.intake.tooLarge(parsed.events.length);
  if (tooLarge) {
    bucket?.refund(parsed.events.length);
    reply(response, 413, { error: tooLarge.message });
    return 0;
  }
  // Waiting for room is waiting for the source's credit: the gateway is back-pressured meanwhile.
  const verdict = await options.admission.decideOrWait(caller, priority, parsed.events.length, () => options.intake.refusedForCredit(parsed.events.length));
  if (!verdict.admitted) {
    bucket?.refund(parsed.events.length);
    // Back-pressured only when the link has no room for it at all: a class's reserve is the edge's own choice, not downstream's.
    if (verdict.reason === 'no-room') options.intake.refusedForCredit(parsed.events.length);
    await refuseForCapacity(response, options, new NoCreditError(verdict.retryAfterSeconds, parsed.events.length), verdict);
    return 0;
  }
  markAdmitted(parsed.events, priority, caller);
  try {
    await options.intake.submit(parsed.events, trace);
    options.admission.admitted(caller, priority, parsed.events.length);
    reply(response, 202, { accepted: parsed.events.length, class: priority.name });
    return parsed.events.length;
  } catch (error) {
    // Tokens pay for events the mesh takes. Every refusal below tells the caller to send the events again
    // (and a 503 after a reset leaves nothing it can count on), so charging now would bill them twice and
    // let the mesh's own back-pressure use up the caller's limit.
    bucket?.refund(parsed.events.length);
    if (error instanceof NoCreditError) {
      options.admission.count(caller, priority, 'shed', parsed.events.length);
      await refuseForCapacity(response, options, error);
    } else if (error instanceof IntakeUnavailableError) {
      response.setHeader('Retry-After', '1');
      reply(response, 503, { error: error.message });
    } else {
      throw error;
    }
    return 0;
  }
}

const shedMessages = {
  'no-room': 'the mesh is at capacity; retry after the given seconds',
  reserve: 'the mesh is short of room, and keeps what is left for higher priority classes; retry after the given seconds',
  'fair-share': 'the mesh is short of room, and your key has had more than its share of it lately; retry after the given seconds',
} as const;

/**
 * 429: which class was shed and why (no verdict: refused before its body was read, when there is no
 * room for any class), when each class would be admitted, and which hop holds the mesh back.
 */
async function refuseForCapacity(response: ServerResponse, options: HttpApiOptions, refusal: NoCreditError, verdict?: Exclude<Verdict, { admitted: true }>): Promise<void> {
  // Which hop holds the mesh back, and why: what an operator (or an autoscaler) acts on.
  const bottleneck = await options.pressure.bottleneck();
  // The later of when the link to the source has credit again (at the rate the source confirmed) and
  // when the intake has room (at the rate the source measures it drain), in whole seconds, 1..30.
  const intakeRoom = Math.ceil(options.pressure.intakeRoomSeconds(refusal.events) ?? 0);
  const retryAfter = Math.min(30, Math.max(refusal.retryAfterSeconds, intakeRoom));
  const retryAfterByClass = verdict
    ? Object.fromEntries(Object.entries(verdict.retryAfterByClass).map(([name, seconds]) => [name, Math.min(30, Math.max(seconds, intakeRoom))]))
    : Object.fromEntries(options.admission.policy.classes.map(({ name }) => [name, retryAfter]));
  response.setHeader('Retry-After', String(retryAfter));
  reply(response, 429, {
    error: shedMessages[verdict?.reason ?? 'no-room'],
    class: verdict?.priority.name ?? null,
    reason: verdict?.reason ?? 'no-room',
    retry_after_seconds: retryAfterByClass,
    bottleneck,
  });
}

async function setFaults(request: IncomingMessage, response: ServerResponse, options: HttpApiOptions): Promise<void> {
  const body = await readJson(request);
  if (body instanceof Error) return reply(response, 400, { error: body.message });
  try {
    reply(response, 200, await options.pressure.setFaults(body));
  } catch (error) {
    if (error instanceof FaultSettingsError) return reply(response, options.pressure.faultSwitchesEnabled ? 400 : 403, { error: error.message });
    if (error instanceof HopRefusedError) return reply(response, error.status, { error: error.message });
    throw error;
  }
}

async function readHotItems(url: URL, response: ServerResponse, options: HttpApiOptions): Promise<void> {
  const minuteText = url.searchParams.get('minute');
  const minute = minuteText === null ? new Date() : new Date(minuteText);
  if (Number.isNaN(minute.getTime())) return reply(response, 400, { error: 'minute must be an RFC 3339 timestamp' });
  const limitText = url.searchParams.get('limit') ?? '10';
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return reply(response, 400, { error: 'limit must be an integer from 1 to 1000' });
  try {
    reply(response, 200, await hotItems(options.pool, options.databaseBreaker, minute, limit));
  } catch (error) {
    log.warn('hot items unavailable', { error: String(error) });
    response.setHeader('Retry-After', '1');
    reply(response, 503, { error: 'the results database is unavailable' });
  }
}

/**
 * Reads and drops the body of a request answered without it, so that its connection can carry the
 * next request; a body longer than `maxBytes` (chunked, so undeclared) closes the connection instead.
 */
function discardBody(request: IncomingMessage, maxBytes: number): void {
  let size = 0;
  request.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) request.destroy();
  });
  request.on('error', () => {}); // a client gone mid-body: nothing is waiting for it
  request.resume();
}

function readBody(request: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > maxBytes) return Promise.reject(new BodyTooLargeError());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        request.removeAllListeners('data');
        request.resume();
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
