import type { MeshMode } from '../../lib/stage/meshMode.js';
import { parseBurstArguments, USAGE, type BurstSettings } from './arguments.js';
import { measureMode, type ModeResult } from './measureMode.js';
import { resultJson, writeReport } from './report.js';
import { runBenchmark } from '../runBenchmark.js';

/**
 * The failure story's burst, three ways: steady load, a step to ten times it, steady again; the
 * same services in the flow, naive and decoupled modes, one after another in one run.
 */
export function runBurstBenchmark(args: string[]): Promise<void> {
  return runBenchmark('burst', USAGE, parseBurstArguments, args, async (settings: BurstSettings, stop: AbortSignal) => {
    const results: ModeResult[] = [];
    for (const mode of settings.modes) {
      if (stop.aborted) break;
      console.error(`burst bench: ${mode} mode`);
      results.push(await measureMode(mode as MeshMode, settings, stop));
      const result = results.at(-1)!;
      console.error(`burst bench: ${mode}: lost ${result.lost}, duplicated ${result.duplicated}, peak RSS ${result.peak_rss_mb} MB (+${result.rss_growth_mb}), ` +
        `p99 during the burst ${result.p99_ms_during_burst} ms, crashed: ${result.crashed.join(', ') || 'none'}`);
    }
    const report = await writeReport(results, settings, `npm run bench -- burst ${args.join(' ')}`.trim());
    console.error(`burst bench: report in ${report}`);
    if (settings.json) console.log(JSON.stringify(resultJson(results)));
  });
}
