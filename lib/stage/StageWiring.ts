import type { Outbound } from '../flow/Outbound.js';
import type { InboundLinks } from './InboundLinks.js';
import type { Inbound } from './Inbound.js';
import { openOutbound, type OutboundWiring } from './openOutbound.js';

/**
 * How a hop is wired to its neighbours, chosen once where the hop is set up:
 * links (to one receiver, or a router over replicas, TLS or not), or, in the
 * decoupled mode the benchmarks compare against, the topics in front of each
 * stage. The runtime sees only the ports.
 */
export interface StageWiring {
  /** Where the hop takes from: its upstream links, or its topic. */
  inbound(stage: string, links: InboundLinks): Promise<Inbound>;
  /** Where the hop passes on to. */
  outbound(sender: string, downstream: { target: string; link: string }): Outbound;
  close(): void;
}

export function stageWiring(wiring: OutboundWiring): StageWiring {
  const { topics } = wiring;
  return {
    inbound: (stage, links) => (topics ? topics.reader(stage) : Promise.resolve(links)),
    outbound: (sender, downstream) => openOutbound(sender, downstream, wiring),
    close: () => topics?.close(),
  };
}
