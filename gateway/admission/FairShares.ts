import { ConfigError, type Environment } from '../../lib/config.js';
import { colonPairs } from './colonPairs.js';

/** How fast what a key was admitted is forgotten: its usage halves in this time. */
const usageHalfLifeMs = 1_000;
/** A key that offered nothing for this long has no share: it is idle, and what it would get goes to the busy ones. */
const activeForMs = 2_000;
const maxWeight = 1_000;

interface KeyUsage {
  weight: number;
  /** Events admitted, decayed by usageHalfLifeMs. */
  usage: number;
  updatedAtMs: number;
  lastOfferedAtMs: number;
}

/**
 * Weighted fair shares of what the edge admits, among the keys that offer events: a key's
 * usage (events admitted, forgotten with a half-life of a second) divided by its weight may not
 * run ahead of the active keys' together. It decides nothing while the mesh has room for all; the
 * admission asks it only while credit is scarce. The keys are those configured: memory is
 * bounded by configuration, never by what callers send.
 */
export class FairShares {
  readonly #keys: Map<string, KeyUsage>;

  constructor(weights: ReadonlyMap<string, number>, private readonly now: () => number = () => performance.now()) {
    this.#keys = new Map([...weights].map(([key, weight]) => [key, { weight, usage: 0, updatedAtMs: 0, lastOfferedAtMs: Number.NEGATIVE_INFINITY }]));
  }

  get keys(): string[] { return [...this.#keys.keys()]; }

  weightOf(key: string): number { return this.#keys.get(key)?.weight ?? 1; }

  /** `key` offers events (admitted or not): it is active, and has a share. */
  offered(key: string): void {
    const usage = this.#keys.get(key);
    if (usage) usage.lastOfferedAtMs = this.now();
  }

  admitted(key: string, events: number): void {
    const usage = this.#keys.get(key);
    if (!usage) return;
    this.#decay(usage);
    usage.usage += events;
  }

  /** `key`'s recent usage over its weight: the lower, the further it is below its share. */
  usagePerWeight(key: string): number {
    const own = this.#keys.get(key);
    if (!own) return 0;
    this.#decay(own);
    return own.usage / own.weight;
  }

  /** Whether `key`'s usage per weight is no more than the active keys' together (times 1 + `tolerance`): it is within its share. */
  withinShare(key: string, tolerance = 0): boolean {
    const own = this.#keys.get(key);
    if (!own) return true;
    let usage = 0;
    let weight = 0;
    const now = this.now();
    for (const other of this.#keys.values()) {
      if (other !== own && now - other.lastOfferedAtMs > activeForMs) continue;
      this.#decay(other);
      usage += other.usage;
      weight += other.weight;
    }
    return own.usage / own.weight <= (usage / weight) * (1 + tolerance);
  }

  /** `key`'s share of what is admitted now: its weight over the active keys' (an idle key's is 0). */
  shareOf(key: string): number {
    const own = this.#keys.get(key);
    const now = this.now();
    if (!own || now - own.lastOfferedAtMs > activeForMs) return 0;
    let weight = 0;
    for (const other of this.#keys.values()) if (now - other.lastOfferedAtMs <= activeForMs) weight += other.weight;
    return own.weight / weight;
  }

  #decay(usage: KeyUsage): void {
    const now = this.now();
    usage.usage *= 0.5 ** ((now - usage.updatedAtMs) / usageHalfLifeMs);
    usage.updatedAtMs = now;
  }
}

/** GATEWAY_KEY_WEIGHTS: `key:weight` entries (a weight 0 < w <= 1000; a key not listed weighs 1), for keys of GATEWAY_API_KEYS. */
export function readKeyWeights(env: Environment, keyNames: readonly string[]): Map<string, number> {
  const weights = new Map(keyNames.map((key) => [key, 1]));
  const problems: string[] = [];
  for (const [i, entry] of colonPairs(env.string('GATEWAY_KEY_WEIGHTS', '')).entries()) {
    const where = `GATEWAY_KEY_WEIGHTS entry ${i + 1}`;
    if (!entry) { problems.push(`${where} must be key:weight`); continue; }
    const [key, weightText] = entry;
    const weight = Number(weightText);
    if (!weights.has(key)) problems.push(`${where}: no API key "${key.slice(0, 64)}" in GATEWAY_API_KEYS`);
    else if (!Number.isFinite(weight) || weight <= 0 || weight > maxWeight) problems.push(`${where}: the weight of "${key}" must be a number above 0 and at most ${maxWeight}`);
    else weights.set(key, weight);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return weights;
}
