import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../launcher/Mesh.js';

/** One series of an instant query's answer. */
export interface Sample { labels: Record<string, string>; value: number }

const recentLines = 50;

/**
 * Debian's Prometheus (/usr/bin/prometheus) run for a while on a free port, with a configuration
 * and rule files given as text, in a data folder of its own that goes when it stops.
 */
export class PrometheusServer {
  readonly #log: string[] = [];

  private constructor(private readonly child: ChildProcess, private readonly folder: string, readonly url: string, private readonly exited: Promise<void>) {}

  /** `ruleFiles` are written beside the configuration, which names them by file name. */
  static async start(config: string, ruleFiles: Record<string, string>, options: { binary?: string; readyTimeoutMs?: number } = {}): Promise<PrometheusServer> {
    const folder = mkdtempSync(path.join(tmpdir(), 'mesh-prometheus-'));
    writeFileSync(path.join(folder, 'prometheus.yml'), config);
    for (const [name, text] of Object.entries(ruleFiles)) writeFileSync(path.join(folder, name), text);
    const port = await freePort();
    const child = spawn(options.binary ?? '/usr/bin/prometheus', [
      `--config.file=${path.join(folder, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(folder, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ], { cwd: folder, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const server = new PrometheusServer(child, folder, `http://127.0.0.1:${port}`, exited);
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      server.#log.push(...text.split('\n').filter(Boolean));
      server.#log.splice(0, Math.max(0, server.#log.length - recentLines));
    });
    try {
      await server.#waitUntilReady(options.readyTimeoutMs ?? 20_000);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  async #waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`prometheus exited before it was ready:\n${this.#log.join('\n')}`);
      const status = await fetch(`${this.url}/-/ready`).then((response) => response.status, () => 0);
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`prometheus was not ready within ${timeoutMs} ms:\n${this.#log.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The last lines it logged, for a failure's diagnostics. */
  get recentLog(): string[] { return [...this.#log]; }

  /** An instant query, now. */
  async query(expression: string): Promise<Sample[]> {
    const response = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: expression })}`, { signal: AbortSignal.timeout(5_000) });
    const body = await response.json() as { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success' || body.data?.resultType !== 'vector') throw new Error(`query ${expression}: ${body.error ?? JSON.stringify(body)}`);
    return body.data.result.map(({ metric, value }) => ({ labels: metric, value: Number(value[1]) }));
  }

  /** The scrape targets and whether each is up. */
  async targets(): Promise<Array<{ job: string; url: string; health: string; lastError: string }>> {
    const body = await (await fetch(`${this.url}/api/v1/targets?state=active`)).json() as { data: { activeTargets: Array<{ labels: { job: string }; scrapeUrl: string; health: string; lastError: string }> } };
    return body.data.activeTargets.map((target) => ({ job: target.labels.job, url: target.scrapeUrl, health: target.health, lastError: target.lastError }));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const killer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(killer);
    }
    rmSync(this.folder, { recursive: true, force: true });
  }
}
