import { setTimeout as sleep } from 'node:timers/promises';
import { serviceNames, type Mesh, type ServiceName } from '../../tools/launcher/Mesh.js';

/** Kills a random service with SIGKILL every few seconds and starts it again at once. */
export class RandomKiller {
  readonly kills: Array<{ at: number; service: ServiceName }> = [];
  readonly #stopping = new AbortController();
  readonly #running: Promise<void>;

  constructor(private readonly mesh: Mesh, private readonly minSeconds: number, private readonly maxSeconds: number) {
    this.#running = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    for (;;) {
      const pause = 1000 * (this.minSeconds + Math.random() * (this.maxSeconds - this.minSeconds));
      const stopped = await sleep(pause, false, { signal: this.#stopping.signal }).catch(() => true);
      if (stopped) return;
      const service = serviceNames[Math.floor(Math.random() * serviceNames.length)]!;
      await this.mesh.services[service].stop('SIGKILL');
      this.kills.push({ at: Date.now(), service });
      await this.mesh.services[service].start();
    }
  }
}
