/**
 * A child process: the receiving end of the measured link. argv: mode, capacity.
 * It counts the events it consumes and, when told to stall, stops consuming.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { flowService, type Event__Output, type Upstream__Output } from '../../lib/contract/loadContract.js';
import { bindServer, createFlowServer } from '../../lib/flow/FlowServer.js';
import { serverChannelOptions } from '../../lib/flow/channelOptions.js';
import type { LinkMode, ReceiverCommand, ReceiverReport } from './messages.js';

const MAX_BATCH_EVENTS = 1000;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

const [mode, capacity] = [process.argv[2] as LinkMode, Number(process.argv[3])];
interface Receiver {
  server: grpc.Server;
  /** Stops consuming for `ms` while the sender goes on offering. */
  stall(ms: number): void;
}

let received = 0;
let stallOver: Promise<void> | undefined;

function report(message: ReceiverReport): void {
  process.send!(message);
}

function stall(ms: number): Promise<void> {
  stallOver = sleep(ms).then(() => { stallOver = undefined; });
  return stallOver;
}

/** Takes deliveries and acknowledges each at once; while stalled it does not take, so credit runs out. */
function createFlowReceiver(): grpc.Server {
  return createFlowServer({ receiver: 'bench-receiver', capacity, maxBatchEvents: MAX_BATCH_EVENTS, maxBatchBytes: MAX_BATCH_BYTES, maxLinks: 1 }, async (link) => {
    for (;;) {
      if (stallOver) await stallOver;
      const delivery = await link.take();
      if (!delivery) return;
      received += delivery.events.length;
      delivery.acknowledge();
    }
  });
}

function createRawServer(onBatch: (events: Event__Output[]) => void): grpc.Server {
  const server = new grpc.Server(serverChannelOptions(MAX_BATCH_BYTES));
  server.addService(flowService, {
    Exchange(call: grpc.ServerDuplexStream<Upstream__Output, never>) {
      call.on('data', (frame: Upstream__Output) => { if (frame.batch) onBatch(frame.batch.events); });
    },
  });
  return server;
}

/** What naive code does: everything read goes into an unbounded backlog, processed only while not stalled. */
function createBufferingRawReceiver(): Receiver {
  const backlog: Event__Output[] = [];
  const processBacklog = () => {
    received += backlog.length;
    backlog.length = 0;
  };
  const server = createRawServer((events) => {
    for (const event of events) backlog.push(event);
    if (!stallOver) processBacklog();
  });
  return { server, stall: (ms) => void stall(ms).then(processBacklog) };
}

function createReceiver(): Receiver {
  switch (mode) {
    case 'flow': return { server: createFlowReceiver(), stall };
    case 'raw': return { server: createRawServer((events) => { received += events.length; }), stall: () => { throw new Error('the raw receiver has no consumer to stall'); } };
    case 'raw-ignoring-drain': return createBufferingRawReceiver();
  }
}

const receiver = createReceiver();
process.on('message', (command: ReceiverCommand) => {
  if (command.type === 'count') report({ type: 'count', received, atMs: performance.now() });
  else receiver.stall(command.ms);
});
report({ type: 'listening', port: await bindServer(receiver.server, '127.0.0.1:0') });
