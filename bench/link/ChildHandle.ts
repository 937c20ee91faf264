import { fork, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

export interface ChildExit { name: string; code: number | null; signal: NodeJS.Signals | null }

const liveChildren = new Set<ChildProcess>();
// Children must not outlive the benchmark, whichever way it ends.
process.on('exit', () => { for (const child of liveChildren) child.kill('SIGKILL'); });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(128 + constants.signals[signal]));

/** A forked file of this folder, talked to over its IPC channel. */
export class ChildHandle {
  readonly #child: ChildProcess;
  /** Settles when the process ends, for whatever reason. */
  readonly exited: Promise<ChildExit>;

  constructor(readonly name: string, file: string, args: string[]) {
    this.#child = fork(fileURLToPath(new URL(file, import.meta.url)), args, {
      execArgv: ['--max-old-space-size=1024'],
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
    });
    liveChildren.add(this.#child);
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        liveChildren.delete(this.#child);
        resolve({ name, code, signal });
      });
    });
  }

  get pid(): number { return this.#child.pid!; }

  /** Sends `message` unless the child is gone: whoever measures learns of that from `exited`. */
  send(message: object): void {
    if (this.#child.connected) this.#child.send(message);
  }

  /** The next message the child sends; rejects if it exits first. */
  nextMessage<T>(): Promise<T> {
    if (!this.#child.connected) return Promise.reject(new Error(`${this.name} has exited`));
    return new Promise((resolve, reject) => {
      const onMessage = (message: T) => { this.#child.off('exit', onExit); resolve(message); };
      const onExit = () => { this.#child.off('message', onMessage); reject(new Error(`${this.name} exited before answering`)); };
      this.#child.once('message', onMessage);
      this.#child.once('exit', onExit);
    });
  }

  /** Sends `message` and resolves with the child's answer. */
  request<T>(message: object): Promise<T> {
    const answer = this.nextMessage<T>();
    this.send(message);
    return answer;
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }
}
