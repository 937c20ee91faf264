import * as grpc from '@grpc/grpc-js';
import { flowService, type Downstream, type Upstream__Output } from '../../lib/contract/loadContract.js';
import { bindServer } from '../../lib/flow/FlowServer.js';

export interface Breakage {
  /** The first grant; 0 breaks rules 1 and 3. */
  firstGrant: number;
  /** Grant back what was received (as a receiver that frees space should), or never (rule 3). */
  replenishes: boolean;
  /** Refuse events beyond credit (rule 2). */
  checksCredit: boolean;
}

export const grantsZero: Breakage = { firstGrant: 0, replenishes: true, checksCredit: true };
export const neverReplenishes: Breakage = { firstGrant: 100, replenishes: false, checksCredit: true };
// Its consumer is stalled, so its buffer grows without bound: what rule 2 exists to prevent.
export const acceptsOverCredit: Breakage = { firstGrant: 100, replenishes: false, checksCredit: false };

/** A receiver written against the proto alone that breaks exactly one part of the contract. */
export async function startBrokenReceiver(breakage: Breakage): Promise<{ target: string; stop(): void }> {
  const server = new grpc.Server();
  server.addService(flowService, {
    Exchange(call: grpc.ServerDuplexStream<Upstream__Output, Downstream>) {
      let opened = false;
      let outstanding = 0;
      let received = 0;
      const refuse = (code: grpc.status, details: string) => call.emit('error', { code, details });
      call.on('data', (frame: Upstream__Output) => {
        if (frame.open) {
          if (opened) return refuse(grpc.status.FAILED_PRECONDITION, 'second Open');
          if (frame.open.protocolVersion !== 1) return refuse(grpc.status.FAILED_PRECONDITION, 'unsupported version');
          opened = true;
          call.write({ opened: { receiver: 'broken', protocolVersion: 1, maxBatchEvents: 50, maxBatchBytes: 1 << 20 } });
          call.write({ credit: { events: breakage.firstGrant } });
          outstanding = breakage.firstGrant;
        } else if (frame.batch) {
          if (!opened) return refuse(grpc.status.FAILED_PRECONDITION, 'first frame must be Open');
          const count = frame.batch.events.length;
          if (count > 50) return refuse(grpc.status.RESOURCE_EXHAUSTED, 'batch too large');
          if (frame.batch.offset !== received) return refuse(grpc.status.INVALID_ARGUMENT, 'offset gap');
          if (breakage.checksCredit && count > outstanding) return refuse(grpc.status.RESOURCE_EXHAUSTED, 'over credit');
          outstanding -= count;
          received += count;
          call.write({ ack: { offset: received } });
          if (breakage.replenishes && breakage.firstGrant > 0) {
            call.write({ credit: { events: count } });
            outstanding += count;
          }
        } else if (frame.close) {
          call.end();
        }
      });
      call.on('error', () => undefined);
    },
  });
  const port = await bindServer(server, '127.0.0.1:0');
  return { target: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}
