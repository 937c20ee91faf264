import type { Environment } from './config.js';

/** One JSON line per log record on stderr; LOG_LEVEL (debug, info, warn, error, silent) filters. */
const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof levels;

/**
 * LOG_LEVEL, checked with the rest of a program's settings. Loggers read it themselves (a module's
 * logger exists before any settings are read), so this only finds a wrong one.
 */
export function readLogLevel(env: Environment): LogLevel {
  return env.oneOf('LOG_LEVEL', Object.keys(levels) as LogLevel[], 'info');
}

/** A field's string is cut here: names, reasons and errors often come from a peer. */
const maxStringLength = 1_024;
/** A record is never longer than this; past it only its first fields are kept. */
const maxLineBytes = 4_096;

function thresholdFromEnvironment(): number {
  const name = (process.env.LOG_LEVEL ?? 'info') as LogLevel;
  return levels[name] ?? levels.info;
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const cutStrings = (_key: string, value: unknown) =>
  typeof value === 'string' && value.length > maxStringLength ? `${value.slice(0, maxStringLength)}… (${value.length} characters)` : value;

/** The record as one line of at most `maxLineBytes` bytes. */
function formatRecord(record: Record<string, unknown>): string {
  const line = JSON.stringify(record, cutStrings);
  if (line.length * 3 <= maxLineBytes || Buffer.byteLength(line) <= maxLineBytes) return line;
  const { time, level, component, message } = record;
  const short = JSON.stringify({ time, level, component, message: String(message).slice(0, 256), truncated: `${Buffer.byteLength(line)} bytes` });
  return Buffer.byteLength(short) <= maxLineBytes ? short : JSON.stringify({ time, level, component, truncated: true });
}

export function createLogger(component: string): Logger {
  const threshold = thresholdFromEnvironment();
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (levels[level] < threshold) return;
    process.stderr.write(`${formatRecord({ time: new Date().toISOString(), level, component, message, ...fields })}\n`);
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}
