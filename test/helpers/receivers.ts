import type * as grpc from '@grpc/grpc-js';
import { bindServer, createFlowServer, type FlowServerOptions } from '../../lib/flow/FlowServer.js';
import type { LinkReceiver } from '../../lib/flow/LinkReceiver.js';

export const testReceiverOptions: FlowServerOptions = {
  receiver: 'test-receiver',
  capacity: 100,
  maxBatchEvents: 50,
  maxBatchBytes: 1 << 20,
  maxLinks: 16,
};

/** A real Flow server on a free port; every opened link is handed to `onLink`. */
export async function startReceiver(
  onLink: (link: LinkReceiver) => void,
  options: Partial<FlowServerOptions> = {},
  address = '127.0.0.1:0',
): Promise<{ server: grpc.Server; port: number; target: string; stop(): void }> {
  const server = createFlowServer({ ...testReceiverOptions, ...options }, onLink);
  const port = await bindServer(server, address);
  return { server, port, target: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

/** Takes and acknowledges everything, recording event ids in arrival order. */
export function consumeAll(ids: string[]): (link: LinkReceiver) => void {
  return (link) => {
    void (async () => {
      for await (const delivery of link) {
        for (const event of delivery.events) ids.push(event.id);
        delivery.acknowledge();
      }
    })();
  };
}

export function nextLink(): { onLink: (link: LinkReceiver) => void; link: Promise<LinkReceiver> } {
  let resolve!: (link: LinkReceiver) => void;
  const link = new Promise<LinkReceiver>((r) => { resolve = r; });
  return { onLink: (opened) => resolve(opened), link };
}
