import * as grpc from '@grpc/grpc-js';
import { flowService, type Downstream, type Upstream__Output } from '../../lib/contract/loadContract.js';
import { bindServer } from '../../lib/flow/FlowServer.js';

/**
 * How a receiver written against the proto alone behaves. Every part left out
 * keeps the contract, so each breakage below breaks exactly the part it names.
 */
export interface Breakage {
  /** Its buffer capacity and first grant; 0 breaks rules 1 and 3. Default 100. */
  firstGrant?: number;
  /** Grants back the space its consumer frees (rule 3). */
  replenishes?: boolean;
  /** Once idle, grants back what it freed short of a chunk too, not only whole chunks (rule 3). */
  grantsWhenIdle?: boolean;
  /** Refuses events beyond credit (rule 2). */
  checksCredit?: boolean;
  /** Refuses an empty link name and link or sender names over 256 bytes (rule 7). */
  checksNames?: boolean;
  /** Decodes frames itself, so that one that does not decode is refused with INVALID_ARGUMENT; grpc-js alone says INTERNAL (rule 7). */
  decodesFrames?: boolean;
  /** Refuses a frame that carries none of open, batch and close (rule 7), and a Batch of no events (rule 9). */
  checksEmptyFrames?: boolean;
  /** Counts a call against its link limit from its start, not from its Open, and never times a call out (rule 7). */
  countsCallsBeforeOpen?: boolean;
  /** Ends the link on Close (rule 8); otherwise it ignores Close and takes batches until the half-close. */
  honoursClose?: boolean;
  /** Ends the link on a half-close of the request stream (rule 8). */
  endsOnHalfClose?: boolean;
  /** How long its consumer holds each batch before acknowledging it; default 0 (at once). */
  holdMs?: number;
  /** Holds its window (outstanding plus held) to this once it has received events, whatever Open.min_window says (rule 3); default its capacity. */
  windowLimit?: number;
}

const keepsTheContract: Required<Breakage> = {
  firstGrant: 100,
  replenishes: true,
  grantsWhenIdle: true,
  checksCredit: true,
  checksNames: true,
  decodesFrames: true,
  checksEmptyFrames: true,
  countsCallsBeforeOpen: false,
  honoursClose: true,
  endsOnHalfClose: true,
  holdMs: 0,
  windowLimit: Number.POSITIVE_INFINITY,
};

export const conforming: Breakage = {};
/** Keeps the contract, but its consumer takes its time: it still holds events when a Close arrives. */
export const slowConsumer: Breakage = { holdMs: 200 };
export const grantsZero: Breakage = { firstGrant: 0 };
export const neverReplenishes: Breakage = { replenishes: false };
// Its consumer is stalled, so its buffer grows without bound: what rule 2 exists to prevent.
export const acceptsOverCredit: Breakage = { replenishes: false, checksCredit: false };
export const grantsOnlyWholeChunks: Breakage = { grantsWhenIdle: false };
export const ignoresNameLimits: Breakage = { checksNames: false };
export const undecodableIsInternal: Breakage = { decodesFrames: false };
export const acceptsEmptyFrames: Breakage = { checksEmptyFrames: false };
export const countsCallsBeforeOpen: Breakage = { countsCallsBeforeOpen: true };
export const ignoresClose: Breakage = { honoursClose: false };
export const ignoresHalfClose: Breakage = { endsOnHalfClose: false };
/** Sized by time, it may shrink its window, but not below what a sender announced in Open.min_window. */
export const ignoresMinWindow: Breakage = { windowLimit: 40 };

const protocolVersion = 1;
const maxBatchEvents = 50;
const maxBatchBytes = 1 << 20;
const maxNameBytes = 256;
const maxLinks = 64;
const maxPendingOpens = 16;
const openTimeoutMs = 500;
const idleGrantMs = 10;
const decode = flowService.Exchange.requestDeserialize as (bytes: Buffer) => Upstream__Output;

/** A receiver written against the proto alone that breaks the parts of the contract `breakage` names, and keeps the rest. */
export async function startBrokenReceiver(breakage: Breakage = conforming): Promise<{ target: string; stop(): void }> {
  const behaviour = { ...keepsTheContract, ...breakage };
  const capacity = behaviour.firstGrant;
  const chunk = Math.max(1, Math.ceil(capacity / 4));
  // grpc-js refuses a frame over its receive limit with RESOURCE_EXHAUSTED before the handler sees it (rule 9).
  const server = new grpc.Server({ 'grpc.max_receive_message_length': maxBatchBytes });
  const service: grpc.ServiceDefinition = behaviour.decodesFrames
    ? { Exchange: { ...flowService.Exchange, requestDeserialize: (bytes: Buffer) => bytes } }
    : flowService;
  let links = 0;
  /** How to evict each call waiting for its Open, oldest first. */
  const pending: Array<() => void> = [];

  server.addService(service, {
    Exchange(call: grpc.ServerDuplexStream<Buffer | Upstream__Output, Downstream>) {
      let state: 'awaiting-open' | 'open' | 'closing' | 'ended' = 'awaiting-open';
      let counted = false;
      let outstanding = 0;
      let received = 0;
      let held = 0;
      let freed = 0;
      let openTimer: NodeJS.Timeout | undefined;
      let idleTimer: NodeJS.Timeout | undefined;
      const holdTimers = new Set<NodeJS.Timeout>();

      const leavePending = () => {
        const index = pending.indexOf(evict);
        if (index >= 0) pending.splice(index, 1);
      };
      const end = (finishCall: () => void) => {
        if (state === 'ended') return;
        state = 'ended';
        clearTimeout(openTimer);
        clearTimeout(idleTimer);
        for (const timer of holdTimers) clearTimeout(timer);
        leavePending();
        if (counted) links -= 1;
        finishCall();
      };
      const refuse = (code: grpc.status, details: string) => end(() => call.emit('error', { code, details }));
      const evict = () => refuse(grpc.status.RESOURCE_EXHAUSTED, `evicted: ${maxPendingOpens} newer calls wait for their Open`);
      const finishIfDrained = () => {
        if (state === 'closing' && held === 0) end(() => call.end());
      };
      const grant = (events: number) => {
        const limit = received > 0 ? behaviour.windowLimit : Number.POSITIVE_INFINITY;
        const allowed = Math.min(events, limit - outstanding - held);
        if (allowed <= 0) return;
        freed += events - allowed;
        outstanding += allowed;
        call.write({ credit: { events: allowed } });
      };
      /** The consumer is done with the events up to `end`: acknowledge them and free their space. */
      const consumed = (count: number, end: number) => {
        if (state === 'ended') return;
        held -= count;
        call.write({ ack: { offset: end } });
        if (behaviour.replenishes && state === 'open') {
          freed += count;
          if (freed >= chunk) {
            const events = freed;
            freed = 0;
            grant(events);
          } else if (behaviour.grantsWhenIdle && held === 0) {
            clearTimeout(idleTimer);
            idleTimer = setTimeout(() => {
              if (state !== 'open' || held > 0 || freed === 0) return;
              const events = freed;
              freed = 0;
              grant(events);
            }, idleGrantMs);
          }
        }
        finishIfDrained();
      };

      if (behaviour.countsCallsBeforeOpen) {
        if (links >= maxLinks) {
          call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: `at most ${maxLinks} links` });
          return;
        }
        links += 1;
        counted = true;
      } else {
        if (pending.length >= maxPendingOpens) pending.shift()!();
        pending.push(evict);
        openTimer = setTimeout(() => refuse(grpc.status.DEADLINE_EXCEEDED, `no Open within ${openTimeoutMs} ms`), openTimeoutMs);
      }

      call.on('data', (data: Buffer | Upstream__Output) => {
        if (state === 'ended') return;
        let frame: Upstream__Output;
        if (Buffer.isBuffer(data)) {
          try {
            frame = decode(data);
          } catch (error) {
            return refuse(grpc.status.INVALID_ARGUMENT, `undecodable frame: ${String(error)}`);
          }
        } else {
          frame = data;
        }
        if (frame.open) {
          const { link, sender } = frame.open;
          if (state !== 'awaiting-open') return refuse(grpc.status.FAILED_PRECONDITION, 'Open may be sent only once, as the first frame');
          if (frame.open.protocolVersion !== protocolVersion) return refuse(grpc.status.FAILED_PRECONDITION, 'unsupported version');
          if (behaviour.checksNames && (!link || Buffer.byteLength(link) > maxNameBytes || Buffer.byteLength(sender) > maxNameBytes)) {
            return refuse(grpc.status.INVALID_ARGUMENT, `the link must be named, in at most ${maxNameBytes} bytes, and the sender in at most ${maxNameBytes}`);
          }
          clearTimeout(openTimer);
          leavePending();
          if (!counted) {
            if (links >= maxLinks) return refuse(grpc.status.RESOURCE_EXHAUSTED, `at most ${maxLinks} links`);
            links += 1;
            counted = true;
          }
          state = 'open';
          call.write({ opened: { receiver: 'proto-only', protocolVersion, maxBatchEvents, maxBatchBytes } });
          grant(capacity);
          return;
        }
        if (frame.batch) {
          if (state === 'awaiting-open') return refuse(grpc.status.FAILED_PRECONDITION, 'the first frame must be Open');
          if (state === 'closing') return refuse(grpc.status.FAILED_PRECONDITION, 'Batch after Close');
          const count = frame.batch.events.length;
          if (count === 0 && behaviour.checksEmptyFrames) return refuse(grpc.status.INVALID_ARGUMENT, 'a Batch must carry at least one event');
          if (count > maxBatchEvents) return refuse(grpc.status.RESOURCE_EXHAUSTED, 'batch too large');
          if (frame.batch.offset !== received) return refuse(grpc.status.INVALID_ARGUMENT, 'offset gap');
          if (behaviour.checksCredit && count > outstanding) return refuse(grpc.status.RESOURCE_EXHAUSTED, 'over credit');
          if (count === 0) return;
          outstanding -= count;
          received += count;
          held += count;
          const end = received;
          if (behaviour.holdMs === 0) return consumed(count, end);
          const timer = setTimeout(() => {
            holdTimers.delete(timer);
            consumed(count, end);
          }, behaviour.holdMs);
          holdTimers.add(timer);
          return;
        }
        if (frame.close) {
          if (state === 'awaiting-open') return refuse(grpc.status.FAILED_PRECONDITION, 'the first frame must be Open');
          if (!behaviour.honoursClose) return;
          state = 'closing';
          return finishIfDrained();
        }
        if (behaviour.checksEmptyFrames) refuse(grpc.status.INVALID_ARGUMENT, 'a frame must carry open, batch or close');
      });
      call.on('end', () => {
        if (!behaviour.endsOnHalfClose || state === 'ended' || state === 'closing') return;
        if (state === 'awaiting-open') return end(() => call.end());
        state = 'closing';
        finishIfDrained();
      });
      call.on('cancelled', () => end(() => undefined));
      call.on('error', () => undefined);
    },
  });
  const port = await bindServer(server, '127.0.0.1:0');
  return { target: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}
