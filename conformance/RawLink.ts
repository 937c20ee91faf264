import * as grpc from '@grpc/grpc-js';
import { flowService, type Downstream__Output, type Upstream } from '../lib/contract/loadContract.js';

const encode = flowService.Exchange.requestSerialize;
const decode = flowService.Exchange.responseDeserialize;
const maxRecordedFrames = 100_000;

/**
 * One Exchange call driven frame by frame, with no flow control of its own:
 * the kit decides exactly what crosses the wire, breaches included, and reads
 * back everything the receiver answers.
 */
export class RawLink {
  readonly frames: Downstream__Output[] = [];
  readonly grants: number[] = [];
  readonly acks: number[] = [];
  readonly ended: Promise<grpc.StatusObject>;
  sent = 0;
  #status: grpc.StatusObject | undefined;
  #read = 0;
  #wake: (() => void) | undefined;
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<Buffer, Downstream__Output>;

  /**
   * `ownConnection`: this link gets an HTTP/2 connection of its own instead of
   * sharing the one every other link of the kit uses, as a separate upstream's would.
   * `metadata`: the call's metadata, e.g. `{ authorization: 'Bearer <token>' }` for a receiver that requires it.
   */
  constructor(target: string, credentials: grpc.ChannelCredentials, { ownConnection = false, metadata = {} }: { ownConnection?: boolean; metadata?: Record<string, string> } = {}) {
    this.#client = new grpc.Client(target, credentials, ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {});
    const callMetadata = new grpc.Metadata();
    for (const [key, value] of Object.entries(metadata)) callMetadata.set(key, value);
    this.#call = this.#client.makeBidiStreamRequest<Buffer, Downstream__Output>(flowService.Exchange.path, (frame) => frame, decode, callMetadata);
    this.#call.on('data', (frame: Downstream__Output) => {
      if (this.frames.length >= maxRecordedFrames) return;
      this.frames.push(frame);
      if (frame.credit) this.grants.push(frame.credit.events);
      if (frame.ack) this.acks.push(frame.ack.offset);
      this.#wakeReader();
    });
    this.#call.on('error', () => undefined);
    this.ended = new Promise((resolve) => {
      this.#call.on('status', (status: grpc.StatusObject) => {
        this.#status = status;
        this.#wakeReader();
        resolve(status);
      });
    });
  }

  get status(): grpc.StatusObject | undefined { return this.#status; }
  get granted(): number { return this.grants.reduce((sum, grant) => sum + grant, 0); }
  /** Credit granted and not yet used, as this side sees it. */
  get outstanding(): number { return this.granted - this.sent; }

  send(frame: Upstream): void {
    if (frame.batch?.events) this.sent += frame.batch.events.length;
    this.#call.write(encode(frame));
  }

  /** Writes bytes that need not be a valid frame at all. */
  sendBytes(bytes: Buffer): void {
    this.#call.write(bytes);
  }

  /** The next downstream frame not yet read, or undefined if none comes within `timeoutMs` or the call ended. */
  async next(timeoutMs: number): Promise<Downstream__Output | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.#read >= this.frames.length) {
      const remaining = deadline - Date.now();
      if (this.#status || remaining <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#wake = () => { clearTimeout(timer); resolve(); };
      });
      this.#wake = undefined;
    }
    return this.frames[this.#read++];
  }

  /** Waits for credit (reading frames as they come) until at least `events` are outstanding; false on timeout or end. */
  async awaitCredit(events: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.outstanding < events) {
      if (!(await this.next(deadline - Date.now()))) return false;
    }
    return true;
  }

  /** The call's status if it ends within `timeoutMs`. */
  async endWithin(timeoutMs: number): Promise<grpc.StatusObject | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), timeoutMs); });
    try {
      return await Promise.race([this.ended, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops reading what the receiver sends: its frames back up in the transport. */
  stopReading(): void {
    this.#call.pause();
  }

  halfClose(): void {
    this.#call.end();
  }

  dispose(): void {
    this.#call.cancel();
    this.#client.close();
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
