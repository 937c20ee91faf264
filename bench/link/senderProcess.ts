/**
 * A child process: the sending end of the measured link. argv: mode, target.
 * It offers batches of the event pool as fast as its mode lets it, until killed.
 */
import { once } from 'node:events';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { flowService, type Downstream__Output, type Event, type Upstream } from '../../lib/contract/loadContract.js';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import { clientChannelOptions } from '../../lib/flow/channelOptions.js';
import { buildEventBatches } from './eventPool.js';
import type { LinkMode } from './messages.js';

/** Writes between yields when ignoring drain: few enough that the socket is still written, many enough to outrun it. */
const WRITES_PER_YIELD = 8;

const [mode, target] = [process.argv[2] as LinkMode, process.argv[3]!];
const batches = buildEventBatches();

async function sendOverLink(): Promise<never> {
  const sender = new LinkSender({ target, link: 'bench-sender->bench-receiver', sender: 'bench-sender' });
  for (let index = 0; ; index = (index + 1) % batches.length) await sender.send(batches[index]!);
}

async function sendRaw(respectDrain: boolean): Promise<never> {
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), clientChannelOptions());
  const { path, requestSerialize, responseDeserialize } = flowService.Exchange;
  const call = client.makeBidiStreamRequest<Upstream, Downstream__Output>(path, requestSerialize, responseDeserialize);
  let offset = 0;
  for (let index = 0, writes = 1; ; index = (index + 1) % batches.length, writes += 1) {
    const events: Event[] = batches[index]!;
    const written = call.write({ batch: { offset, events, traceContext: {} } });
    offset += events.length;
    if (respectDrain) {
      if (!written) await once(call, 'drain');
    } else if (writes % WRITES_PER_YIELD === 0) {
      await yieldToIo();
    }
  }
}

switch (mode) {
  case 'flow': await sendOverLink(); break;
  case 'raw': await sendRaw(true); break;
  case 'raw-ignoring-drain': await sendRaw(false); break;
}
