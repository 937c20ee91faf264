import { AggregatorRegistry, type Registry } from 'prom-client';
import type { FaultSettings, FaultSwitches } from '../lib/faults.js';
import { readJsonStream } from '../lib/service/jsonHttp.js';
import { resolveTargets, type ResolveName } from '../lib/service/resolveTargets.js';
import { stageNames, type StageName } from '../lib/service/stages.js';
import type { HopPressure, HopSnapshot, IntakeFigures } from '../lib/telemetry/HopPressure.js';
import { findBottleneck, type Bottleneck, type HopReport, type UnreachableHop } from './bottleneck.js';
import type { ClassFigures, EdgeFigures, EdgeTraffic } from './EdgeTraffic.js';

export type { UnreachableHop } from './bottleneck.js';

/** A replica's report, with the admin address the gateway read it at. */
export type MeshHop = HopReport & { admin?: string };

export interface MeshPressureReport {
  at: string;
  /** The gateway, then every replica of every stage, in the order events flow. */
  hops: MeshHop[];
  /** The hop holding the mesh back, by Flink's rule; null while nothing is back-pressured. */
  bottleneck: Bottleneck | null;
  edge: EdgeFigures;
  faults: FaultSettings & { enabled: boolean };
}

/** Every hop of the chain, the gateway first. */
const chain = ['gateway', ...stageNames];

/** A hop's admin API answered with an error; its status and words are passed on. */
export class HopRefusedError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const requestTimeoutMs = 1_000;
const reportMaxAgeMs = 500;
/** A 429 names the bottleneck of a report at most this old, or waits this long for a fresh one. */
const bottleneckMaxAgeMs = 3_000;
const bottleneckWaitMs = 250;
/** Replicas one admin setting may name (a name resolving to many included): what one report reads is bounded. */
const maxReplicasPerStage = 64;
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
  #lastBottleneck: { at: number; bottleneck: Bottleneck | null } | undefined;
  #lastIntake: { at: number; intake: IntakeFigures } | undefined;

  constructor(
    private readonly own: HopPressure,
    private readonly ownMetrics: Registry,
    private readonly edge: EdgeTraffic,
    private readonly faults: FaultSwitches,
    /** Each stage's admin APIs: host:port, several separated by commas; a name stands for every address it resolves to. */
    private readonly admins: Record<StageName, string>,
    private readonly resolveName?: ResolveName,
  ) {}

  get faultSwitchesEnabled(): boolean { return this.faults.enabled; }

  /**
   * The bottleneck, for a 429: that of a recent report, else of one fetched now if it comes quickly,
   * else the last known (null if none), so refusals never wait on a slow hop.
   */
  async bottleneck(): Promise<Bottleneck | null> {
    const known = this.#lastBottleneck;
    if (known && performance.now() - known.at <= bottleneckMaxAgeMs) return known.bottleneck;
    const fresh = await Promise.race([this.report().then((report) => report.bottleneck, () => undefined), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), bottleneckWaitMs).unref())]);
    return fresh === undefined ? known?.bottleneck ?? null : fresh;
  }

  /**
   * Seconds until the intake has room for `events` more unread entries at the rate the source measures
   * it drain (the estimate its window is sized by), from a report at most as old as the bottleneck's;
   * undefined without one, or while the intake is not draining (a stall promises nothing).
   */
  intakeRoomSeconds(events: number): number | undefined {
    const known = this.#lastIntake;
    if (!known || performance.now() - known.at > bottleneckMaxAgeMs) return undefined;
    const { window, lag, drain_per_second: perSecond } = known.intake;
    if (window === undefined || !perSecond || perSecond <= 0) return undefined;
    return Math.max(0, lag + events - window) / perSecond;
  }

  report(): Promise<MeshPressureReport> {
    const now = performance.now();
    if (!this.#latest || now - this.#latest.at > reportMaxAgeMs) this.#latest = { at: now, report: this.#collect() };
    return this.#latest.report;
  }

  /** Every hop's metrics and the gateway's own, in one Prometheus text (each series labelled by its stage). */
  async metricsText(): Promise<string> {
    const admins = (await this.#replicas()).flatMap(({ stage, addresses }) => addresses.map((address) => ({ stage, address })));
    const fetched = await Promise.all(admins.map(({ stage, address }) => this.#fetchJson(stage, address, '/metrics?format=json').catch(() => undefined)));
    // A hop that answers something else is left out, so one replacement cannot break every hop's figures.
    const valid = fetched.filter((metrics) => Array.isArray(metrics) && metrics.every(isMetricFamily));
    const all = [await this.ownMetrics.getMetricsAsJSON(), ...valid];
    return AggregatorRegistry.aggregate(all as object[]).metrics();
  }

  /** Sets the fault switches of every replica of every hop and of the gateway; answers with the settings now in force. */
  async setFaults(update: unknown): Promise<FaultSettings & { enabled: boolean }> {
    const settings = this.faults.update(update);
    const admins = (await this.#replicas()).flatMap(({ stage, addresses }) => addresses.map((address) => ({ stage, address })));
    await Promise.all(admins.map(async ({ stage, address }) => {
      const response = await fetch(`http://${address}/v1/faults`, {
        method: 'PUT', body: JSON.stringify(update), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(requestTimeoutMs),
      }).catch((error: unknown) => { throw new HopRefusedError(502, `${stage} did not answer: ${String(error)}`); });
      if (!response.ok) throw new HopRefusedError(response.status === 403 ? 403 : 502, `${stage}: ${((await response.json().catch(() => ({}))) as { error?: string }).error ?? response.statusText}`);
    }));
    this.#latest = undefined;
    return { ...settings, enabled: this.faults.enabled };
  }

  async #collect(): Promise<MeshPressureReport> {
    const stages = await this.#replicas();
    const hops = await Promise.all(stages.flatMap(({ stage, addresses, unresolved }) => [
      ...addresses.map((address) => this.#readHop(stage, address)),
      ...unresolved.map(({ target, error }): UnreachableHop => ({ name: stage, replica: target, up: false, error: `${target} does not resolve: ${String(error)}` })),
    ]));
    const all: MeshHop[] = [this.own.snapshot(), ...hops];
    const bottleneck = findBottleneck(all, chain);
    this.#lastBottleneck = { at: performance.now(), bottleneck };
    const intake = hops.find((hop): hop is HopSnapshot => hop.up && hop.intake !== undefined)?.intake;
    if (intake) this.#lastIntake = { at: performance.now(), intake };
    return {
      at: new Date().toISOString(),
      hops: all,
      bottleneck,
      edge: withCommitLatency(this.edge.figures(), hops),
      faults: { ...this.faults.settings, enabled: this.faults.enabled },
    };
  }

  /** One replica's report; one whose report is not of its stage (or that does not answer) is reported down, with why. */
  async #readHop(stage: StageName, address: string): Promise<MeshHop> {
    try {
      const hop = await this.#fetchJson(stage, address, '/v1/pressure') as Partial<HopSnapshot> | null;
      if (hop?.name !== stage || hop.up !== true) return { name: stage, replica: address, admin: address, up: false, error: `its /v1/pressure is not a report of ${stage} ({"name": "${stage}", "up": true, ...})` };
      // Another program's report may lack a replica name, or give one of any length.
      const replica = typeof hop.replica === 'string' && hop.replica.length > 0 ? hop.replica.slice(0, 128) : address;
      return { ...(hop as HopSnapshot), replica, admin: address };
    } catch (error) {
      return { name: stage, replica: address, admin: address, up: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Every stage's admin addresses, each name resolved to all its addresses now. */
  async #replicas(): Promise<Array<{ stage: StageName; addresses: string[]; unresolved: Array<{ target: string; error: unknown }> }>> {
    return Promise.all(stageNames.map(async (stage) => {
      const { addresses, failed } = await resolveTargets(this.admins[stage], this.resolveName);
      return { stage, addresses: [...addresses.keys()].slice(0, maxReplicasPerStage), unresolved: failed };
    }));
  }

  async #fetchJson(stage: StageName, address: string, path: string): Promise<unknown> {
    const response = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(requestTimeoutMs) });
    if (!response.ok) throw new Error(`${stage} answered ${response.status}`);
    // Node's fetch gives a web stream, which is async-iterable in Node though not in the DOM's types.
    const value = await readJsonStream((response.body ?? []) as AsyncIterable<Uint8Array>, maxReplyBytes);
    if (value instanceof Error) throw new Error(`${stage}: ${value.message}`);
    return value;
  }
}

/**
 * The edge's figures with each class's and key's p99 accept-to-commit, the worst any sink replica
 * reports; only for the classes and keys the edge knows (a replica may be another program).
 */
function withCommitLatency(edge: EdgeFigures, hops: MeshHop[]): EdgeFigures {
  const reports = hops.filter((hop): hop is HopSnapshot & MeshHop => hop.up && hop.name === 'sink').map((hop) => hop.accept_to_commit);
  const fill = (byName: Record<string, ClassFigures> | undefined, side: 'classes' | 'keys') => {
    for (const [name, figures] of Object.entries(byName ?? {})) {
      for (const report of reports) {
        const p99 = (report?.[side] as Record<string, { p99_ms?: unknown }> | undefined)?.[name]?.p99_ms;
        if (typeof p99 === 'number' && Number.isFinite(p99) && p99 >= 0) figures.p99_ms = Math.max(figures.p99_ms ?? 0, p99);
      }
    }
  };
  fill(edge.classes, 'classes');
  fill(edge.keys, 'keys');
  return edge;
}
