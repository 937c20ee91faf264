/**
 * How both ends of the measured link are written: `flow` is LinkSender and a
 * FlowServer; `raw` is a bare grpc-js stream that respects drain; and
 * `raw-ignoring-drain` is the naive version that neither waits for drain nor
 * bounds what it buffers.
 */
export type LinkMode = 'flow' | 'raw' | 'raw-ignoring-drain';

/** What the benchmark tells a receiver process over IPC. */
export type ReceiverCommand =
  | { type: 'count' }
  | { type: 'stall'; ms: number };

/** What a receiver process tells the benchmark. */
export type ReceiverReport =
  | { type: 'listening'; port: number }
  | ReceivedCount;

/** Events consumed so far, and when (the receiver's performance.now()). */
export interface ReceivedCount { type: 'count'; received: number; atMs: number }
