import { eventKinds } from '../../lib/contract/eventRules.js';

/** The event kinds of the default PRIORITY_CLASSES, highest class first: each kind is its own class. */
export const classes = ['purchase', 'cart', 'click', 'view'] as const;
export type ClassName = (typeof classes)[number];

/** The two API keys: `calm` offers its weighted share of the load throughout; `flood` floods during the burst. */
export const keys = ['calm', 'flood'] as const;
export type KeyName = (typeof keys)[number];

export const protocols = ['http', 'grpc'] as const;
export type Protocol = (typeof protocols)[number];

/** The share of the events offered of each class (they add up to 1). */
export type ClassMix = Record<ClassName, number>;

export const defaultMix = 'purchase:0.1,cart:0.2,click:0.3,view:0.4';

/**
 * `--mix`: `kind:share` entries for the four kinds, every kind once, shares >= 0 and adding up to
 * more than 0; the shares are taken relative to their sum (so 1:2:3:4 means 10/20/30/40 %).
 */
export function parseMix(text: string): ClassMix {
  const shares = new Map<string, number>();
  for (const entry of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const colon = entry.indexOf(':');
    const kind = entry.slice(0, colon).trim();
    const share = Number(entry.slice(colon + 1).trim());
    if (colon <= 0) throw new Error(`--mix: '${entry}' must be kind:share`);
    if (!(eventKinds as readonly string[]).includes(kind)) throw new Error(`--mix: no event kind '${kind}' (${classes.join(', ')})`);
    if (shares.has(kind)) throw new Error(`--mix names '${kind}' twice`);
    if (entry.slice(colon + 1).trim() === '' || !Number.isFinite(share) || share < 0) throw new Error(`--mix: the share of '${kind}' must be a number >= 0, got '${entry.slice(colon + 1).trim()}'`);
    shares.set(kind, share);
  }
  const missing = classes.filter((kind) => !shares.has(kind));
  if (missing.length > 0) throw new Error(`--mix must give every kind a share; missing ${missing.join(', ')}`);
  const total = [...shares.values()].reduce((sum, share) => sum + share, 0);
  if (total <= 0) throw new Error('--mix: the shares add up to 0');
  return Object.fromEntries(classes.map((kind) => [kind, shares.get(kind)! / total])) as ClassMix;
}

/**
 * Splits batches of `size` events by class, exactly to the mix over time: each class carries the
 * fraction of an event it was owed over to the next batch, so a 10 % class of 25-event batches
 * gets 2 or 3 events a batch and 10 % of all of them.
 */
export class ClassSplitter {
  readonly #owed: Record<ClassName, number> = { purchase: 0, cart: 0, click: 0, view: 0 };

  constructor(private readonly mix: ClassMix) {}

  /** Events of each class in the next batch of `size`. */
  next(size: number): Record<ClassName, number> {
    const counts = { purchase: 0, cart: 0, click: 0, view: 0 };
    for (const name of classes) {
      this.#owed[name] += size * this.mix[name];
      // The small epsilon keeps 0.1 + 0.2 + ... from owing 0.9999999 of an event for ever.
      counts[name] = Math.floor(this.#owed[name] + 1e-9);
      this.#owed[name] -= counts[name];
    }
    return counts;
  }
}

export type KeyWeights = Record<KeyName, number>;

/**
 * `--weights calm:flood`, e.g. `1:1` or `2:1`: the keys' GATEWAY_KEY_WEIGHTS (each > 0, at most
 * 1000, as the gateway takes them).
 */
export function parseWeights(text: string): KeyWeights {
  const parts = text.split(':').map((part) => part.trim());
  const values = parts.map(Number);
  if (parts.length !== 2 || parts.some((part) => part === '') || values.some((value) => !Number.isFinite(value) || value <= 0 || value > 1000)) {
    throw new Error(`--weights must be two numbers above 0 and at most 1000, calm:flood (e.g. 1:1), got '${text}'`);
  }
  return { calm: values[0]!, flood: values[1]! };
}

/**
 * Each key's share of the events offered: by weight, unless the flooding key offers `flood` times
 * as much per unit of its weight as the calm one (the burst).
 */
export function keyShares(weights: KeyWeights, flood = 1): Record<KeyName, number> {
  const calm = weights.calm;
  const flooding = weights.flood * flood;
  return { calm: calm / (calm + flooding), flood: flooding / (calm + flooding) };
}
