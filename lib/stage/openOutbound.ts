import { isIP } from 'node:net';
import type { Environment } from '../config.js';
import { LinkRouter, type Routing } from '../flow/LinkRouter.js';
import { LinkSender } from '../flow/LinkSender.js';
import type { LinkCredentials } from '../security/linkCredentials.js';
import type { Outbound } from '../flow/Outbound.js';
import type { Topics } from './topics/Topics.js';

export interface RoutingSettings { routing: Routing; resolveIntervalMs: number }

/** ROUTING (credit, or round-robin to compare) and RESOLVE_INTERVAL_MS (how often replica names are resolved again). */
export function readRouting(env: Environment): RoutingSettings {
  return {
    routing: env.oneOf('ROUTING', ['credit', 'round-robin'] as const, 'credit'),
    resolveIntervalMs: env.integer('RESOLVE_INTERVAL_MS', 5_000, { min: 100, max: 600_000 }),
  };
}

export interface OutboundWiring {
  credentials?: LinkCredentials | undefined;
  topics?: Topics | undefined;
  routing?: RoutingSettings | undefined;
}

/**
 * The way to the next hop: its topic in the decoupled mode; a router over its
 * replicas when the target lists several or names a host (which may resolve to
 * several, now or later); else one link.
 */
export function openOutbound(sender: string, downstream: { target: string; link: string; minWindow?: number }, wiring: OutboundWiring = {}): Outbound {
  if (wiring.topics) return wiring.topics.writer(downstream.link);
  const linkOptions = { link: downstream.link, sender, minWindow: downstream.minWindow, credentials: wiring.credentials?.client, channelOptions: wiring.credentials?.channelOptions };
  const targets = downstream.target.split(',');
  const host = /^\[?(.*?)\]?:\d+$/.exec(targets[0]!)?.[1] ?? '';
  if (targets.length === 1 && isIP(host)) return new LinkSender({ ...linkOptions, target: downstream.target });
  return new LinkRouter({ ...linkOptions, targets: downstream.target, ...(wiring.routing ?? { routing: 'credit', resolveIntervalMs: 5_000 }) });
}
