import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** Counters of a proxy since it started; take two snapshots and subtract to measure a phase. */
export interface TcpProxyStats {
  /** Connections accepted and forwarded to the target. */
  connections: number;
  /** Connection attempts while cut (`reset` mode): accepted and reset at once, nothing forwarded. */
  refused: number;
  /** Connections open now. */
  active: number;
  /** Bytes (and chunks, roughly one per command or query burst) forwarded client → server. */
  bytesToServer: number;
  chunksToServer: number;
  /** Bytes forwarded server → client. */
  bytesToClient: number;
  /** Times a side was paused because the other could not keep up (write returned false or the delay queue was full). */
  pauses: number;
}

export type CutMode =
  /** Keep listening; reset every connection at once (counted in `refused`): the dependency answers nothing. */
  | 'reset'
  /** Stop listening: connection attempts are refused by the kernel (ECONNREFUSED), as when the server is down; not counted. */
  | 'refuse'
  /**
   * Keep listening; accept every connection and close it a moment later without forwarding anything (counted in
   * `refused`): what a client sees through a load balancer or sidecar proxy whose backend is down.
   */
  | 'hangup';

export interface TcpProxyOptions {
  /** host:port of the real server. */
  target: string;
  /** Latency added to every chunk, each way. */
  delayMs?: number;
  /** Bytes a direction may hold in its delay queue before the sending side is paused. */
  maxQueuedBytes?: number;
  /** Port to listen on; 0 (a free one) by default. */
  port?: number;
}

interface Queued { chunk: Buffer; at: number }

const hangupAfterMs = 20;

/**
 * A TCP proxy between the mesh and a real server, for chaos tests: it can be
 * cut (every connection destroyed, new ones reset or refused) and restored,
 * it can add latency to every chunk, and it counts connections and bytes so
 * a test can show that calls against a broken dependency stay bounded.
 * Buffering is bounded: a side is paused while the other's writes return
 * false or while the delay queue holds `maxQueuedBytes`.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #targetHost: string;
  readonly #targetPort: number;
  readonly #maxQueuedBytes: number;
  readonly #sockets = new Set<Socket>();
  readonly #pipes = new Set<Pipe>();
  #port: number;
  #cut: CutMode | undefined;
  #delayMs: number;
  readonly #stats: TcpProxyStats = { connections: 0, refused: 0, active: 0, bytesToServer: 0, chunksToServer: 0, bytesToClient: 0, pauses: 0 };

  private constructor(options: TcpProxyOptions) {
    const match = /^(.*):(\d+)$/.exec(options.target);
    if (!match) throw new Error(`target must be host:port, got ${options.target}`);
    this.#targetHost = match[1]!.replace(/^\[(.*)\]$/, '$1');
    this.#targetPort = Number(match[2]);
    this.#delayMs = options.delayMs ?? 0;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? 1024 * 1024;
    this.#port = options.port ?? 0;
    this.#server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => this.#accept(client));
  }

  /** A proxy listening on 127.0.0.1 in front of `target`. */
  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    const proxy = new TcpProxy(options);
    await proxy.#listen();
    return proxy;
  }

  get port(): number { return this.#port; }
  get address(): string { return `127.0.0.1:${this.#port}`; }
  get isCut(): boolean { return this.#cut !== undefined; }

  /** `url` (redis://…, postgres://…) with its host and port replaced by the proxy's. */
  url(url: string): string {
    const rewritten = new URL(url);
    rewritten.hostname = '127.0.0.1';
    rewritten.port = String(this.#port);
    return rewritten.toString();
  }

  /** Latency added to every chunk from now on (chunks already queued are re-timed: lowering it releases them sooner). */
  get delayMs(): number { return this.#delayMs; }
  set delayMs(ms: number) {
    this.#delayMs = Math.max(0, ms);
    for (const pipe of this.#pipes) pipe.flush();
  }

  stats(): TcpProxyStats {
    return { ...this.#stats, active: this.#pipes.size / 2 };
  }

  /** Destroys every connection, and resets (or refuses, by no longer listening) new ones until restore(). */
  async cut(mode: CutMode = 'reset'): Promise<void> {
    if (this.#cut !== undefined) return;
    this.#cut = mode;
    this.#destroyAll();
    if (mode === 'refuse') {
      const closed = once(this.#server, 'close');
      this.#server.close();
      await closed;
    }
  }

  /** Forwards again (listening again on the same port after a `refuse` cut). */
  async restore(): Promise<void> {
    const mode = this.#cut;
    if (mode === undefined) return;
    if (mode === 'refuse') await this.#listen();
    this.#cut = undefined;
  }

  async close(): Promise<void> {
    this.#cut = 'reset';
    this.#destroyAll();
    if (this.#server.listening) {
      const closed = once(this.#server, 'close');
      this.#server.close();
      await closed;
    }
  }

  async #listen(): Promise<void> {
    const settled = new AbortController();
    this.#server.listen(this.#port, '127.0.0.1');
    try {
      await Promise.race([
        once(this.#server, 'listening', { signal: settled.signal }),
        once(this.#server, 'error', { signal: settled.signal }).then(([error]) => { throw error; }),
      ]);
    } finally {
      settled.abort();
    }
    this.#port = (this.#server.address() as { port: number }).port;
  }

  #destroyAll(): void {
    for (const pipe of this.#pipes) pipe.stop();
    this.#pipes.clear();
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  #accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.#cut !== undefined) {
      this.#stats.refused += 1;
      if (this.#cut === 'hangup') {
        client.resume(); // read and discard what it says
        this.#sockets.add(client);
        const timer = setTimeout(() => client.destroy(), hangupAfterMs);
        client.once('close', () => { clearTimeout(timer); this.#sockets.delete(client); });
      } else {
        client.resetAndDestroy();
      }
      return;
    }
    this.#stats.connections += 1;
    const server = createConnection({ host: this.#targetHost, port: this.#targetPort, allowHalfOpen: true });
    server.on('error', () => undefined);
    this.#sockets.add(client).add(server);
    const toServer = new Pipe(client, server, this, (bytes) => { this.#stats.bytesToServer += bytes; this.#stats.chunksToServer += 1; });
    const toClient = new Pipe(server, client, this, (bytes) => { this.#stats.bytesToClient += bytes; });
    this.#pipes.add(toServer).add(toClient);
    const closed = () => {
      // Either side gone for good (reset, error, or both directions ended): the pair ends.
      toServer.stop();
      toClient.stop();
      this.#pipes.delete(toServer);
      this.#pipes.delete(toClient);
      client.destroy();
      server.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(server);
    };
    client.once('close', closed);
    server.once('close', closed);
    client.resume();
  }

  /** @internal */ get maxQueuedBytes(): number { return this.#maxQueuedBytes; }
  /** @internal */ paused(): void { this.#stats.pauses += 1; }
}

/** One direction of a connection: from → to, with the proxy's delay and bounded buffering. */
class Pipe {
  readonly #queue: Queued[] = [];
  #queuedBytes = 0;
  #waitingForDrain = false;
  #ended = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly from: Socket, private readonly to: Socket, private readonly proxy: TcpProxy, private readonly counted: (bytes: number) => void) {
    from.on('data', (chunk: Buffer) => {
      this.#queue.push({ chunk, at: Date.now() });
      this.#queuedBytes += chunk.length;
      this.flush();
    });
    from.on('end', () => {
      this.#ended = true;
      this.flush();
    });
  }

  flush(): void {
    if (this.#stopped) return;
    while (this.#queue.length > 0 && !this.#waitingForDrain) {
      const head = this.#queue[0]!;
      const wait = head.at + this.proxy.delayMs - Date.now();
      if (wait > 0) {
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => { this.#timer = undefined; this.flush(); }, wait);
        break;
      }
      this.#queue.shift();
      this.#queuedBytes -= head.chunk.length;
      this.counted(head.chunk.length);
      if (!this.to.write(head.chunk)) {
        this.#waitingForDrain = true;
        this.to.once('drain', () => { this.#waitingForDrain = false; this.flush(); });
      }
    }
    if (this.#queue.length === 0 && this.#ended && !this.#waitingForDrain) {
      this.to.end();
      return;
    }
    const mustWait = this.#waitingForDrain || this.#queuedBytes >= this.proxy.maxQueuedBytes;
    if (mustWait && !this.from.isPaused()) {
      this.from.pause();
      this.proxy.paused();
    } else if (!mustWait && this.from.isPaused()) {
      this.from.resume();
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#queue.length = 0;
    this.#queuedBytes = 0;
  }
}
