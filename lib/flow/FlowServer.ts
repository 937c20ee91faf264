import * as grpc from '@grpc/grpc-js';
import { flowService } from '../contract/loadContract.js';
import { createLogger } from '../log.js';
import { LinkReceiver, type LinkCall, type LinkReceiverOptions } from './LinkReceiver.js';
import { resourceExhausted } from './ProtocolError.js';
import { serverChannelOptions } from './channelOptions.js';

const log = createLogger('flow.server');

export interface FlowServerOptions extends LinkReceiverOptions {
  /** Opened links served at once; an Open beyond them is refused with RESOURCE_EXHAUSTED. */
  maxLinks: number;
  /** Calls waiting for their Open at once; a call beyond them evicts the oldest waiting one. */
  maxPendingOpens?: number;
  /** Calls of one peer connection waiting for their Open at once; one more is refused. */
  maxPendingOpensPerPeer?: number;
}

/** Frames reach the receiver as bytes, so that one that does not decode is refused with INVALID_ARGUMENT (grpc-js would say INTERNAL). */
const rawFlowService: grpc.ServiceDefinition = {
  Exchange: { ...flowService.Exchange, requestDeserialize: (bytes: Buffer) => bytes },
};

/**
 * Told of a link whose Open is valid, with its call's metadata (say, a bearer token), before
 * Opened is sent: it may refuse the link by throwing a ProtocolError.
 */
export type OnLink = (link: LinkReceiver, metadata: grpc.Metadata) => void;

/**
 * The Flow service: every Exchange call becomes a LinkReceiver, handed to
 * `onLink` once its Open is accepted. A call holds a link slot only from its
 * Open: calls that never open are bounded apart (per peer and in all) and
 * briefly, so streams that never send Open cannot lock a legitimate upstream out.
 */
export function flowServiceHandlers(options: FlowServerOptions, onLink: OnLink): grpc.UntypedServiceImplementation {
  const maxPending = options.maxPendingOpens ?? 16;
  const maxPendingPerPeer = options.maxPendingOpensPerPeer ?? 4;
  const pending = new Map<LinkReceiver, string>();
  const pendingByPeer = new Map<string, number>();
  let openLinks = 0;
  const settle = (link: LinkReceiver) => {
    const peer = pending.get(link);
    if (peer === undefined) return;
    pending.delete(link);
    const left = pendingByPeer.get(peer)! - 1;
    if (left === 0) pendingByPeer.delete(peer);
    else pendingByPeer.set(peer, left);
  };
  return {
    Exchange(call: LinkCall) {
      const peer = call.getPeer();
      if ((pendingByPeer.get(peer) ?? 0) >= maxPendingPerPeer) {
        call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: `at most ${maxPendingPerPeer} calls of one connection may wait for their Open` });
        return;
      }
      if (pending.size >= maxPending) {
        const [oldest] = pending.keys();
        settle(oldest!);
        oldest!.refuse(resourceExhausted(`evicted: no Open while ${maxPending} calls were waiting for theirs`));
      }
      const link = new LinkReceiver(call, options, (opened) => {
        settle(opened);
        if (openLinks >= options.maxLinks) throw resourceExhausted(`this receiver serves at most ${options.maxLinks} links`);
        onLink(opened, call.metadata);
        openLinks += 1;
        void opened.closed.then(() => { openLinks -= 1; });
      });
      pending.set(link, peer);
      pendingByPeer.set(peer, (pendingByPeer.get(peer) ?? 0) + 1);
      void link.closed.then(() => settle(link));
    },
  };
}

/**
 * grpc-js refuses a frame over the receive limit (rule 9) itself, before any
 * handler sees it, so the refusal is logged where grpc-js sends the status.
 */
const logRefusedFrames: grpc.ServerInterceptor = (method, call) => {
  const sendStatus = call.sendStatus.bind(call);
  let logged = false;
  call.sendStatus = (status) => {
    if (!logged && status.code === grpc.status.RESOURCE_EXHAUSTED && /larger than/.test(status.details)) {
      logged = true;
      log.warn('frame refused for size', { method: method.path, peer: call.getPeer(), code: 'RESOURCE_EXHAUSTED', details: status.details });
    }
    sendStatus(status);
  };
  return call as grpc.ServerInterceptingCall;
};

/** A gRPC server carrying the Flow service, not yet bound. */
export function createFlowServer(options: FlowServerOptions, onLink: OnLink): grpc.Server {
  const server = new grpc.Server({ ...serverChannelOptions(options.maxBatchBytes), interceptors: [logRefusedFrames] });
  server.addService(rawFlowService, flowServiceHandlers(options, onLink));
  return server;
}

/** Binds `server` to `address` (port 0 picks a free one) and resolves with the port. */
export function bindServer(server: grpc.Server, address: string, credentials = grpc.ServerCredentials.createInsecure()): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => (error ? reject(error) : resolve(port)));
  });
}
