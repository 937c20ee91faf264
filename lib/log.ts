/** One JSON line per log record on stderr; LOG_LEVEL (debug, info, warn, error, silent) filters. */
const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof levels;

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

export function createLogger(component: string): Logger {
  const threshold = thresholdFromEnvironment();
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (levels[level] < threshold) return;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, component, message, ...fields })}\n`);
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}
