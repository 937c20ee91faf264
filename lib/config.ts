/** A start-up configuration problem; names every variable that is wrong. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** How every program of the mesh stops on a configuration problem: one line per wrong variable, then status 2. */
export function exitForConfigError(program: string, error: ConfigError): never {
  console.error(`${program}: ${error.message}`);
  process.exit(2);
}

interface IntegerBounds { min?: number; max?: number }

/**
 * Reads settings from the environment, collecting every problem instead of
 * stopping at the first, so one start-up tells the operator all that is wrong.
 * Call `done()` once everything is read: it throws ConfigError if anything was.
 */
export class Environment {
  readonly #problems: string[] = [];

  constructor(private readonly variables: NodeJS.ProcessEnv = process.env) {}

  string(name: string, fallback: string): string {
    const value = this.variables[name];
    if (value === undefined || value === '') return fallback;
    return value;
  }

  integer(name: string, fallback: number, { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER }: IntegerBounds = {}): number {
    const text = this.variables[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) return this.#problem(name, `must be an integer, got "${text}"`, fallback);
    if (value < min || value > max) return this.#problem(name, `must be between ${min} and ${max}, got ${value}`, fallback);
    return value;
  }

  oneOf<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const text = this.variables[name];
    if (text === undefined || text === '') return fallback;
    if (!(choices as readonly string[]).includes(text)) return this.#problem(name, `must be one of ${choices.join(', ')}, got "${text}"`, fallback);
    return text as T;
  }

  /** A string matching `pattern` (described as `what` when it does not). */
  matching(name: string, fallback: string, pattern: RegExp, what: string): string {
    const text = this.string(name, fallback);
    if (!pattern.test(text)) return this.#problem(name, `must be ${what}, got "${text}"`, fallback);
    return text;
  }

  /** host:port, as gRPC dials and listens. */
  address(name: string, fallback: string): string {
    const text = this.string(name, fallback);
    const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
    if (!match || Number(match[2]) > 65_535) return this.#problem(name, `must be host:port, got "${text}"`, fallback);
    return text;
  }

  /** host:port[,host:port...]: the replicas of a stage (a name may also resolve to several). */
  addresses(name: string, fallback: string): string {
    const text = this.string(name, fallback);
    const entries = text.split(',').map((entry) => entry.trim());
    const valid = entries.every((entry) => {
      const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
      return match !== null && Number(match[2]) <= 65_535;
    });
    if (!valid) return this.#problem(name, `must be host:port, or several separated by commas, got "${text}"`, fallback);
    return entries.join(',');
  }

  url(name: string, fallback: string, protocols: string[]): string {
    const text = this.string(name, fallback);
    try {
      const url = new URL(text);
      if (!protocols.includes(url.protocol)) return this.#problem(name, `must be a ${protocols.join(' or ')} URL`, fallback);
      return text;
    } catch {
      return this.#problem(name, 'must be a URL', fallback);
    }
  }

  done(): void {
    if (this.#problems.length > 0) throw new ConfigError(this.#problems);
  }

  #problem<T>(name: string, message: string, fallback: T): T {
    this.#problems.push(`${name} ${message}`);
    return fallback;
  }
}
