import { parseArgs } from 'node:util';
import { eventIdPrefix } from './checks.js';
import { formatResult, runConformanceKit } from './runConformance.js';
import { startReferenceReceiver } from './referenceReceiver.js';

const usage = `usage: npm run conformance -- --target HOST:PORT [--timeout-ms N] [--metadata KEY=VALUE]...
       npm run conformance -- --self        (checks the project's own reference receiver)
  --metadata KEY=VALUE   call metadata every link carries (repeat it for several), e.g. for the
                         gateway's ingest with API keys: --metadata "authorization=Bearer <token>"`;

/** `key=value` pairs as call metadata; undefined if one is not of that form. */
function parseMetadata(pairs: string[]): Record<string, string> | undefined {
  const metadata: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    const key = pair.slice(0, equals).trim().toLowerCase();
    if (equals < 1 || !/^[0-9a-z_.-]+$/.test(key) || key.endsWith('-bin')) return undefined;
    metadata[key] = pair.slice(equals + 1);
  }
  return metadata;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      self: { type: 'boolean', default: false },
      'timeout-ms': { type: 'string', default: '5000' },
      metadata: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', default: false },
    },
  });
  const timeoutMs = Number(values['timeout-ms']);
  const metadata = parseMetadata(values.metadata);
  if (values.help || (!values.target && !values.self) || (values.target && values.self) || !(timeoutMs > 0) || !metadata) {
    if (!metadata) console.error('--metadata takes KEY=VALUE, a KEY of 0-9 a-z _ . - (text metadata: not ending in -bin)');
    console.error(usage);
    return 2;
  }
  const reference = values.self ? await startReferenceReceiver() : undefined;
  const target = values.target ?? `127.0.0.1:${reference!.port}`;
  try {
    console.log(`conformance kit: checking the receiver at ${target}`);
    const { results, eventsSent, eventsAcknowledged } = await runConformanceKit(target, { timeoutMs, metadata });
    for (const result of results) console.log(formatResult(result));
    const failed = results.filter((result) => !result.pass).length;
    console.log(`${results.length - failed} of ${results.length} checks passed`);
    if (!values.self) {
      console.log(`the kit sent ${eventsSent} events (${eventsAcknowledged} acknowledged); a live stage passes them on, and the sink writes them `
        + `to dead_letters with event ids starting '${eventIdPrefix}' (how to remove them: proto/CONTRACT.md, The conformance kit)`);
    }
    return failed === 0 ? 0 : 1;
  } finally {
    await reference?.stop();
  }
}

process.exitCode = await main();
