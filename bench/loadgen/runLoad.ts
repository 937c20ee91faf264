import { open } from 'node:fs/promises';
import type { WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventFactory, newRunId, type GatewayEvent } from './eventFactory.js';
import { GatewayClient } from './gatewayClient.js';
import { offeredBy, rateAt, type Burst } from './schedule.js';
import { LoadTally, type SecondStats, type Totals } from './tally.js';

export interface LoadOptions {
  /** Target rate in events/s. */
  rate: number;
  durationS: number;
  /** The gateway's base URL; events go to `/v1/events` on it. */
  url?: string;
  burst?: Burst | undefined;
  /** Events per request. */
  batch?: number;
  /** Requests outstanding at most (a batch waiting to be retried counts); a batch due beyond it is dropped by the client. */
  concurrency?: number;
  users?: number;
  products?: number;
  /** Retries of a batch answered 429, each after its Retry-After; 0 = never retry. */
  retry429?: number;
  /** Where to write the ids of the accepted events, one per line. */
  idsFile?: string | undefined;
  requestTimeoutMs?: number;
  /** Aborting stops sending; the requests in flight are still awaited and counted. */
  signal?: AbortSignal | undefined;
  onSecond?: (second: SecondStats, inFlight: number) => void;
}

export interface LoadSummary extends Totals {
  run_id: string;
  url: string;
  batch: number;
  concurrency: number;
  /** Seconds from the start to the last answer. */
  duration_s: number;
  /** Events offered (sent or dropped by the client) per second while sending. */
  offered_rate: number;
  accepted_per_s: number;
  stopped_early: boolean;
}

export const LOAD_DEFAULTS = {
  batch: 100,
  concurrency: 64,
  users: 1000,
  products: 500,
  retry429: 0,
  requestTimeoutMs: 10_000,
};

export function defaultGatewayUrl(): string {
  return `http://127.0.0.1:${process.env.GATEWAY_PORT ?? 8080}`;
}

// The schedule is re-read at least this often, so a burst starts on time even at a low base rate.
const MAX_TIMER_MS = 20;
const MAX_RETRY_WAIT_MS = 30_000;

/**
 * Offers events to the gateway open-loop: batches leave when the wall clock says they are due,
 * whatever the answers, with at most `concurrency` requests outstanding.
 */
export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const settings = { ...LOAD_DEFAULTS, url: defaultGatewayUrl(), ...withoutUndefined(options) };
  const { durationS, batch, concurrency, signal } = settings;
  const runId = newRunId();
  const events = new EventFactory(runId, settings.users, settings.products);
  // From the environment, not an option: a token on the command line shows in every process list.
  const client = new GatewayClient(settings.url, concurrency, settings.requestTimeoutMs, process.env.LOADGEN_API_KEY || undefined);
  const idsFile = settings.idsFile === undefined ? undefined : (await open(settings.idsFile, 'w')).createWriteStream();
  const startMs = performance.now();
  const inFlight = new Set<Promise<void>>();
  const tally = new LoadTally(startMs, (second) => settings.onSecond?.(second, inFlight.size));

  const deliver = async (batchEvents: GatewayEvent[]): Promise<void> => {
    const body = JSON.stringify(batchEvents);
    for (let attempt = 0; ; attempt += 1) {
      const requestStartMs = performance.now();
      const outcome = await client.post(body, batchEvents.length);
      const nowMs = performance.now();
      if (outcome.kind === 'accepted') {
        tally.accepted(batchEvents.length, nowMs - requestStartMs, nowMs);
        idsFile?.write(`${batchEvents.map((event) => event.id).join('\n')}\n`);
        return;
      }
      if (outcome.kind === 'failed') return tally.failed(batchEvents.length, outcome.reason, outcome.detail, nowMs);
      if (attempt >= settings.retry429 || !(await waitUnlessStopped(Math.min(outcome.retryAfterMs, MAX_RETRY_WAIT_MS), signal))) {
        return tally.rejected(batchEvents.length, performance.now());
      }
      tally.retriedAfter429(batchEvents.length);
    }
  };

  const offerBatch = (nowMs: number) => {
    tally.offered(batch, nowMs);
    if (inFlight.size >= concurrency) return tally.droppedByClient(batch, nowMs);
    tally.sent(batch, nowMs);
    const delivery = deliver(events.batch(batch)).finally(() => inFlight.delete(delivery));
    inFlight.add(delivery);
  };

  let batchesOffered = 0;
  let sendingEndedMs = startMs;
  await new Promise<void>((sendingEnded) => {
    let timer: NodeJS.Timeout | undefined;
    const end = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', end);
      sendingEndedMs = Math.min(performance.now(), startMs + durationS * 1000);
      sendingEnded();
    };
    const sendWhatIsDue = () => {
      const nowMs = performance.now();
      const elapsedS = (nowMs - startMs) / 1000;
      if (elapsedS >= durationS) return end();
      while (batchesOffered * batch <= offeredBy(settings, elapsedS)) {
        batchesOffered += 1;
        offerBatch(nowMs);
      }
      tally.closeSecondsUntil(nowMs);
      const currentRate = rateAt(settings, elapsedS);
      const untilNextBatchMs = currentRate > 0 ? ((batchesOffered * batch - offeredBy(settings, elapsedS)) / currentRate) * 1000 : MAX_TIMER_MS;
      const delayMs = Math.min(untilNextBatchMs, MAX_TIMER_MS, tally.msUntilNextSecond(nowMs), (durationS - elapsedS) * 1000);
      timer = setTimeout(sendWhatIsDue, Math.max(1, delayMs));
    };
    if (signal?.aborted) return end();
    signal?.addEventListener('abort', end, { once: true });
    sendWhatIsDue();
  });

  // While the last answers come in, seconds still end on time for the progress line.
  const secondTimer = setInterval(() => tally.closeSecondsUntil(performance.now()), 100);
  await Promise.all(inFlight);
  clearInterval(secondTimer);
  client.close();
  if (idsFile) await new Promise((closed) => idsFile.end(closed));

  const endMs = performance.now();
  const totals = tally.finish(endMs);
  const durationSeconds = (endMs - startMs) / 1000;
  const sendingSeconds = (sendingEndedMs - startMs) / 1000;
  return {
    run_id: runId,
    url: settings.url,
    batch,
    concurrency,
    ...totals,
    duration_s: round(durationSeconds, 3),
    offered_rate: round(sendingSeconds > 0 ? (totals.sent + totals.dropped_by_client) / sendingSeconds : 0, 1),
    accepted_per_s: round(durationSeconds > 0 ? totals.accepted / durationSeconds : 0, 1),
    stopped_early: signal?.aborted === true && sendingSeconds < durationS,
  };
}

/** Resolves false, without waiting out the delay, once the run is stopped. */
async function waitUnlessStopped(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** So that an option given as undefined takes its default. */
function withoutUndefined<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as T;
}

function round(value: number, decimals: number): number {
  return Number(value.toFixed(decimals));
}
