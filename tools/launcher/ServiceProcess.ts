import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const recentLines = 200;

/** A program of any kind run in place of a service, with the service's environment. */
export interface ServiceCommand {
  command: string;
  args: string[];
  /** Its working directory; default this process's. */
  cwd?: string;
}

/**
 * One service of the mesh running as its own process: a compiled script of the project, run by
 * this Node.js, or a command. Either says "<name> listening on <address>" on stdout once it serves.
 */
export class ServiceProcess {
  #child: ChildProcess | undefined;
  #address: string | undefined;
  readonly #log: string[] = [];
  #exited: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly name: string,
    private readonly program: string | ServiceCommand,
    private env: Record<string, string>,
    private readonly onLine?: (service: string, line: string) => void,
  ) {}

  get address(): string | undefined { return this.#address; }
  get pid(): number | undefined { return this.#child?.pid; }
  get running(): boolean {
    const child = this.#child;
    return child !== undefined && child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Starts it and resolves with its address once it says where it listens. */
  start(extraEnv: Record<string, string> = {}, timeoutMs = 20_000): Promise<string> {
    this.env = { ...this.env, ...extraEnv };
    const { command, args, cwd } = typeof this.program === 'string' ? { command: process.execPath, args: [this.program], cwd: undefined } : this.program;
    const child = spawn(command, args, { env: this.env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#address = undefined;
    const remember = (line: string) => {
      this.#log.push(line);
      if (this.#log.length > recentLines) this.#log.shift();
      this.onLine?.(this.name, line);
    };
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      // A command that cannot be run at all (not found, not executable) never exits.
      child.on('error', (error) => {
        remember(`${this.name}: could not run ${command}: ${error.message}`);
        if (child.pid === undefined) resolve(null);
      });
    });
    createInterface({ input: child.stderr! }).on('line', remember);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not start within ${timeoutMs} ms:\n${this.#log.join('\n')}`)), timeoutMs);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        remember(line);
        const match = new RegExp(`^${this.name} listening on (\\S+)`).exec(line);
        if (match) {
          this.#address = match[1]!;
          clearTimeout(timer);
          resolve(this.#address);
        }
      });
      void this.#exited.then((code) => {
        clearTimeout(timer);
        if (!this.#address) reject(new Error(`${this.name} exited (${code}) before it started:\n${this.#log.join('\n')}`));
      });
    });
  }

  /** Sends `signal` and waits for the process to exit (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<number | null> {
    if (!this.running) return this.#exited;
    this.#child!.kill(signal);
    const timer = setTimeout(() => this.#child?.kill('SIGKILL'), timeoutMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resident memory in MB, from /proc (Linux). */
  rssMb(): number | undefined {
    if (!this.running) return undefined;
    try {
      const status = readFileSync(`/proc/${this.#child!.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
      return Number.isFinite(kb) ? kb / 1024 : undefined;
    } catch {
      return undefined;
    }
  }
}
