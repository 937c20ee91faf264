/**
 * What every benchmark command does around its own measuring: it parses its arguments (a usage
 * error exits 2, with the usage), lets SIGINT or SIGTERM stop it early (the signal it is handed
 * aborts, so it cleans up what it started), and reports a failure with exit status 1.
 */
export async function runBenchmark<S>(
  name: string,
  usage: string,
  parse: (args: string[]) => S,
  args: string[],
  measure: (settings: S, stop: AbortSignal) => Promise<void>,
): Promise<void> {
  let settings: S;
  try {
    settings = parse(args);
  } catch (error) {
    console.error(`${name} bench: ${(error as Error).message}\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const stop = new AbortController();
  const onSignal = () => {
    if (!stop.signal.aborted) console.error(`${name} bench: stopping; cleaning up what it started`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await measure(settings, stop.signal);
  } catch (error) {
    console.error(`${name} bench: ${(error as Error).message}`);
    process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
