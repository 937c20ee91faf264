import type { Delivery } from '../flow/LinkReceiver.js';

/**
 * Rule 5 through a hop: an upstream delivery is acknowledged once downstream
 * has acknowledged everything it became. If the downstream link resets first,
 * the delivery's own link is reset instead, so upstream re-delivers it (rule 8).
 */
export function acknowledgeUpstream(delivery: Delivery, downstreamAcknowledged: Promise<void>, downstreamLink: string): void {
  downstreamAcknowledged.then(
    () => delivery.acknowledge(),
    () => delivery.reject(`downstream link ${downstreamLink} reset before it acknowledged`),
  );
}
