import type * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Event } from '../../lib/contract/loadContract.js';
import { bindServer, createFlowServer } from '../../lib/flow/FlowServer.js';
import type { Delivery, LinkReceiver } from '../../lib/flow/LinkReceiver.js';
import { ProtocolError, invalidArgument, resourceExhausted } from '../../lib/flow/ProtocolError.js';
import { createLogger } from '../../lib/log.js';
import type { ApiKeyring } from '../../lib/security/ApiKeyring.js';
import { anonymousCaller } from '../../lib/security/RateLimiter.js';
import { contextOf } from '../../lib/telemetry/batchSpans.js';
import { markAdmitted, type Admission } from '../admission/Admission.js';
import { classOfRequest, type PriorityClass } from '../admission/priorityClasses.js';
import type { IntakeClient } from '../IntakeClient.js';
import { producerEvents } from './producerEvents.js';

const log = createLogger('gateway.ingest');

export interface GrpcIngestOptions {
  /** host:port to listen on (port 0 picks a free one). */
  listen: string;
  /** Events one producer's link may hold (credit outstanding plus buffered). */
  capacity: number;
  maxLinks: number;
  maxBatchEvents: number;
  maxBatchBytes: number;
  maxFieldBytes: number;
  /** How long a call may wait before its Open (rule 7): the contract's OPEN_TIMEOUT_MS, 2000 ms by default, as the stages have it. */
  openTimeoutMs?: number;
  keyring: ApiKeyring;
  admission: Admission;
  intake: IntakeClient;
  serverCredentials?: grpc.ServerCredentials;
}

/** One producer's link, and the batch taken from it that waits for the intake's credit. */
interface Producer {
  readonly link: LinkReceiver;
  readonly caller: string;
  /** The class it asked for (x-priority-class), if any. */
  readonly requested: string | undefined;
  waiting?: { delivery: Delivery; events: Event[]; priority: PriorityClass; since: number };
}

/**
 * The gateway's gRPC ingest: producers are upstreams like any other, each on a Flow link of its
 * own (the contract's Exchange, rules and all), authenticated by the bearer token in its call's
 * `authorization` metadata. A producer is never refused for pressure: its batches wait, one per
 * link, until the intake's credit admits them (highest class first, and within a class the key
 * furthest below its weighted share, by the same Admission as the HTTP edge), so its credit
 * comes back at the pace the intake takes its events. A batch is acknowledged once the source has
 * it durably in the intake.
 */
export class GrpcIngest {
  readonly #producers = new Set<Producer>();
  #dispatching = false;
  #again = false;
  #arrivals = 0;

  private constructor(private readonly options: GrpcIngestOptions, private readonly server: grpc.Server, readonly address: string) {
    options.intake.outbound.on('credit', () => this.#dispatch());
  }

  static async start(options: GrpcIngestOptions): Promise<GrpcIngest> {
    let ingest: GrpcIngest | undefined;
    const server = createFlowServer({
      receiver: 'gateway',
      capacity: options.capacity,
      maxBatchEvents: options.maxBatchEvents,
      maxBatchBytes: options.maxBatchBytes,
      maxLinks: options.maxLinks,
      openTimeoutMs: options.openTimeoutMs ?? 2_000,
    }, (link, metadata) => ingest!.#opened(link, metadata));
    const port = await bindServer(server, options.listen, options.serverCredentials);
    ingest = new GrpcIngest(options, server, `${options.listen.replace(/:\d+$/, '')}:${port}`);
    return ingest;
  }

  /** Producers connected now. */
  get links(): number { return this.#producers.size; }

  /** Ends every producer's link (each re-sends what was not acknowledged) and the server. */
  close(details: string): void {
    for (const producer of this.#producers) producer.link.reset(details);
    this.server.forceShutdown();
  }

  #opened(link: LinkReceiver, metadata: grpc.Metadata): void {
    const { keyring, admission } = this.options;
    let caller = anonymousCaller;
    if (keyring.enabled) {
      const authorization = metadata.get('authorization')[0];
      const name = keyring.authenticate(typeof authorization === 'string' ? authorization : undefined);
      if (name === undefined) throw new ProtocolError(status.UNAUTHENTICATED, 'the authorization metadata must be Bearer <token> of an API key of the gateway');
      caller = name;
    }
    const requestedValue = metadata.get('x-priority-class')[0];
    const requested = typeof requestedValue === 'string' ? requestedValue : undefined;
    if (requested !== undefined && !admission.policy.classes.some(({ name }) => name === requested)) {
      throw invalidArgument(`no priority class "${requested.slice(0, 64)}"; the classes are ${admission.policy.classes.map(({ name }) => name).join(', ')}`);
    }
    const producer: Producer = { link, caller, requested };
    this.#producers.add(producer);
    log.info('producer link opened', { link: link.name, sender: link.sender, key: caller, class: requested });
    link.on('readable', () => this.#dispatch());
    void link.closed.then(() => {
      this.#producers.delete(producer);
      this.#dispatch();
    });
  }

  /** Admits what the intake's credit lets in, best first, until nothing more fits; runs again on any credit or batch. */
  #dispatch(): void {
    if (this.#dispatching) {
      this.#again = true;
      return;
    }
    this.#dispatching = true;
    try {
      do {
        this.#again = false;
        for (const producer of this.#producers) if (!producer.waiting) this.#takeFrom(producer);
        while (this.#admitBest());
      } while (this.#again);
    } finally {
      this.#dispatching = false;
    }
  }

  /** Takes the next batch of `producer`'s link, if it has one, to wait for the intake's credit. */
  #takeFrom(producer: Producer): void {
    // At most a quarter of the intake link's window at once, so a lower class's batch can be admitted in the room its reserve leaves.
    const { receiverWindow } = this.options.intake.outbound.stats();
    const delivery = producer.link.takeNow(receiverWindow > 0 ? Math.max(1, Math.min(this.options.maxBatchEvents, Math.floor(receiverWindow / 4))) : this.options.maxBatchEvents);
    if (!delivery) return;
    const checked = producerEvents(delivery.events, this.options.maxFieldBytes);
    if ('problem' in checked) {
      producer.link.refuse(invalidArgument(checked.problem));
      return;
    }
    // A batch the intake link can never hold at once would wait for ever.
    const tooLarge = this.options.intake.tooLarge(checked.events.length);
    if (tooLarge) {
      producer.link.refuse(resourceExhausted(`${tooLarge.message} (lower the producer's batches to ${tooLarge.capacity} events)`));
      return;
    }
    const choice = classOfRequest(this.options.admission.policy, checked.events.map((event) => event.kind!), producer.requested, producer.caller);
    if (!choice.ok) {
      producer.link.refuse(new ProtocolError(status.PERMISSION_DENIED, choice.error));
      return;
    }
    this.options.admission.offered(producer.caller, choice.priority, checked.events.length);
    producer.waiting = { delivery, events: checked.events, priority: choice.priority, since: this.#arrivals++ };
  }

  /** Admits the best waiting batch the intake's credit lets in; false when none fits now. */
  #admitBest(): boolean {
    const { admission } = this.options;
    const waiting = [...this.#producers].filter((producer) => producer.waiting && !producer.waiting.delivery.abandoned);
    waiting.sort((a, b) => a.waiting!.priority.rank - b.waiting!.priority.rank
      || admission.shares.usagePerWeight(a.caller) - admission.shares.usagePerWeight(b.caller)
      || a.waiting!.since - b.waiting!.since);
    const next = waiting.find((producer) => admission.check(producer.caller, producer.waiting!.priority, producer.waiting!.events.length) === undefined);
    if (!next) return false;
    this.#submit(next);
    return true;
  }

  #submit(producer: Producer): void {
    const { delivery, events, priority } = producer.waiting!;
    producer.waiting = undefined;
    markAdmitted(events, priority, producer.caller);
    this.options.intake.submit(events, contextOf(delivery.traceContext)).then(() => {
      this.options.admission.admitted(producer.caller, priority, events.length);
      delivery.acknowledge();
    }, (error: unknown) => {
      // Not in the intake for certain: the producer sends them again on a new link (rule 8).
      delivery.reject(`the gateway could not put these events in the intake: ${(error as Error).message}`);
    });
    // The next batch of this link may wait for credit in its turn.
    this.#again = true;
  }
}
