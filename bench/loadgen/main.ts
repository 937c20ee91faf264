import { ArgumentError, parseArguments, USAGE, type Command } from './arguments.js';
import { describeSummary, ProgressLine } from './progress.js';
import { runLoad } from './runLoad.js';

/** `npm run loadgen -- --rate N --duration S [options]`: see USAGE, or --help. */
let command: Command;
try {
  command = parseArguments(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof ArgumentError)) throw error;
  console.error(`loadgen: ${error.message}\n${USAGE}`);
  process.exit(2);
}
if (command.help) {
  console.log(USAGE);
  process.exit(0);
}

const stop = new AbortController();
const progress = new ProgressLine(process.stderr);
// The first Ctrl-C stops sending and still reports; with no handler left, a second one kills.
process.once('SIGINT', () => {
  progress.end();
  console.error('loadgen: stopping, waiting for the requests in flight (Ctrl-C again to quit at once)');
  stop.abort();
});

try {
  const summary = await runLoad({ ...command.options, signal: stop.signal, onSecond: (second, inFlight) => progress.show(second, inFlight) });
  progress.end();
  console.log(describeSummary(summary));
  if (command.json) console.log(JSON.stringify(summary));
  // Nothing answered at all (only failures) most likely means a wrong URL or a gateway that is down.
  process.exitCode = summary.sent > 0 && summary.accepted + summary.rejected === 0 ? 1 : 0;
} catch (error) {
  progress.end();
  console.error(`loadgen: ${(error as Error).message}`);
  process.exitCode = 1;
}
