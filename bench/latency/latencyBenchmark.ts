import { parseLatencyArguments, USAGE, type LatencySettings } from './arguments.js';
import { measureWindows, p99BoundMs, type ModeResult } from './measureWindows.js';
import { resultJson, writeReport } from './report.js';
import { runBenchmark } from '../runBenchmark.js';

/**
 * Fixed windows and adaptive ones (LATENCY_TARGET_MS), one after the other in one run, each on a
 * fresh mesh: the capacity, load at shares of it up to ten times, then the sink slowed and back.
 */
export function runLatencyBenchmark(args: string[]): Promise<void> {
  return runBenchmark('latency', USAGE, parseLatencyArguments, args, async (settings: LatencySettings, stop: AbortSignal) => {
    const results: ModeResult[] = [];
    for (const mode of settings.modes) {
      if (stop.aborted) break;
      console.error(`latency bench: ${mode} windows`);
      const result = await measureWindows(mode, settings, stop);
      results.push(result);
      console.error(`latency bench: ${mode}: capacity ${result.saturation_events_per_s} events/s, p99 at 100 % ${result.p99_ms_at_100} ms, at 1000 % ${result.p99_ms_at_1000} ms, ` +
        `p99 back under ${settings.targetMs} ms ${result.recovery_s_after_slowdown === null ? 'never' : `${result.recovery_s_after_slowdown} s`} after the slowdown started ` +
        `(under ${p99BoundMs(settings)} ms ${result.recovery_s_under_p99_bound === null ? 'never' : `${result.recovery_s_under_p99_bound} s`}), source stopped ${result.source_stop_ms_after_stall ?? '(not)'} ms after a sink stall, RSS growth ${result.rss_growth_mb} MB, ` +
        `crashed: ${result.crashed.join(', ') || 'none'}`);
    }
    const report = await writeReport(results, settings, `npm run bench -- latency ${args.join(' ')}`.trim());
    console.error(`latency bench: report in ${report}`);
    if (settings.json) console.log(JSON.stringify(resultJson(results, settings)));
  });
}
