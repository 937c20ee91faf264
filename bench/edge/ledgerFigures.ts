import { Outcome, originOf, shedOutcomes, type EventLedger } from './EventLedger.js';
import { classes, keys, protocols, type ClassName, type KeyName, type Protocol } from './traffic.js';

/** What a group of events offered became. */
export interface Counts {
  offered: number;
  /** HTTP 202 or acknowledged on the gRPC ingest. */
  admitted: number;
  /** Refused by the gateway (HTTP 429) plus dropped by a gRPC producer whose backlog its credit did not drain: the edge's shedding. */
  shed: number;
  /** Of `shed`, HTTP 429 by reason (no_room_unread: before the body was read, no credit at all). */
  no_room: number;
  no_room_unread: number;
  reserve: number;
  fair_share: number;
  grpc_backlog_full: number;
  /** Not sent: the HTTP client had its most requests in flight (the client's own limit, not the edge's). */
  http_client_dropped: number;
  failed: number;
  /** Never answered by the end. */
  pending: number;
}

export const emptyCounts = (): Counts => ({
  offered: 0, admitted: 0, shed: 0, no_room: 0, no_room_unread: 0, reserve: 0, fair_share: 0, grpc_backlog_full: 0, http_client_dropped: 0, failed: 0, pending: 0,
});

export interface GroupCounts {
  all: Counts;
  classes: Record<ClassName, Counts>;
  keys: Record<KeyName, Counts>;
  protocols: Record<Protocol, Counts>;
  /** `${protocol}:${class}` and `${key}:${class}`. */
  pairs: Record<string, Counts>;
}

const emptyGroups = (): GroupCounts => ({
  all: emptyCounts(),
  classes: Object.fromEntries(classes.map((name) => [name, emptyCounts()])) as Record<ClassName, Counts>,
  keys: Object.fromEntries(keys.map((name) => [name, emptyCounts()])) as Record<KeyName, Counts>,
  protocols: Object.fromEntries(protocols.map((name) => [name, emptyCounts()])) as Record<Protocol, Counts>,
  pairs: {},
});

function add(counts: Counts, outcome: Outcome, protocol: Protocol): void {
  counts.offered += 1;
  switch (outcome) {
    case Outcome.admitted: counts.admitted += 1; break;
    case Outcome.noRoom: counts.no_room += 1; counts.shed += 1; break;
    case Outcome.noRoomUnread: counts.no_room_unread += 1; counts.shed += 1; break;
    case Outcome.reserve: counts.reserve += 1; counts.shed += 1; break;
    case Outcome.fairShare: counts.fair_share += 1; counts.shed += 1; break;
    case Outcome.dropped:
      if (protocol === 'grpc') { counts.grpc_backlog_full += 1; counts.shed += 1; } else counts.http_client_dropped += 1;
      break;
    case Outcome.failed: counts.failed += 1; break;
    default: counts.pending += 1;
  }
}

/** One second of the run: per class and key, what was offered in it and what was admitted or shed in it (by when it was answered). */
export interface LedgerSecond {
  t: number;
  offered: Record<ClassName | KeyName, number>;
  admitted: Record<ClassName | KeyName, number>;
  shed: Record<ClassName | KeyName, number>;
  /** Purchases refused (HTTP 429) and views admitted, by the tenth of a second they were answered in: the tenths of this second. */
  purchaseRefusedByTenth: number[];
  viewAdmittedByTenth: number[];
}

const zeroByName = () => Object.fromEntries([...classes, ...keys].map((name) => [name, 0])) as Record<ClassName | KeyName, number>;

export interface LedgerFigures {
  /** Per phase, by when the events were offered. */
  phases: Record<string, GroupCounts>;
  seconds: LedgerSecond[];
}

/**
 * One pass over the ledger: each phase's counts (the events offered in it, whatever became of
 * them), and per second what was offered, admitted and shed.
 */
export function ledgerFigures(ledger: EventLedger, phases: ReadonlyArray<{ name: string; fromS: number; toS: number }>): LedgerFigures {
  const byPhase: Record<string, GroupCounts> = Object.fromEntries(phases.map((phase) => [phase.name, emptyGroups()]));
  const seconds: LedgerSecond[] = [];
  const second = (t: number): LedgerSecond => {
    for (let next = seconds.length; next <= t; next += 1) {
      seconds.push({ t: next, offered: zeroByName(), admitted: zeroByName(), shed: zeroByName(), purchaseRefusedByTenth: Array<number>(10).fill(0), viewAdmittedByTenth: Array<number>(10).fill(0) });
    }
    return seconds[t]!;
  };
  const origins = Array.from({ length: 64 }, (_, code) => originOf(code));
  for (let number = 0; number < ledger.count; number += 1) {
    const { protocol, key, priority } = origins[ledger.origin(number)]!;
    const outcome = ledger.outcome(number);
    const offeredAt = ledger.offeredAt(number);
    const phase = phases.find((each) => offeredAt >= each.fromS * 10 && offeredAt < each.toS * 10);
    if (phase) {
      const groups = byPhase[phase.name]!;
      add(groups.all, outcome, protocol);
      add(groups.classes[priority], outcome, protocol);
      add(groups.keys[key], outcome, protocol);
      add(groups.protocols[protocol], outcome, protocol);
      add(groups.pairs[`${protocol}:${priority}`] ??= emptyCounts(), outcome, protocol);
      add(groups.pairs[`${key}:${priority}`] ??= emptyCounts(), outcome, protocol);
    }
    const offeredIn = second(Math.floor(offeredAt / 10));
    offeredIn.offered[priority] += 1;
    offeredIn.offered[key] += 1;
    if (outcome === Outcome.pending || outcome === Outcome.failed || (outcome === Outcome.dropped && protocol === 'http')) continue;
    const settledAt = ledger.settledAt(number);
    const settledIn = second(Math.floor(settledAt / 10));
    const tenth = settledAt % 10;
    if (outcome === Outcome.admitted) {
      settledIn.admitted[priority] += 1;
      settledIn.admitted[key] += 1;
      if (priority === 'view') settledIn.viewAdmittedByTenth[tenth]! += 1;
    } else {
      settledIn.shed[priority] += 1;
      settledIn.shed[key] += 1;
      if (priority === 'purchase' && shedOutcomes.includes(outcome)) settledIn.purchaseRefusedByTenth[tenth]! += 1;
    }
  }
  return { phases: byPhase, seconds };
}
