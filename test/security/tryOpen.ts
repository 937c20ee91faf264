import * as grpc from '@grpc/grpc-js';
import { PROTOCOL_VERSION, flowService, type Downstream__Output } from '../../lib/contract/loadContract.js';

/** Opens one Exchange call and says how it went: 'opened' if the receiver answered Open, else the gRPC status it ended with. */
export function tryOpen(target: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}): Promise<'opened' | string> {
  const client = new grpc.Client(target, credentials, options);
  const call = client.makeBidiStreamRequest<Buffer, Downstream__Output>(
    flowService.Exchange.path, (frame) => frame, flowService.Exchange.responseDeserialize, new grpc.Metadata(), { deadline: Date.now() + 5_000 },
  );
  return new Promise<string>((resolve) => {
    call.on('data', (frame: Downstream__Output) => { if (frame.opened) resolve('opened'); });
    call.on('error', (error: grpc.ServiceError) => resolve(grpc.status[error.code]));
    call.write(flowService.Exchange.requestSerialize({ open: { link: 'probe', sender: 'probe', protocolVersion: PROTOCOL_VERSION } }));
  }).finally(() => {
    call.cancel();
    client.close();
  });
}
