import type { HopSnapshot } from '../lib/telemetry/HopPressure.js';

/** A replica whose admin API did not answer (or answered something other than its report). */
export interface UnreachableHop { name: string; replica: string; up: false; error: string }

export type HopReport = HopSnapshot | UnreachableHop;

/**
 * Why a hop holds the mesh back, as told from its figures:
 * - `down`: it does not answer;
 * - `breaker-open`: a breaker of its dependency is open (or half-open, probing);
 * - `commit-slow`: it is the last hop, busy committing;
 * - `dependency-slow`: most of its busy time is spent waiting on its dependency (Redis, Postgres);
 * - `busy`: busy with its own work.
 */
export type BottleneckReason = 'down' | 'breaker-open' | 'commit-slow' | 'dependency-slow' | 'busy';

export interface Bottleneck { stage: string; replica: string; reason: BottleneckReason }

/** A hop is back-pressured when it waits for credit this share of its time or more. */
export const backpressuredShare = 0.5;
/** With no hop back-pressured, a hop busy this share of its time or more while the intake is full holds the mesh back. */
export const saturatedShare = 0.8;
/** The intake is full from this share of its window (sized by time) or of its bound. */
export const intakeFullShare = 0.9;

const share = (ms: number | undefined) => (typeof ms === 'number' && Number.isFinite(ms) ? ms / 1_000 : 0);

/** Whether a replica's report says it spends most of its time waiting for credit. */
export function isBackpressured(hop: HopReport): boolean {
  return hop.up && share(hop.backpressured_ms_per_second) >= backpressuredShare;
}

/** Whether a source's report says the intake is full: its unread entries at their window, or all of it at its bound. */
function intakeFull(hops: readonly HopReport[]): boolean {
  return hops.some((hop) => {
    const intake = hop.up ? hop.intake : undefined;
    if (!intake) return false;
    return intake.length >= intakeFullShare * intake.capacity || (intake.window !== undefined && intake.lag >= intakeFullShare * intake.window);
  });
}

/**
 * Flink's rule: the bottleneck is the first hop downstream of the back-pressured
 * ones that is itself not back-pressured (a stage is back-pressured if any of its
 * replicas is). Pressure comes from downstream, so it is taken past the last
 * back-pressured stage: a hop in the middle of the chain whose share dips just
 * under the threshold is not blamed for what a hop further down does. Within that
 * stage, the replica to blame is one that is down, else one whose breaker is open,
 * else the busiest. The edge refuses (429) rather than waiting once the intake is
 * full, so pressure can stop there with no hop waiting: then the first hop that
 * is saturated (busy 0.8 of its time or more while the intake is full) is the
 * bottleneck, as the recording rule `stage:mesh_stage_bottleneck:bool` has it.
 * Null otherwise. `chain`: the stages in the order events flow through them.
 */
export function findBottleneck(hops: readonly HopReport[], chain: readonly string[]): Bottleneck | null {
  const replicasOf = (stage: string) => hops.filter((hop) => hop.name === stage);
  let last = -1;
  chain.forEach((stage, index) => { if (replicasOf(stage).some(isBackpressured)) last = index; });
  if (last < 0) {
    if (!intakeFull(hops)) return null;
    const saturated = chain.findIndex((stage) => replicasOf(stage).some((hop) => hop.up && share(hop.busy_ms_per_second) >= saturatedShare));
    return saturated < 0 ? null : blame(chain[saturated]!, replicasOf(chain[saturated]!), saturated === chain.length - 1);
  }
  for (let index = last + 1; index < chain.length; index += 1) {
    const replicas = replicasOf(chain[index]!);
    if (replicas.length > 0) return blame(chain[index]!, replicas, index === chain.length - 1);
  }
  return null;
}

function blame(stage: string, replicas: readonly HopReport[], last: boolean): Bottleneck {
  const down = replicas.find((hop) => !hop.up);
  if (down) return { stage, replica: down.replica, reason: 'down' };
  const up = replicas as HopSnapshot[];
  const broken = up.find((hop) => (hop.breakers ?? []).some((breaker) => breaker.state !== 'closed'));
  if (broken) return { stage, replica: broken.replica, reason: 'breaker-open' };
  const busiest = up.reduce((best, hop) => (share(hop.busy_ms_per_second) > share(best.busy_ms_per_second) ? hop : best));
  const waitingOnDependency = share(busiest.dependency_ms_per_second) >= share(busiest.busy_ms_per_second) / 2 && share(busiest.dependency_ms_per_second) > 0;
  return { stage, replica: busiest.replica, reason: last ? 'commit-slow' : waitingOnDependency ? 'dependency-slow' : 'busy' };
}
