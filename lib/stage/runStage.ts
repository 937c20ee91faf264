import { asDeadLetter, eventRejection } from '../contract/eventRules.js';
import type { Event, Event__Output } from '../contract/loadContract.js';
import { bindServer, createFlowServer, type FlowServerOptions } from '../flow/FlowServer.js';
import type { Delivery } from '../flow/LinkReceiver.js';
import { EventTooLargeError, LinkResetError } from '../flow/linkErrors.js';
import { createLogger } from '../log.js';
import type { LinkCredentials } from '../security/linkCredentials.js';
import type { ServiceHealth } from '../service/ServiceHealth.js';
import {
  contextOf, endFailed, recordCreditWait, startProcessSpan, startSendSpan, type Context,
} from '../telemetry/batchSpans.js';
import type { HopPressure } from '../telemetry/HopPressure.js';
import type { Downstream } from './Downstream.js';
import { openDownstream, type RoutingSettings } from './openDownstream.js';
import type { Inbound } from './Inbound.js';
import { InboundLinks } from './InboundLinks.js';
import { Semaphore } from './Semaphore.js';
import type { Topics } from './topics/Topics.js';

export interface StageDefinition {
  /** The service's name, e.g. "enrichment". */
  name: string;
  /** host:port to listen on for upstream links. */
  listen: string;
  receiver: Omit<FlowServerOptions, 'receiver'>;
  /** Where processed events go; the sink has no downstream. */
  downstream?: { target: string; link: string };
  /** Batches processed at once. */
  concurrency: number;
  /** TLS for the links in and out; insecure when absent. */
  credentials?: LinkCredentials;
  /** Where the stage reports its time, links and events. */
  pressure: HopPressure;
  /** gRPC health and reflection, served beside the links. */
  health?: ServiceHealth;
  /** How batches are spread over the replicas of the next stage. */
  routing?: RoutingSettings;
  /** In the decoupled mode: the topics that replace the links in and out. */
  topics?: Topics | undefined;
  /**
   * What this hop does to one batch: the events to pass on (for the sink:
   * resolves once they are committed). It holds, rather than throws, while a
   * dependency is unavailable; it marks an event it cannot process with
   * `deadLetter`, or throws, and the runtime finds the event that made it throw.
   * `trace` is the batch's span: the parent of the spans of its Redis and Postgres calls.
   * `signal` aborts when the stage stops and its grace period is over: a batch still held
   * then is given up (its upstream re-delivers it).
   */
  process(events: Event__Output[], trace: Context, signal: AbortSignal): Promise<Event[]>;
}

/** How long stop() lets the batches in hand finish before it gives them up. */
const stopGraceMs = 5_000;

export interface RunningStage {
  /** host:port it listens on (the port bound, when 0 was asked for). */
  address: string;
  inbound: Inbound;
  downstream: Downstream | undefined;
  /** Stops taking, finishes and passes on what is in flight (acknowledgements included, within the sender's close timeout), then closes. */
  stop(): Promise<void>;
}

interface Output { delivery: Delivery; result: Promise<Event[]>; context: Context }
interface PendingAck { generation: number; end: number; delivery: Delivery }

/**
 * The runtime every hop shares. It takes from its upstream links only as many
 * events as its downstream has credit for (rule 4), processes a bounded number
 * of batches at once, passes results on in order, and acknowledges each
 * upstream delivery only when downstream acknowledged what it became (rule 5).
 * When the downstream link resets, it resets its upstream links too, so the
 * intake re-delivers whatever was in flight (rule 8).
 */
export async function runStage(definition: StageDefinition): Promise<RunningStage> {
  const log = createLogger(definition.name);
  const links = new InboundLinks();
  const server = createFlowServer({ ...definition.receiver, receiver: definition.name }, (link) => {
    log.info('upstream link opened', { link: link.name, sender: link.sender });
    links.add(link);
  });
  definition.health?.addTo(server);
  const port = await bindServer(server, definition.listen, definition.credentials?.server);
  const { topics } = definition;
  const inbound: Inbound = topics ? await topics.reader(definition.name) : links;
  const sender = definition.downstream && openDownstream(definition.name, definition.downstream, { credentials: definition.credentials, topics, routing: definition.routing });

  const { pressure } = definition;
  pressure.watchInbound(inbound);
  if (sender) pressure.watchOutbound(sender);

  const slots = new Semaphore(definition.concurrency);
  const stopping = new AbortController();
  const givingUp = new AbortController();
  const outputs: Output[] = [];
  const pendingAcks: PendingAck[] = [];
  let reserved = 0;
  /** Batches taken and not yet passed on. */
  let inHand = 0;
  let waitingFor: 'slot' | 'credit' | 'input' | undefined;
  /** Flink's clock: waiting for credit is back-pressure; waiting for input with nothing in hand is idleness; the rest is work. */
  const updateClock = () => {
    if (waitingFor === 'credit') pressure.clock.enter('backpressured');
    else if (inHand === 0 && waitingFor === 'input') pressure.clock.enter('idle');
    else pressure.clock.enter('busy');
  };
  let wakeSendLoop: (() => void) | undefined;
  let wakeBudget: (() => void) | undefined;
  const signalBudget = () => { const wake = wakeBudget; wakeBudget = undefined; wake?.(); };

  sender?.on('credit', signalBudget);
  sender?.on('ack', ({ generation, offset }: { generation: number; offset: number }) => {
    while (pendingAcks.length > 0) {
      const head = pendingAcks[0]!;
      if (head.generation === generation && head.end > offset) break;
      pendingAcks.shift();
      if (head.generation === generation) head.delivery.acknowledge();
    }
  });
  sender?.on('reset', ({ generation, unacknowledged, details }: { generation: number; unacknowledged: number; details: string }) => {
    for (let i = pendingAcks.length - 1; i >= 0; i -= 1) if (pendingAcks[i]!.generation <= generation) pendingAcks.splice(i, 1);
    signalBudget();
    // A link that lost nothing (it flapped before carrying events, or everything was acknowledged) costs upstream no re-delivery.
    if (unacknowledged === 0) return;
    log.warn('downstream link reset; resetting upstream links so the intake re-delivers', { link: definition.downstream!.link, status: details, unacknowledged });
    inbound.resetAll(`downstream link ${definition.downstream!.link} reset`);
  });

  /** Events this stage may take now: what downstream has granted and is not yet spoken for. */
  async function downstreamBudget(): Promise<{ events: number; waitedFromMs?: number }> {
    if (!sender) return { events: definition.receiver.maxBatchEvents };
    let waitedFromMs: number | undefined;
    for (;;) {
      const free = sender.stats().availableCredit - reserved;
      if (free > 0 || stopping.signal.aborted) {
        waitingFor = undefined;
        return { events: Math.max(free, 0), waitedFromMs };
      }
      waitedFromMs ??= Date.now();
      waitingFor = 'credit';
      updateClock();
      await new Promise<void>((resolve) => { wakeBudget = resolve; });
    }
  }

  /**
   * Dead letters pass through a hop untouched, except the sink, which writes them (and checks
   * what it writes). An event that breaks the contract's rules becomes one here: the hop in
   * front may be someone else's program.
   */
  async function processBatch(events: Event__Output[], trace: Context): Promise<Event[]> {
    if (!sender) return processIsolating(events, trace);
    const live: Event__Output[] = [];
    const passed: Event[] = [];
    for (const event of events) {
      if (event.deadLetter) { passed.push(event); continue; }
      const reason = eventRejection(event);
      if (reason) passed.push(asDeadLetter(event, definition.name, reason));
      else live.push(event);
    }
    if (passed.length === 0) return processIsolating(events, trace);
    const processed = live.length > 0 ? await processIsolating(live, trace) : [];
    return [...processed, ...passed];
  }

  /**
   * A batch that throws is split in halves until the event that throws is
   * alone; that one becomes a dead letter, the rest goes on (a poison pill
   * must not block the stream, nor hold back the events around it).
   */
  async function processIsolating(events: Event__Output[], trace: Context): Promise<Event[]> {
    try {
      return await definition.process(events, trace, givingUp.signal);
    } catch (error) {
      if (givingUp.signal.aborted) throw error;
      if (events.length > 1) {
        const half = Math.ceil(events.length / 2);
        return [...(await processIsolating(events.slice(0, half), trace)), ...(await processIsolating(events.slice(half), trace))];
      }
      const reason = error instanceof Error ? error.message : String(error);
      log.warn('poison pill dead-lettered', { eventId: events[0]!.id, reason });
      const dead = asDeadLetter(events[0]!, definition.name, reason);
      if (sender) return [dead];
      return definition.process([dead], trace, givingUp.signal).catch((unrecordable: unknown) => {
        // Not even storable as a dead letter: the log is its only record, and the stream goes on.
        log.error('poison pill could not be dead-lettered; dropped', { eventId: dead.id, reason, error: String(unrecordable) });
        return [];
      });
    }
  }

  async function pump(): Promise<void> {
    while (!stopping.signal.aborted) {
      waitingFor = 'slot';
      updateClock();
      await slots.acquire();
      const budget = await downstreamBudget();
      const creditWaitEndMs = Date.now();
      waitingFor = 'input';
      updateClock();
      const delivery = budget.events > 0 ? await inbound.next(Math.min(budget.events, definition.receiver.maxBatchEvents), stopping.signal) : undefined;
      waitingFor = undefined;
      if (!delivery) {
        slots.release();
        wakeSendLoop?.();
        continue;
      }
      inHand += 1;
      updateClock();
      reserved += delivery.events.length;
      const parent = contextOf(delivery.traceContext);
      // The batch waited for credit here from when it arrived (or the wait began) until the wait ended.
      if (budget.waitedFromMs !== undefined) {
        recordCreditWait(parent, definition.downstream!.link, Math.max(budget.waitedFromMs, delivery.receivedAtMs), creditWaitEndMs, delivery.events.length);
      }
      const { span, context } = startProcessSpan(definition.name, parent, {
        link: delivery.link, events: delivery.events.length, creditAvailable: budget.events,
        queueDepth: inbound.queueDepth, breakerState: pressure.breakerStates,
      });
      const result = processBatch(delivery.events, context);
      result.then(() => span.end(), (error: unknown) => endFailed(span, error)); // and observed, in order, by the send loop
      outputs.push({ delivery, result, context });
      wakeSendLoop?.();
    }
  }

  /**
   * Sends a processed batch on. When its link resets before anything of it was lost (nothing
   * was acknowledged upstream of it yet, so no reset of the upstream link happened), it goes
   * again on the next connection. An event too large for any frame the receiver accepts goes
   * on as a (smaller) dead letter, and is dropped with a log line if even that does not fit.
   */
  async function sendOnward(sender: Downstream, output: Output, batch: Event[]): Promise<void> {
    let events = batch;
    const shrunk = new WeakSet<Event>();
    for (;;) {
      const send = startSendSpan(output.context, { link: sender.link, events: events.length, creditAvailable: sender.stats().availableCredit });
      try {
        const sent = await sender.send(events, send.carrier);
        pendingAcks.push({ generation: sent.generation, end: sent.offset + sent.count, delivery: output.delivery });
        return;
      } catch (error) {
        if (error instanceof LinkResetError && !output.delivery.abandoned) continue;
        if (!(error instanceof EventTooLargeError)) throw error;
        // The events before it are on their way: send the rest, the culprit replaced.
        const [culprit, ...rest] = events.slice(error.index);
        if (shrunk.has(culprit!)) {
          log.error('an event too large even as a dead letter was dropped', { eventId: error.eventId, error: error.message });
          events = rest;
        } else {
          const dead = asDeadLetter(culprit as Event__Output, culprit!.deadLetter?.stage ?? definition.name, culprit!.deadLetter?.reason ?? error.message);
          shrunk.add(dead);
          events = [dead, ...rest];
        }
        if (events.length === 0) {
          // Only the part before the culprit went: acknowledged upstream once downstream acknowledged what was sent so far.
          const { generation, sent } = sender.stats();
          pendingAcks.push({ generation, end: sent, delivery: output.delivery });
          return;
        }
      } finally {
        send.span.end();
      }
    }
  }

  async function passOn(): Promise<void> {
    for (;;) {
      const output = outputs.shift();
      if (!output) {
        if (stopping.signal.aborted && slots.inUse === 0) return;
        await new Promise<void>((resolve) => { wakeSendLoop = resolve; });
        wakeSendLoop = undefined;
        continue;
      }
      const { delivery } = output;
      try {
        const events = await output.result;
        if (delivery.abandoned) continue;
        if (!sender || events.length === 0) {
          delivery.acknowledge();
          if (!sender) pressure.countOut(delivery.events.length);
        } else {
          await sendOnward(sender, output, events);
        }
      } catch (error) {
        if (!(error instanceof LinkResetError)) {
          log.error('batch failed; its link is reset so upstream re-delivers it', { link: delivery.link, error: String(error) });
          delivery.reject(`${definition.name} failed a batch`);
        }
      } finally {
        reserved -= delivery.events.length;
        inHand -= 1;
        updateClock();
        slots.release();
        signalBudget();
      }
    }
  }

  const pumping = pump();
  const passing = passOn();

  return {
    address: `${definition.listen.replace(/:\d+$/, '')}:${port}`,
    inbound,
    downstream: sender,
    async stop() {
      stopping.abort();
      signalBudget();
      wakeSendLoop?.();
      const grace = setTimeout(() => givingUp.abort(new Error(`${definition.name} stopping`)), stopGraceMs);
      await pumping;
      await passing;
      clearTimeout(grace);
      // Close waits, up to its timeout, for downstream to acknowledge what it holds; those acks reach upstream first.
      await sender?.close('stage stopping');
      inbound.resetAll(`${definition.name} stopping`);
      server.forceShutdown();
      topics?.close();
    },
  };
}
