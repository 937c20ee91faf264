import type { EventEmitter } from 'node:events';
import type { Event } from '../contract/loadContract.js';
import type { SendResult, SenderStats } from '../flow/LinkSender.js';

/**
 * Where a hop passes its events on: a flow-controlled link (LinkSender) or, in
 * the decoupled mode, a topic (TopicWriter). Events: `credit`, `ack`
 * ({ generation, offset }), `reset` ({ generation, unacknowledged }).
 */
export interface Downstream extends EventEmitter {
  readonly link: string;
  readonly connected: boolean;
  stats(): SenderStats;
  /** Resolves with the credit available, once there is some. */
  waitForCredit(): Promise<number>;
  send(events: readonly Event[], traceContext?: Record<string, string>): Promise<SendResult>;
  close(reason?: string): Promise<void>;
}
