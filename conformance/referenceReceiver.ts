import type * as grpc from '@grpc/grpc-js';
import { bindServer, createFlowServer, type FlowServerOptions } from '../lib/flow/FlowServer.js';
import type { LinkReceiver } from '../lib/flow/LinkReceiver.js';

/** Configured as a stage is by default (LINK_CAPACITY, MAX_LINKS, OPEN_TIMEOUT_MS), but for larger batches. */
const referenceReceiverOptions: FlowServerOptions = {
  receiver: 'reference-receiver',
  capacity: 4096,
  maxBatchEvents: 1000,
  maxBatchBytes: 4 * 1024 * 1024,
  maxLinks: 64,
  openTimeoutMs: 2_000,
};

/** Consumes every link as a sink would: takes each delivery and acknowledges it as done. */
async function consume(link: LinkReceiver): Promise<void> {
  for await (const delivery of link) delivery.acknowledge();
}

export interface RunningReceiver {
  server: grpc.Server;
  port: number;
  stop(): Promise<void>;
}

/** The project's own receiver, the one `npm run conformance -- --self` checks. */
export async function startReferenceReceiver(address = '127.0.0.1:0', options: Partial<FlowServerOptions> = {}): Promise<RunningReceiver> {
  const server = createFlowServer({ ...referenceReceiverOptions, ...options }, (link) => void consume(link));
  const port = await bindServer(server, address);
  return {
    server,
    port,
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}
