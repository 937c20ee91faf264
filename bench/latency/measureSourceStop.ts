import { setTimeout as sleep } from 'node:timers/promises';
import type { Mesh } from '../../tools/launcher/Mesh.js';

/** How often the source's outbound link is read while it is expected to stop. */
const pollEveryMs = 10;

/** Events the source has sent to enrichment so far, from its admin API. */
async function sourceEventsSent(mesh: Mesh): Promise<number | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${mesh.adminPorts.source}/v1/pressure`, { signal: AbortSignal.timeout(1_000) });
    const hop = await response.json() as { links?: Array<{ direction: string; link: string; events_total?: number }> };
    return hop.links?.find((link) => link.direction === 'out' && link.link === 'source->enrichment')?.events_total;
  } catch {
    return undefined;
  }
}

/**
 * Milliseconds from `stalledAtMs` (performance.now()) to the last time the
 * source's count of events sent to enrichment went up, watched for `watchMs`:
 * how long the source went on reading the intake once the sink stalled. Null
 * if it never stopped within the watch.
 */
export async function measureSourceStop(mesh: Mesh, stalledAtMs: number, watchMs: number): Promise<number | null> {
  let last = await sourceEventsSent(mesh);
  let lastIncreaseMs = stalledAtMs;
  while (performance.now() < stalledAtMs + watchMs) {
    await sleep(pollEveryMs);
    const sent = await sourceEventsSent(mesh);
    if (sent !== undefined && last !== undefined && sent > last) lastIncreaseMs = performance.now();
    if (sent !== undefined) last = sent;
  }
  // Still sending in the last fifth of the watch: it did not stop.
  return lastIncreaseMs > stalledAtMs + watchMs * 0.8 ? null : Math.round(lastIncreaseMs - stalledAtMs);
}
