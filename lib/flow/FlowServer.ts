import * as grpc from '@grpc/grpc-js';
import { flowService, type Downstream, type Upstream__Output } from '../contract/loadContract.js';
import { LinkReceiver, type LinkReceiverOptions } from './LinkReceiver.js';
import { serverChannelOptions } from './channelOptions.js';

export interface FlowServerOptions extends LinkReceiverOptions {
  /** Links (Exchange calls) served at once; one more is refused with RESOURCE_EXHAUSTED. */
  maxLinks: number;
}

/**
 * The Flow service: every Exchange call becomes a LinkReceiver, handed to
 * `onLink` once its Open is accepted.
 */
export function flowServiceHandlers(options: FlowServerOptions, onLink: (link: LinkReceiver) => void): grpc.UntypedServiceImplementation {
  let liveLinks = 0;
  return {
    Exchange(call: grpc.ServerDuplexStream<Upstream__Output, Downstream>) {
      if (liveLinks >= options.maxLinks) {
        call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: `this receiver serves at most ${options.maxLinks} links` });
        return;
      }
      liveLinks += 1;
      const link = new LinkReceiver(call, options, onLink);
      void link.closed.then(() => { liveLinks -= 1; });
    },
  };
}

/** A gRPC server carrying the Flow service, not yet bound. */
export function createFlowServer(options: FlowServerOptions, onLink: (link: LinkReceiver) => void): grpc.Server {
  const server = new grpc.Server(serverChannelOptions(options.maxBatchBytes));
  server.addService(flowService, flowServiceHandlers(options, onLink));
  return server;
}

/** Binds `server` to `address` (port 0 picks a free one) and resolves with the port. */
export function bindServer(server: grpc.Server, address: string, credentials = grpc.ServerCredentials.createInsecure()): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => (error ? reject(error) : resolve(port)));
  });
}
