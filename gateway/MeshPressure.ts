import { AggregatorRegistry, type Registry } from 'prom-client';
import type { FaultSettings, FaultSwitches } from '../lib/faults.js';
import { readJsonStream } from '../lib/service/jsonHttp.js';
import { stageNames, type StageName } from '../lib/service/stages.js';
import type { HopPressure, HopSnapshot } from '../lib/telemetry/HopPressure.js';
import type { EdgeFigures, EdgeTraffic } from './EdgeTraffic.js';

export interface UnreachableHop { name: string; up: false; error: string }

export interface MeshPressureReport {
  at: string;
  hops: Array<HopSnapshot | UnreachableHop>;
  edge: EdgeFigures;
  faults: FaultSettings & { enabled: boolean };
}

/** A hop's admin API answered with an error; its status and words are passed on. */
export class HopRefusedError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const requestTimeoutMs = 1_000;
const reportMaxAgeMs = 500;
/** A hop's admin API may be another program's: what the gateway reads of it is bounded. */
const maxReplyBytes = 4 * 1024 * 1024;

/** prom-client's JSON of one metric family, as AggregatorRegistry merges it. */
const isMetricFamily = (family: unknown): boolean => {
  const { name, help, type, values, aggregator } = (family ?? {}) as Record<string, unknown>;
  return typeof name === 'string' && typeof help === 'string' && typeof type === 'string' && typeof aggregator === 'string' && Array.isArray(values)
    // JSON writes a NaN sample as null.
    && values.every((sample) => { const value = (sample as { value?: unknown } | null)?.value; return typeof value === 'number' || value === null; });
};

/**
 * The whole mesh's pressure, as seen from the gateway: its own figures and
 * those each hop's admin API reports, fetched in parallel (each within a
 * second; a hop that does not answer is reported down). A report is reused
 * for half a second, so any number of dashboards cost the hops one request a
 * second each.
 */
export class MeshPressure {
  #latest: { at: number; report: Promise<MeshPressureReport> } | undefined;

  constructor(
    private readonly own: HopPressure,
    private readonly ownMetrics: Registry,
    private readonly edge: EdgeTraffic,
    private readonly faults: FaultSwitches,
    /** Each stage's admin API, host:port. */
    private readonly admins: Record<StageName, string>,
  ) {}

  get faultSwitchesEnabled(): boolean { return this.faults.enabled; }

  report(): Promise<MeshPressureReport> {
    const now = performance.now();
    if (!this.#latest || now - this.#latest.at > reportMaxAgeMs) this.#latest = { at: now, report: this.#collect() };
    return this.#latest.report;
  }

  /** Every hop's metrics and the gateway's own, in one Prometheus text (each series labelled by its stage). */
  async metricsText(): Promise<string> {
    const fetched = await Promise.all(stageNames.map((stage) => this.#fetchJson(stage, '/metrics?format=json').catch(() => undefined)));
    // A hop that answers something else is left out, so one replacement cannot break every hop's figures.
    const valid = fetched.filter((metrics) => Array.isArray(metrics) && metrics.every(isMetricFamily));
    const all = [await this.ownMetrics.getMetricsAsJSON(), ...valid];
    return AggregatorRegistry.aggregate(all as object[]).metrics();
  }

  /** Sets the fault switches of every hop and of the gateway; answers with the settings now in force. */
  async setFaults(update: unknown): Promise<FaultSettings & { enabled: boolean }> {
    const settings = this.faults.update(update);
    await Promise.all(stageNames.map(async (stage) => {
      const response = await fetch(`http://${this.admins[stage]}/v1/faults`, {
        method: 'PUT', body: JSON.stringify(update), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(requestTimeoutMs),
      }).catch((error: unknown) => { throw new HopRefusedError(502, `${stage} did not answer: ${String(error)}`); });
      if (!response.ok) throw new HopRefusedError(response.status === 403 ? 403 : 502, `${stage}: ${((await response.json().catch(() => ({}))) as { error?: string }).error ?? response.statusText}`);
    }));
    this.#latest = undefined;
    return { ...settings, enabled: this.faults.enabled };
  }

  async #collect(): Promise<MeshPressureReport> {
    const hops = await Promise.all(stageNames.map(async (stage): Promise<HopSnapshot | UnreachableHop> => {
      try {
        const hop = await this.#fetchJson(stage, '/v1/pressure') as Partial<HopSnapshot> | null;
        if (hop?.name !== stage || hop.up !== true) return { name: stage, up: false, error: `its /v1/pressure is not a report of ${stage} ({"name": "${stage}", "up": true, ...})` };
        return hop as HopSnapshot;
      } catch (error) {
        return { name: stage, up: false, error: error instanceof Error ? error.message : String(error) };
      }
    }));
    return {
      at: new Date().toISOString(),
      hops: [this.own.snapshot(), ...hops],
      edge: this.edge.figures(),
      faults: { ...this.faults.settings, enabled: this.faults.enabled },
    };
  }

  async #fetchJson(stage: StageName, path: string): Promise<unknown> {
    const response = await fetch(`http://${this.admins[stage]}${path}`, { signal: AbortSignal.timeout(requestTimeoutMs) });
    if (!response.ok) throw new Error(`${stage} answered ${response.status}`);
    // Node's fetch gives a web stream, which is async-iterable in Node though not in the DOM's types.
    const value = await readJsonStream((response.body ?? []) as AsyncIterable<Uint8Array>, maxReplyBytes);
    if (value instanceof Error) throw new Error(`${stage}: ${value.message}`);
    return value;
  }
}
