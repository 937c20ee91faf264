import type { ServerResponse } from 'node:http';
import type { MeshPressure } from './MeshPressure.js';

/**
 * GET /v1/pressure/stream: the mesh's pressure as Server-Sent Events, one
 * report per interval to every watcher. One timer serves them all and runs only
 * while someone watches; a watcher too slow to take a report misses it rather
 * than having reports pile up in its socket buffer.
 */
export class PressureStream {
  readonly #watchers = new Set<ServerResponse>();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly pressure: MeshPressure, private readonly intervalMs: number, readonly maxWatchers: number) {}

  /** False when `maxWatchers` already watch. */
  watch(response: ServerResponse): boolean {
    if (this.#watchers.size >= this.maxWatchers) return false;
    response.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    response.write(`retry: ${this.intervalMs}\n\n`);
    this.#watchers.add(response);
    response.on('close', () => {
      this.#watchers.delete(response);
      if (this.#watchers.size === 0) this.#stopTimer();
    });
    void this.#send([response]);
    this.#timer ??= setInterval(() => void this.#send([...this.#watchers]), this.intervalMs);
    return true;
  }

  /** Ends every stream (the gateway is stopping). */
  close(): void {
    this.#stopTimer();
    for (const response of this.#watchers) response.end();
    this.#watchers.clear();
  }

  async #send(watchers: ServerResponse[]): Promise<void> {
    const message = `event: pressure\ndata: ${JSON.stringify(await this.pressure.report())}\n\n`;
    for (const response of watchers) {
      if (response.writableNeedDrain || response.destroyed) continue;
      response.write(message);
    }
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
