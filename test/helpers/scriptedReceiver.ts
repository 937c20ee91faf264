import * as grpc from '@grpc/grpc-js';
import { flowService, type Downstream, type Upstream__Output } from '../../lib/contract/loadContract.js';
import { bindServer } from '../../lib/flow/FlowServer.js';

/** One Exchange call as the test sees it from the receiving side: every frame, and a hand on what goes back. */
export class ScriptedCall {
  readonly frames: Upstream__Output[] = [];
  ended = false;
  #waiters: Array<() => void> = [];

  constructor(readonly call: grpc.ServerDuplexStream<Upstream__Output, Downstream>) {
    call.on('data', (frame: Upstream__Output) => { this.frames.push(frame); this.#wake(); });
    call.on('end', () => { this.ended = true; this.#wake(); });
    call.on('cancelled', () => { this.ended = true; this.#wake(); });
    call.on('error', () => undefined);
  }

  get events(): number {
    return this.frames.reduce((sum, frame) => sum + (frame.batch?.events.length ?? 0), 0);
  }

  write(frame: Downstream): void { this.call.write(frame); }
  open(maxBatchEvents = 1000, maxBatchBytes = 1 << 20, protocolVersion = 1): void {
    this.write({ opened: { receiver: 'scripted', protocolVersion, maxBatchEvents, maxBatchBytes } });
  }
  grant(events: number): void { this.write({ credit: { events } }); }
  finish(): void { this.call.end(); }

  /** The sender's Close frame, once it has come. */
  async closeFrame(): Promise<{ reason: string; code: number }> {
    await this.until((call) => call.frames.some((frame) => frame.close));
    return this.frames.find((frame) => frame.close)!.close!;
  }

  /** Waits until `predicate` holds over what has arrived. */
  async until(predicate: (call: ScriptedCall) => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (Date.now() > deadline) throw new Error('ScriptedCall.until: timed out');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  #wake(): void { for (const wake of this.#waiters.splice(0)) wake(); }
}

/** A Flow server whose calls the test answers frame by frame, to play a receiver that keeps or breaks the contract. */
export async function startScriptedReceiver(): Promise<{ port: number; calls: ScriptedCall[]; nextCall(): Promise<ScriptedCall>; stop(): void }> {
  const calls: ScriptedCall[] = [];
  let waiting: ((call: ScriptedCall) => void) | undefined;
  const server = new grpc.Server();
  server.addService(flowService, {
    Exchange(call: grpc.ServerDuplexStream<Upstream__Output, Downstream>) {
      const scripted = new ScriptedCall(call);
      calls.push(scripted);
      waiting?.(scripted);
      waiting = undefined;
    },
  });
  const port = await bindServer(server, '127.0.0.1:0');
  let taken = 0;
  return {
    port,
    calls,
    nextCall: () => {
      const already = calls[taken];
      taken += 1;
      if (already) return Promise.resolve(already);
      return new Promise((resolve) => { waiting = resolve; });
    },
    stop: () => server.forceShutdown(),
  };
}
