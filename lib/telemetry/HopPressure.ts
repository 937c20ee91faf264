import type { FaultSettings, FaultSwitches } from '../faults.js';
import type { Outbound } from '../flow/Outbound.js';
import type { CommitLatencyFigures } from './CommitLatencyByLabel.js';
import { RateWindow } from './RateWindow.js';
import { StageClock } from './StageClock.js';

export interface OutboundLinkFigures {
  link: string;
  direction: 'out';
  credit_available: number;
  in_flight_events: number;
  capacity: number;
  connected: boolean;
  events_total: number;
}

/** How fast a queue drains and how long what it holds takes to: what a window sized by time is set from. */
export interface DrainFigures {
  /** Events per second its consumer drains, measured while it held something; null before a measurement. */
  drain_per_second: number | null;
  /** How long what it holds takes to drain at that rate; null without a rate (or stalled). */
  estimated_drain_ms: number | null;
}

export interface InboundLinkFigures extends Partial<DrainFigures> {
  link: string;
  direction: 'in';
  sender: string;
  queue_depth: number;
  /** The link's buffer, in events; 0 for a topic, which has no bound. */
  capacity: number;
  /** What the link may hold now (credit outstanding plus buffered): the capacity, or less when sized by time. */
  window?: number;
  /** The smoothed credit round trip (a grant to a sender that had used up its credit, to its next batch); null before one. */
  round_trip_ms?: number | null;
}

/** The figures of a measured drain rate for `held` events. */
export function drainFigures(rate: { perSecond: number | undefined; estimateMs(held: number): number | undefined }, held: number): DrainFigures {
  const estimate = rate.estimateMs(held);
  return {
    drain_per_second: rate.perSecond === undefined ? null : round(rate.perSecond),
    estimated_drain_ms: estimate === undefined || !Number.isFinite(estimate) ? null : round(estimate),
  };
}

/** A circuit breaker's state, as the figures report it. */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerFigures { dependency: string; state: BreakerState; failures_total: number }

/** What the figures read of a breaker (lib/breaker.ts). */
export interface WatchedBreaker { readonly dependency: string; readonly state: BreakerState; readonly failures: number }

/** What the figures read of a hop's inbound side (lib/stage/Inbound.ts): the events it took, in all and by link, and its links. */
export interface WatchedInbound {
  readonly taken: number;
  readonly takenByLink: ReadonlyMap<string, number>;
  figures(): InboundLinkFigures[];
}

export interface IntakeFigures extends Partial<DrainFigures> {
  length: number;
  capacity: number;
  lag: number;
  pending: number;
  /** What the intake may hold now: its capacity, or less when sized by time. */
  window?: number;
}

/** One hop's current figures: what GET /v1/pressure reports and what the Prometheus metrics are made of. */
export interface HopSnapshot {
  name: string;
  /** The process's stable identity among the replicas of its stage (REPLICA, else host name and admin port). */
  replica: string;
  up: true;
  /** Milliseconds per second (over the last few seconds) busy, back-pressured and idle: they add up to about 1000. */
  busy_ms_per_second: number;
  backpressured_ms_per_second: number;
  idle_ms_per_second: number;
  /** Of the busy time, milliseconds per second during which a call to its dependency (Redis, Postgres) was in progress. */
  dependency_ms_per_second: number;
  /** How far behind event time its output is, in ms: null before it passed anything on. */
  event_time_lag_ms: number | null;
  events_in_per_second: number;
  events_out_per_second: number;
  events_in_total: number;
  events_out_total: number;
  links: Array<OutboundLinkFigures | InboundLinkFigures>;
  breakers: BreakerFigures[];
  intake?: IntakeFigures;
  /** The sink's: accept-to-commit over the last 10 s by the class and key the edge admitted each event by. */
  accept_to_commit?: CommitLatencyFigures;
  faults: FaultSettings & { enabled: boolean };
  rss_mb: number;
}

/** What the figures read of an event passed on: its event time, and for a commit its acceptance time. */
export interface PassedEvent {
  eventTimeMs?: number | string | { toNumber(): number } | null;
  acceptedAtMs?: number | string | { toNumber(): number } | null;
  priorityClass?: string | null;
  producerKey?: string | null;
}

/**
 * Everything one process knows of the pressure on its hop: where its time goes
 * (the clock), the events it takes in and passes out, its links, its breakers
 * and, for the source, the intake. Components register themselves; a snapshot
 * reads them all at once.
 */
export class HopPressure {
  readonly clock = new StageClock();
  readonly #outbound: Outbound[] = [];
  readonly #inbound: WatchedInbound[] = [];
  readonly #breakers: WatchedBreaker[] = [];
  #eventsIn = 0;
  #eventsOut = 0;
  #intake: (() => IntakeFigures) | undefined;
  #commitLatency: (() => CommitLatencyFigures) | undefined;
  readonly #whenIntake: Array<() => void> = [];
  readonly #rates: RateWindow;
  #lastPassed: { eventTimeMs: number; atMs: number } | undefined;
  #behind: () => boolean = () => false;
  readonly #passedOnListeners: Array<(events: readonly PassedEvent[]) => void> = [];
  readonly #committedListeners: Array<(events: readonly PassedEvent[], atMs: number) => void> = [];
  /** Set once the process knows it (runService: after its admin API is bound). */
  replica: string;

  constructor(readonly name: string, readonly faults: FaultSwitches, replica = name) {
    this.replica = replica;
    this.#rates = new RateWindow(() => ({ ...this.clock.totals(), dependency: this.clock.dependencyTotal(), in: this.eventsIn, out: this.eventsOut }));
  }

  /** Events taken in: from the inbound links when watched, else as counted. */
  get eventsIn(): number { return this.#inbound.reduce((sum, links) => sum + links.taken, this.#eventsIn); }

  /** Events passed on: sent on the outbound links when watched, else as counted (the sink's commits). */
  get eventsOut(): number { return this.#outbound.reduce((sum, sender) => sum + sender.stats().totalSent, this.#eventsOut); }

  /** Events taken in since start, by inbound link. */
  eventsInByLink(): Map<string, number> {
    const byLink = new Map<string, number>();
    for (const links of this.#inbound) for (const [link, events] of links.takenByLink) byLink.set(link, (byLink.get(link) ?? 0) + events);
    return byLink;
  }

  countIn(events: number): void { this.#eventsIn += events; }
  countOut(events: number): void { this.#eventsOut += events; }

  watchOutbound(sender: Outbound): void { this.#outbound.push(sender); }
  watchInbound(inbound: WatchedInbound): void { this.#inbound.push(inbound); }
  watchBreaker(breaker: WatchedBreaker): void { this.#breakers.push(breaker); }
  watchIntake(read: () => IntakeFigures): void {
    this.#intake = read;
    for (const call of this.#whenIntake.splice(0)) call();
  }

  watchCommitLatency(read: () => CommitLatencyFigures): void { this.#commitLatency = read; }

  /** Calls `call` once the hop has an intake (at once if it has): only the source's metrics have the intake's families. */
  whenIntakeWatched(call: () => void): void {
    if (this.#intake) call();
    else this.#whenIntake.push(call);
  }

  /** Whether input waits for the hop (events queued or in hand): while it does, its event-time lag grows with the clock. */
  watchBehind(behind: () => boolean): void { this.#behind = behind; }

  /** A batch passed on downstream (for the sink: committed): its latest event time is what the lag is measured from. */
  passedOn(events: readonly PassedEvent[]): void {
    if (events.length === 0) return;
    let latest = 0;
    for (const event of events) latest = Math.max(latest, millis(event.eventTimeMs));
    if (latest > 0) this.#lastPassed = { eventTimeMs: latest, atMs: Date.now() };
    for (const listener of this.#passedOnListeners) listener(events);
  }

  /** A batch the hop committed for good (the sink): passed on, and its accept-to-commit times observed. */
  committed(events: readonly PassedEvent[]): void {
    this.passedOn(events);
    const now = Date.now();
    for (const listener of this.#committedListeners) listener(events, now);
  }

  onPassedOn(listener: (events: readonly PassedEvent[]) => void): void { this.#passedOnListeners.push(listener); }
  onCommitted(listener: (events: readonly PassedEvent[], atMs: number) => void): void { this.#committedListeners.push(listener); }

  /**
   * Now minus the event time of what it last passed on, while input waits for it; with nothing waiting
   * it is caught up, and the lag is the one it had when it passed that on (so an idle mesh shows no
   * growing lag). Undefined before anything was passed on.
   */
  eventTimeLagMs(): number | undefined {
    const last = this.#lastPassed;
    if (!last) return undefined;
    return Math.max(0, (this.#behind() ? Date.now() : last.atMs) - last.eventTimeMs);
  }

  /** "postgres:closed": the breakers' states, as a span attribute. */
  get breakerStates(): string {
    return this.#breakers.map((breaker) => `${breaker.dependency}:${breaker.state}`).join(',');
  }

  snapshot(): HopSnapshot {
    const rates = this.#rates.rates();
    const links: HopSnapshot['links'] = [];
    for (const sender of this.#outbound) {
      const stats = sender.stats();
      links.push({
        link: sender.link, direction: 'out', credit_available: stats.availableCredit, in_flight_events: stats.sent - stats.acknowledged,
        capacity: stats.capacity, connected: stats.connected, events_total: stats.totalSent,
      });
    }
    for (const inbound of this.#inbound) links.push(...inbound.figures());
    const lag = this.eventTimeLagMs();
    return {
      name: this.name,
      replica: this.replica,
      up: true,
      busy_ms_per_second: round(rates.busy!),
      backpressured_ms_per_second: round(rates.backpressured!),
      idle_ms_per_second: round(rates.idle!),
      dependency_ms_per_second: round(rates.dependency!),
      event_time_lag_ms: lag === undefined ? null : round(lag),
      events_in_per_second: round(rates.in!),
      events_out_per_second: round(rates.out!),
      events_in_total: this.eventsIn,
      events_out_total: this.eventsOut,
      links,
      breakers: this.#breakers.map((breaker) => ({ dependency: breaker.dependency, state: breaker.state, failures_total: breaker.failures })),
      ...(this.#intake ? { intake: this.#intake() } : {}),
      ...(this.#commitLatency ? { accept_to_commit: this.#commitLatency() } : {}),
      faults: { ...this.faults.settings, enabled: this.faults.enabled },
      rss_mb: round(process.memoryUsage.rss() / (1024 * 1024)),
    };
  }

  stop(): void {
    this.#rates.stop();
  }
}

function millis(value: PassedEvent['eventTimeMs']): number {
  if (value === null || value === undefined) return 0;
  const number = typeof value === 'object' ? value.toNumber() : Number(value);
  return Number.isFinite(number) ? number : 0;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
