import type { Delivery } from '../flow/LinkReceiver.js';
import type { Outbound, Reservation } from '../flow/Outbound.js';
import { heldBackFor, type Inbound } from './Inbound.js';

export interface Taken {
  delivery: Delivery;
  /** Downstream credit held for what the delivery becomes. */
  reservation: Reservation | undefined;
  /** When the wait for downstream credit began and ended, if the hop had to wait. */
  creditWait: { fromMs: number; toMs: number } | undefined;
}

/**
 * Rule 4: a hop takes from upstream only what downstream will absorb. It
 * reserves downstream credit first (up to `maxEvents`), then takes a delivery
 * of at most that many events and gives back the credit the delivery did not
 * need. Undefined once `signal` aborts. `waiting` says what it waits for, for
 * the stage's clock.
 */
export async function takeWithinCredit(
  inbound: Inbound,
  outbound: Outbound | undefined,
  maxEvents: number,
  signal: AbortSignal,
  waiting: (on: 'credit' | 'input') => void,
  /** Batches the hop has in hand besides this one: a wait for credit while it has some is its concurrency, not its downstream holding it back. */
  othersInHand: () => number = () => 0,
): Promise<Taken | undefined> {
  let reservation: Reservation | undefined;
  let creditWaitFromMs: number | undefined;
  if (outbound) {
    if (outbound.stats().freeCredit === 0) {
      creditWaitFromMs = Date.now();
      waiting('credit');
    }
    reservation = await outbound.reserve(maxEvents, signal).catch((error: unknown) => {
      if (signal.aborted) return undefined;
      throw error;
    });
    if (!reservation) return undefined;
  }
  const creditWait = creditWaitFromMs === undefined ? undefined : { fromMs: creditWaitFromMs, toMs: Date.now() };
  waiting('input');
  const heldBackMs = creditWait !== undefined && othersInHand() === 0 ? heldBackFor(creditWait.toMs - creditWait.fromMs) : 0;
  const delivery = await inbound.next(reservation?.events ?? maxEvents, signal, heldBackMs);
  if (!delivery) {
    if (reservation) outbound!.release(reservation);
    return undefined;
  }
  if (reservation) outbound!.release(reservation, reservation.events - delivery.events.length);
  return { delivery, reservation, creditWait };
}
