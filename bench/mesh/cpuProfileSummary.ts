/**
 * Self time in the V8 CPU profiles of a folder, by function and by where the code comes from:
 *   node dist/bench/mesh/cpuProfileSummary.js DIR [TOP]
 * Every .cpuprofile directly in DIR is summed, so DIR is meant to hold the profiles of one service.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame { functionName: string; url: string; lineNumber: number }

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  /** Of the busy time. */
  percent: number;
}

export interface ProfileSummary {
  /** Wall time the profiles cover. */
  totalMs: number;
  /** Of which not idle. Under CPU contention this includes time the thread was runnable but not running. */
  busyMs: number;
  /** "functionName file:line", most self time first, idle left out. */
  functions: SelfTime[];
  /** The same by npm package, mesh folder (e.g. services/source), node internals, native code or GC. */
  origins: SelfTime[];
}

const IDLE = '(idle)';

export async function summarizeCpuProfiles(directory: string, top = 12): Promise<ProfileSummary> {
  const byFunction = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  for (const file of (await readdir(directory)).filter((name) => name.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(await readFile(path.join(directory, file), 'utf8')) as CpuProfile;
    const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    profile.samples.forEach((nodeId, index) => {
      const frame = frames.get(nodeId)!;
      const us = profile.timeDeltas[index] ?? 0;
      add(byFunction, describeFunction(frame), us);
      add(byOrigin, originOf(frame), us);
    });
  }
  const idleUs = byFunction.get(IDLE) ?? 0;
  const totalUs = [...byFunction.values()].reduce((sum, us) => sum + us, 0);
  const busyUs = Math.max(totalUs - idleUs, 1);
  const ranked = (times: Map<string, number>) => [...times.entries()]
    .filter(([name]) => name !== IDLE)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, ms: Math.round(us / 1000), percent: Math.round((us / busyUs) * 1000) / 10 }));
  return { totalMs: Math.round(totalUs / 1000), busyMs: Math.round((totalUs - idleUs) / 1000), functions: ranked(byFunction), origins: ranked(byOrigin) };
}

function add(times: Map<string, number>, name: string, us: number): void {
  times.set(name, (times.get(name) ?? 0) + us);
}

function describeFunction({ functionName, url, lineNumber }: CallFrame): string {
  const name = functionName || '(anonymous)';
  return url ? `${name} ${shortenUrl(url)}:${lineNumber + 1}` : name;
}

function originOf({ functionName, url }: CallFrame): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return '(node internals)';
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inPackage) return inPackage[1]!;
  const inDist = /\/dist\/(.+)$/.exec(url)?.[1]?.split('/');
  if (!inDist) return shortenUrl(url);
  return inDist.slice(0, inDist.length > 2 ? 2 : 1).join('/'); // services/source, lib/flow, gateway
}

/** node_modules/<package>/... and dist/<path> without what precedes them. */
function shortenUrl(url: string): string {
  const text = url.replace(/^file:\/\//, '');
  return /node_modules\/(.+)$/.exec(text)?.[1] ?? /\/dist\/(.+)$/.exec(text)?.[1] ?? text;
}

export function formatSummary(title: string, summary: ProfileSummary): string {
  const rows = (times: SelfTime[]) => times.map((entry) => `    ${entry.percent.toFixed(1).padStart(5)}%  ${String(entry.ms).padStart(7)} ms  ${entry.name}`);
  return [
    `${title}: busy ${summary.busyMs} of ${summary.totalMs} ms (${Math.round((summary.busyMs / Math.max(summary.totalMs, 1)) * 100)}%); self time as a share of busy time`,
    '  by origin', ...rows(summary.origins.slice(0, 8)),
    '  by function', ...rows(summary.functions),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [directory, top] = process.argv.slice(2);
  if (!directory) {
    console.error('usage: node dist/bench/mesh/cpuProfileSummary.js DIR [TOP]');
    process.exit(2);
  }
  console.log(formatSummary(directory, await summarizeCpuProfiles(directory, top === undefined ? 12 : Number(top))));
}
