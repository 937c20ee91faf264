import { parseArgs } from 'node:util';
import { defaultGatewayUrl, LOAD_DEFAULTS, type LoadOptions } from './runLoad.js';
import type { Burst } from './schedule.js';

export const USAGE = `usage: npm run loadgen -- --rate N --duration S [options]
  --rate N               target rate in events/s
  --duration S           seconds to send for
  --url URL              gateway base URL (default http://127.0.0.1:\${GATEWAY_PORT:-8080})
  --burst RATE:START:LENGTH
                         from second START for LENGTH seconds the target rate is RATE
  --batch B              events per request (default ${LOAD_DEFAULTS.batch})
  --concurrency C        requests outstanding at most; beyond it batches are dropped by the client (default ${LOAD_DEFAULTS.concurrency})
  --users U              events use users user-1..user-U (default ${LOAD_DEFAULTS.users})
  --products P           events use products item-1..item-P (default ${LOAD_DEFAULTS.products})
  --retry-429 N          retry a batch answered 429 up to N times, after its Retry-After (default ${LOAD_DEFAULTS.retry429})
  --ids-file PATH        write the ids of the accepted events to PATH, one per line
  (LOADGEN_API_KEY in the environment: the bearer token, for a gateway that requires one)
  --json                 print the summary as one JSON object, the last line on stdout
  --help                 print this`;

/** A bad command line; the message names the option. */
export class ArgumentError extends Error {}

export type Command = { help: true } | { help: false; json: boolean; options: LoadOptions };

const MAX_BATCH = 100_000;

export function parseArguments(args: string[]): Command {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        rate: { type: 'string' },
        duration: { type: 'string' },
        url: { type: 'string' },
        burst: { type: 'string' },
        batch: { type: 'string' },
        concurrency: { type: 'string' },
        users: { type: 'string' },
        products: { type: 'string' },
        'retry-429': { type: 'string' },
        'ids-file': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new ArgumentError((error as Error).message);
  }
  if (values.help) return { help: true };
  return {
    help: false,
    json: values.json,
    options: {
      rate: positiveNumber(required(values.rate, '--rate'), '--rate'),
      durationS: positiveNumber(required(values.duration, '--duration'), '--duration'),
      url: gatewayUrl(values.url ?? defaultGatewayUrl()),
      burst: values.burst === undefined ? undefined : burst(values.burst),
      batch: integerAtLeast(values.batch ?? String(LOAD_DEFAULTS.batch), 1, '--batch', MAX_BATCH),
      concurrency: integerAtLeast(values.concurrency ?? String(LOAD_DEFAULTS.concurrency), 1, '--concurrency'),
      users: integerAtLeast(values.users ?? String(LOAD_DEFAULTS.users), 1, '--users'),
      products: integerAtLeast(values.products ?? String(LOAD_DEFAULTS.products), 1, '--products'),
      retry429: integerAtLeast(values['retry-429'] ?? String(LOAD_DEFAULTS.retry429), 0, '--retry-429'),
      idsFile: values['ids-file'] === undefined ? undefined : nonEmpty(values['ids-file'], '--ids-file'),
    },
  };
}

function required(text: string | undefined, option: string): string {
  if (text === undefined) throw new ArgumentError(`${option} is required`);
  return text;
}

function number(text: string, option: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new ArgumentError(`${option} must be a number, got '${text}'`);
  return value;
}

function positiveNumber(text: string, option: string): number {
  const value = number(text, option);
  if (value <= 0) throw new ArgumentError(`${option} must be greater than 0, got '${text}'`);
  return value;
}

function integerAtLeast(text: string, least: number, option: string, most = Number.MAX_SAFE_INTEGER): number {
  const value = number(text, option);
  if (!Number.isInteger(value) || value < least || value > most) {
    const range = most === Number.MAX_SAFE_INTEGER ? `>= ${least}` : `in ${least}..${most}`;
    throw new ArgumentError(`${option} must be an integer ${range}, got '${text}'`);
  }
  return value;
}

function burst(text: string): Burst {
  const numbers = text.split(':').map((part) => (part.trim() === '' ? NaN : Number(part)));
  if (numbers.length !== 3 || !numbers.every(Number.isFinite)) throw new ArgumentError(`--burst must be RATE:START:LENGTH (three numbers), got '${text}'`);
  const [rate, startS, lengthS] = numbers as [number, number, number];
  if (rate < 0 || startS < 0 || lengthS <= 0) throw new ArgumentError(`--burst needs RATE >= 0, START >= 0 and LENGTH > 0, got '${text}'`);
  return { rate, startS, lengthS };
}

function gatewayUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ArgumentError(`--url must be an absolute URL, got '${text}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ArgumentError(`--url must be http:// or https://, got '${text}'`);
  return text;
}

function nonEmpty(text: string, option: string): string {
  if (text === '') throw new ArgumentError(`${option} must not be empty`);
  return text;
}
