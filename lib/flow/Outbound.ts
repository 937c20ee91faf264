import type { Event } from '../contract/loadContract.js';
import type { CreditWindow } from './CreditWindow.js';

/** Credit set aside for a batch not yet sent: void once the connection whose window it came from ends. */
export interface Reservation {
  /** Events reserved and not yet spent. */
  events: number;
  readonly window: CreditWindow;
}

export interface SendResult {
  /** Link offset of the first event sent, on the connection that carried it. */
  offset: number;
  count: number;
  frames: number;
  /** Time spent waiting for credit (back-pressured by the receiver). */
  creditWaitMs: number;
  /** Time spent waiting for the transport to drain. */
  drainWaitMs: number;
  /**
   * Settles once downstream acknowledged every event of the send (rule 5);
   * rejects with LinkResetError if the link resets first (its events then
   * come back from the intake, rule 8).
   */
  acknowledged: Promise<void>;
}

export interface OutboundStats {
  connected: boolean;
  /** The receiver's buffer capacity: its first grant on this connection (rule 3); 0 before it. */
  capacity: number;
  /** The receiver's window as its last grant said (Credit.window), else its capacity; 0 before it. */
  receiverWindow: number;
  /** Credit granted and not yet spent, reserved or not. */
  availableCredit: number;
  /** Of that, what no reservation holds. */
  freeCredit: number;
  /** Events sent on the current connection, and of them acknowledged. */
  sent: number;
  acknowledged: number;
  /** Events sent over every connection since start. */
  totalSent: number;
  creditWaitMs: number;
  drainWaitMs: number;
}

export interface OutboundEvents {
  /** Credit arrived: how much is free now. */
  credit: [free: number];
}

type CreditListener = (...args: OutboundEvents['credit']) => void;

/**
 * Where a hop passes its events on: a flow-controlled link (LinkSender), a
 * router over the replicas of the next stage (LinkRouter) or, in the decoupled
 * mode, a topic (TopicWriter). A hop reserves credit for what it takes in
 * before it processes it, sends within the reservation, and learns from the
 * send's `acknowledged` promise when its upstream may be acknowledged.
 */
export interface Outbound {
  readonly link: string;
  on(event: 'credit', listener: CreditListener): unknown;
  off(event: 'credit', listener: CreditListener): unknown;
  readonly connected: boolean;
  stats(): OutboundStats;
  /** Reserves up to `max` events of credit, waiting (until `signal` aborts) for at least one. */
  reserve(max: number, signal?: AbortSignal): Promise<Reservation>;
  /** Reserves exactly `count` events if the link has that much free now. */
  tryReserve(count: number): Reservation | undefined;
  /** Gives back `count` events of a reservation (all it holds unless told) that will not be spent. */
  release(reservation: Reservation, count?: number): void;
  /** Sends `events` in order, within `reservation` first; rejects with LinkResetError if the link resets during the send. */
  send(events: readonly Event[], traceContext?: Record<string, string>, reservation?: Reservation): Promise<SendResult>;
  close(reason?: string): Promise<void>;
}

export function releaseReservation(reservation: Reservation, count = reservation.events): void {
  const events = Math.max(0, Math.min(count, reservation.events));
  reservation.window.release(events);
  reservation.events -= events;
}
