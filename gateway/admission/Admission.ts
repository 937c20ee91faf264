import { Counter, type Registry } from 'prom-client';
import type { Event } from '../../lib/contract/loadContract.js';
import { RateWindow } from '../../lib/telemetry/RateWindow.js';
import type { FairShares } from './FairShares.js';
import type { PriorityClass, PriorityPolicy } from './priorityClasses.js';
import type { WaitingRoom } from './WaitingRoom.js';

/** The intake's window as the edge sees it: the credit the source has granted the gateway and not yet used, and how fast it comes back. */
export interface IntakeCredit {
  /** Free credit now. */
  free: number;
  /** The source's window (what its grants add up to), or 0 before its first. */
  window: number;
  /** Events per second the source confirmed lately, or 0 if none. */
  drainPerSecond: number;
}

export type ShedReason = 'no-room' | 'reserve' | 'fair-share';

export type Verdict =
  | { admitted: true }
  | {
    admitted: false;
    reason: ShedReason;
    priority: PriorityClass;
    /** When this request would be admitted at the intake's drain rate, in whole seconds (1..30). */
    retryAfterSeconds: number;
    /** The same for a request of this size in every class. */
    retryAfterByClass: Record<string, number>;
  };

export type Outcome = 'offered' | 'admitted' | 'shed';
const outcomes: readonly Outcome[] = ['offered', 'admitted', 'shed'];

export interface FlowFigures { offered_per_second: number; admitted_per_second: number; shed_per_second: number }

const maxRetryAfterSeconds = 30;
/** A class offered nothing for this long has no room kept for it: the classes below it may use the whole window. */
const classActiveForMs = 2_000;
/**
 * Credit stays scarce this long after the lowest class last found no room: credit comes back in
 * chunks, and a key that sends the most requests would otherwise take each chunk whole in the
 * moment after it came, ahead of its share.
 */
const scarceForMs = 1_000;
/**
 * How far ahead of its share a key may be while credit is free but was scarce lately: keys level
 * with each other both take what came back, so none of it waits for the one a little behind.
 */
const lateShareTolerance = 0.05;

/**
 * Who gets the intake's credit when it is scarce, for the HTTP and the gRPC ingest alike. A
 * class is admitted only while what it leaves free of the rest of the window (beyond the request
 * itself, so a request as large as the window still gets in when the window is free) is at least
 * its reserve, so the lowest class is refused first and the highest only when there is no room at
 * all (a reserve holds only while a class above it is offered events: room is kept only for
 * who will use it); and while credit is scarce (the lowest class would be refused) a key ahead of
 * its weighted share is refused in every class but the highest (for a second after, one well
 * ahead), so a flood of one key cannot starve another's, while an idle key's share goes to the
 * busy ones. A request of the highest class with no room may wait for it in the waiting room
 * (decideOrWait); while one waits, every lower class is refused.
 */
export class Admission {
  readonly #counts = new Map<string, number>();
  readonly #rates: RateWindow;
  readonly #classEvents: Counter;
  readonly #keyEvents: Counter;
  /** By rank: when each class was last offered. */
  readonly #lastOfferedAtMs: number[];
  #scarceAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly policy: PriorityPolicy,
    readonly shares: FairShares,
    readonly room: WaitingRoom,
    private readonly credit: () => IntakeCredit,
    registry: Registry,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#lastOfferedAtMs = policy.classes.map(() => Number.NEGATIVE_INFINITY);
    this.#classEvents = new Counter({ name: 'mesh_edge_class_events_total', help: 'Events offered to the edge, admitted into the intake and shed under pressure, by priority class', labelNames: ['class', 'outcome'], registers: [registry] });
    this.#keyEvents = new Counter({ name: 'mesh_edge_key_events_total', help: 'Events offered to the edge, admitted into the intake and shed under pressure, by API key', labelNames: ['key', 'outcome'], registers: [registry] });
    for (const outcome of outcomes) {
      for (const { name } of policy.classes) this.#classEvents.inc({ class: name, outcome }, 0);
      for (const key of shares.keys) this.#keyEvents.inc({ key, outcome }, 0);
    }
    this.#rates = new RateWindow(() => Object.fromEntries(this.#counts));
  }

  /** Whether `events` of class `priority` from `key` may take the intake's credit now; counts them offered, and shed if not. */
  decide(key: string, priority: PriorityClass, events: number): Verdict {
    this.offered(key, priority, events);
    return this.#verdict(key, priority, events);
  }

  /**
   * As decide, except that a request of the highest class refused for want of room first waits in
   * the waiting room for it (`onWait` is told it waits); admitted, it must take its credit in the same turn.
   */
  async decideOrWait(key: string, priority: PriorityClass, events: number, onWait?: () => void): Promise<Verdict> {
    this.offered(key, priority, events);
    if (priority.rank === 0 && this.room.open && this.#refusal(key, priority, events, this.credit()) === 'no-room') {
      onWait?.();
      await this.room.wait(events, () => this.#refusal(key, priority, events, this.credit()) === undefined);
    }
    return this.#verdict(key, priority, events);
  }

  #verdict(key: string, priority: PriorityClass, events: number): Verdict {
    const credit = this.credit();
    const reason = this.#refusal(key, priority, events, credit);
    if (reason === undefined) return { admitted: true };
    this.count(key, priority, 'shed', events);
    const retryAfterByClass = Object.fromEntries(this.policy.classes.map((each) => [each.name, this.#retryAfterSeconds(each, events, credit)]));
    const retryAfterSeconds = reason === 'fair-share' ? 1 : retryAfterByClass[priority.name]!;
    return { admitted: false, reason, priority, retryAfterSeconds, retryAfterByClass };
  }

  /** Why `events` of class `priority` from `key` may not take the intake's credit now, or undefined if they may; counts nothing. */
  check(key: string, priority: PriorityClass, events: number): ShedReason | undefined {
    return this.#refusal(key, priority, events, this.credit());
  }

  /** `key` offers `events` of class `priority`: counted, and the key and the class are active. */
  offered(key: string, priority: PriorityClass, events: number): void {
    this.count(key, priority, 'offered', events);
    this.shares.offered(key);
  }

  /** The source confirmed them: they are in the intake. */
  admitted(key: string, priority: PriorityClass, events: number): void {
    this.count(key, priority, 'admitted', events);
    this.shares.admitted(key, events);
  }

  /** Counts events by outcome, per class and per key (the gateway also counts as shed what the link itself refused). */
  count(key: string, priority: PriorityClass, outcome: Outcome, events: number): void {
    if (outcome === 'offered') this.#lastOfferedAtMs[priority.rank] = this.now();
    this.#classEvents.inc({ class: priority.name, outcome }, events);
    this.#keyEvents.inc({ key, outcome }, events);
    for (const name of [`class:${priority.name}:${outcome}`, `key:${key}:${outcome}`]) this.#counts.set(name, (this.#counts.get(name) ?? 0) + events);
  }

  /** Per class and per key, the events per second offered, admitted and shed lately. */
  figures(): { classes: Record<string, FlowFigures>; keys: Record<string, FlowFigures> } {
    const rates = this.#rates.rates();
    const of = (prefix: string): FlowFigures => {
      const rate = (outcome: Outcome) => Math.round((rates[`${prefix}:${outcome}`] ?? 0) * 10) / 10;
      return { offered_per_second: rate('offered'), admitted_per_second: rate('admitted'), shed_per_second: rate('shed') };
    };
    return {
      classes: Object.fromEntries(this.policy.classes.map(({ name }) => [name, of(`class:${name}`)])),
      keys: Object.fromEntries(this.shares.keys.map((key) => [key, of(`key:${key}`)])),
    };
  }

  stop(): void {
    this.#rates.stop();
  }

  #refusal(key: string, priority: PriorityClass, events: number, { free, window }: IntakeCredit): ShedReason | undefined {
    const leftFree = (reserve: number) => free >= roomNeeded(reserve, events, window);
    const noRoom = free < events;
    const scarce = noRoom || (window > 0 && !leftFree(this.policy.classes.at(-1)!.reserve));
    const nowMs = this.now();
    if (scarce) this.#scarceAtMs = nowMs;
    if (noRoom) return 'no-room';
    if (priority.rank > 0 && this.room.waitingEvents > 0) return 'reserve';
    // Before the source's first grant the window is unknown: only room is asked for.
    if (window <= 0) return undefined;
    if (!leftFree(this.#reserveOf(priority))) return 'reserve';
    const scarceLately = nowMs - this.#scarceAtMs < scarceForMs;
    if (priority.rank > 0 && scarceLately && !this.shares.withinShare(key, scarce ? 0 : lateShareTolerance)) return 'fair-share';
    return undefined;
  }

  /** The class's reserve while some class above it offers events, else none: room is kept only for who will use it. */
  #reserveOf(priority: PriorityClass): number {
    const since = this.now() - classActiveForMs;
    return this.#lastOfferedAtMs.slice(0, priority.rank).some((atMs) => atMs >= since) ? priority.reserve : 0;
  }

  /** How long until `events` of class `priority` fit, at the rate the intake's credit comes back: whole seconds, 1..30. */
  #retryAfterSeconds(priority: PriorityClass, events: number, { free, window, drainPerSecond }: IntakeCredit): number {
    const needed = roomNeeded(this.#reserveOf(priority), events, window) - free;
    if (drainPerSecond <= 0) return 5;
    return Math.min(maxRetryAfterSeconds, Math.max(1, Math.ceil(needed / drainPerSecond)));
  }
}

/** The free credit `events` need to be admitted with `reserve` of the rest of the window (beyond them) left free. */
function roomNeeded(reserve: number, events: number, window: number): number {
  return events + reserve * Math.max(0, window - events);
}

/** Marks admitted events with their class and key, which they carry to the sink. */
export function markAdmitted(events: readonly Event[], priority: PriorityClass, key: string): void {
  for (const event of events) {
    event.priorityClass = priority.name;
    event.producerKey = key;
  }
}
