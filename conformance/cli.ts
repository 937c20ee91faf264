import { parseArgs } from 'node:util';
import { eventIdPrefix } from './checks.js';
import { formatResult, runConformanceKit } from './runConformance.js';
import { startReferenceReceiver } from './referenceReceiver.js';

const usage = `usage: npm run conformance -- --target HOST:PORT [--timeout-ms N]
       npm run conformance -- --self        (checks the project's own reference receiver)`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      self: { type: 'boolean', default: false },
      'timeout-ms': { type: 'string', default: '5000' },
      help: { type: 'boolean', default: false },
    },
  });
  const timeoutMs = Number(values['timeout-ms']);
  if (values.help || (!values.target && !values.self) || (values.target && values.self) || !(timeoutMs > 0)) {
    console.error(usage);
    return 2;
  }
  const reference = values.self ? await startReferenceReceiver() : undefined;
  const target = values.target ?? `127.0.0.1:${reference!.port}`;
  try {
    console.log(`conformance kit: checking the receiver at ${target}`);
    const { results, eventsSent, eventsAcknowledged } = await runConformanceKit(target, { timeoutMs });
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
