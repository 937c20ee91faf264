import type { Event, Event__Output } from '../contract/loadContract.js';
import { BatchCost } from '../flow/BatchCost.js';
import type { FlowServerOptions } from '../flow/FlowServer.js';
import type { Delivery } from '../flow/LinkReceiver.js';
import { EventTooLargeError, LinkResetError } from '../flow/linkErrors.js';
import type { Outbound, Reservation } from '../flow/Outbound.js';
import { createLogger } from '../log.js';
import type { LinkCredentials } from '../security/linkCredentials.js';
import type { ServiceHealth } from '../service/ServiceHealth.js';
import {
  contextOf, endFailed, recordCreditWait, startProcessSpan, startSendSpan, type Context,
} from '../telemetry/batchSpans.js';
import type { HopPressure } from '../telemetry/HopPressure.js';
import { acknowledgeUpstream } from './acknowledgeUpstream.js';
import { asDeadLetter } from '../contract/eventRules.js';
import type { Inbound } from './Inbound.js';
import { InOrder } from './InOrder.js';
import { isolatingPoison } from './isolatePoison.js';
import { Semaphore } from './Semaphore.js';
import { serveUpstream } from './serveUpstream.js';
import type { StageWiring } from './StageWiring.js';
import { takeWithinCredit } from './takeWithinCredit.js';

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
  /** TLS for the links in; the wiring has it for the links out. */
  credentials?: LinkCredentials | undefined;
  /** Where the stage reports its time, links and events. */
  pressure: HopPressure;
  /** gRPC health and reflection, served beside the links. */
  health?: ServiceHealth;
  /** Where the hop takes from and passes on to (links, or the benchmarks' other wirings). */
  wiring: StageWiring;
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
  outbound: Outbound | undefined;
  /** Stops taking, finishes and passes on what is in flight (acknowledgements included, within the sender's close timeout), then closes. */
  stop(): Promise<void>;
}

interface InHand { delivery: Delivery; reservation: Reservation | undefined; result: Promise<Event[]>; context: Context }

/**
 * The runtime every hop shares, in its pieces: it serves its upstream links
 * (serveUpstream), takes from them only as much as downstream has credit for
 * (takeWithinCredit, rule 4), processes a bounded number of batches at once
 * with poison isolated (isolatingPoison), passes results on in order (InOrder),
 * and acknowledges each upstream delivery once downstream acknowledged what it
 * became (acknowledgeUpstream, rule 5).
 */
export async function runStage(definition: StageDefinition): Promise<RunningStage> {
  const log = createLogger(definition.name);
  const { pressure, wiring } = definition;
  // How this hop's time per batch grows with the batch's size: its links' windows are sized by it.
  const batchCost = new BatchCost();
  const upstream = await serveUpstream({ ...definition, receiver: { ...definition.receiver, batchCost } });
  const inbound = await wiring.inbound(definition.name, upstream.links);
  const outbound = definition.downstream && wiring.outbound(definition.name, definition.downstream);
  pressure.watchInbound(inbound);
  if (outbound) pressure.watchOutbound(outbound);

  const process = isolatingPoison(definition.name, definition.process, outbound !== undefined);
  const slots = new Semaphore(definition.concurrency);
  const inHand = new InOrder<InHand>();
  const stopping = new AbortController();
  const givingUp = new AbortController();

  /** Batches taken and not yet passed on. */
  let batchesInHand = 0;
  pressure.watchBehind(() => batchesInHand > 0 || inbound.queueDepth > 0);
  // Flink's clock: processing and sending a batch are work; waiting for credit is back-pressure; the rest
  // (waiting for input, for a slot while batches wait on downstream acknowledgements) is neither.
  let endCreditWait: (() => void) | undefined;
  const waiting = (on: 'credit' | 'input') => {
    if (on === 'credit') endCreditWait ??= pressure.clock.begin('credit');
    else endCreditWait?.();
    if (on === 'input') endCreditWait = undefined;
  };

  async function take(): Promise<void> {
    while (!stopping.signal.aborted) {
      await slots.acquire();
      const taken = await takeWithinCredit(inbound, outbound, definition.receiver.maxBatchEvents, stopping.signal, waiting, () => batchesInHand);
      waiting('input');
      if (!taken) {
        slots.release();
        continue;
      }
      batchesInHand += 1;
      const { delivery, reservation, creditWait } = taken;
      const parent = contextOf(delivery.traceContext);
      // The batch waited for credit here from when it arrived (or the wait began) until the wait ended.
      if (creditWait) recordCreditWait(parent, outbound!.link, Math.max(creditWait.fromMs, delivery.receivedAtMs), creditWait.toMs, delivery.events.length, outbound!.stats().receiverWindow);
      const { span, context } = startProcessSpan(definition.name, parent, {
        link: delivery.link, events: delivery.events.length, creditAvailable: reservation?.events ?? definition.receiver.maxBatchEvents,
        queueDepth: inbound.queueDepth, breakerState: pressure.breakerStates,
      });
      const endWork = pressure.clock.begin('work');
      const startedMs = performance.now();
      const result = process(delivery.events, context, givingUp.signal);
      result.then(() => { endWork(); span.end(); batchCost.record(delivery.events.length, performance.now() - startedMs); }, (error: unknown) => { endWork(); endFailed(span, error); });
      inHand.push({ delivery, reservation, result, context });
    }
    inHand.close();
  }

  async function passOn(): Promise<void> {
    for (let batch = await inHand.next(); batch; batch = await inHand.next()) {
      const { delivery, reservation } = batch;
      try {
        const events = await batch.result;
        if (delivery.abandoned) continue;
        if (!outbound || events.length === 0) {
          delivery.acknowledge();
          if (!outbound) {
            pressure.countOut(delivery.events.length);
            pressure.committed(delivery.events);
          }
        } else {
          await pressure.clock.during('work', () => sendOnward(outbound, batch, events));
          pressure.passedOn(events);
        }
      } catch (error) {
        if (!(error instanceof LinkResetError)) log.error('batch failed; its link is reset so upstream re-delivers it', { link: delivery.link, error: String(error) });
        delivery.reject(`${definition.name} failed a batch`);
      } finally {
        if (reservation) outbound!.release(reservation);
        batchesInHand -= 1;
        slots.release();
      }
    }
  }

  /**
   * Sends a processed batch on. When its link resets during the send, before
   * any of it could be acknowledged, it goes again on the next connection. An
   * event too large for any frame the receiver accepts goes on as a (smaller)
   * dead letter, and is dropped with a log line if even that does not fit.
   */
  async function sendOnward(outbound: Outbound, batch: InHand, processed: Event[]): Promise<void> {
    let events = processed;
    const shrunk = new WeakSet<Event>();
    const sentBefore: Array<Promise<void>> = [];
    for (;;) {
      const send = startSendSpan(batch.context, { link: outbound.link, events: events.length, creditAvailable: outbound.stats().freeCredit });
      try {
        const sent = await outbound.send(events, send.carrier, batch.reservation);
        const acknowledged = sentBefore.length === 0 ? sent.acknowledged : Promise.all([...sentBefore, sent.acknowledged]).then(() => undefined);
        acknowledgeUpstream(batch.delivery, acknowledged, outbound.link);
        return;
      } catch (error) {
        if (error instanceof LinkResetError && !batch.delivery.abandoned) continue;
        if (!(error instanceof EventTooLargeError)) throw error;
        // The events before it are on their way: send the rest, the culprit replaced.
        sentBefore.push(error.acknowledged);
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
          acknowledgeUpstream(batch.delivery, Promise.all(sentBefore).then(() => undefined), outbound.link);
          return;
        }
      } finally {
        send.span.end();
      }
    }
  }

  const taking = take();
  const passing = passOn();

  return {
    address: upstream.address,
    inbound,
    outbound,
    async stop() {
      stopping.abort();
      const grace = setTimeout(() => givingUp.abort(new Error(`${definition.name} stopping`)), stopGraceMs);
      await taking;
      await passing;
      clearTimeout(grace);
      // Close waits, up to its timeout, for downstream to acknowledge what it holds; those acks reach upstream first.
      await outbound?.close('stage stopping');
      inbound.resetAll(`${definition.name} stopping`);
      upstream.close(`${definition.name} stopping`);
      wiring.close();
    },
  };
}
