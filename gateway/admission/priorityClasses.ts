import { ConfigError, type Environment } from '../../lib/config.js';
import { eventKinds } from '../../lib/contract/eventRules.js';
import { colonPairs } from './colonPairs.js';

/** A class of events the edge admits by: the higher it stands, the less of the intake's window it leaves free for the others. */
export interface PriorityClass {
  name: string;
  /** 0 for the highest; 1 for the next, and so on. */
  rank: number;
  /** The share (0..0.9) of the rest of the intake's window, beyond the request itself, that must stay free after a request of this class is admitted. */
  reserve: number;
}

export interface PriorityPolicy {
  /** Highest first. */
  classes: readonly PriorityClass[];
  /** The class of each event kind. */
  ofKind: ReadonlyMap<string, PriorityClass>;
  /** The highest class each key may ask for in an override beyond its events' own; a key not listed may only lower its requests' class. */
  maxClassOfKey: ReadonlyMap<string, PriorityClass>;
}

export const defaultPriorityClasses = 'purchase:0,cart:0.15,click:0.3,view:0.5';
const className = /^[a-z][a-z0-9_-]{0,31}$/;
/** A reserve above this would leave a class nearly nothing of an uncontended intake. */
const maxReserve = 0.9;

/**
 * PRIORITY_CLASSES (`class:reserve`, highest first), PRIORITY_OF_KIND (`kind:class`; each kind by
 * default to the class of its own name, else the lowest) and GATEWAY_KEY_MAX_CLASS (`key:class`),
 * every problem reported at once. The highest class's reserve is 0, so it is refused only when the
 * intake has no room at all; reserves grow down the list, so a lower class is always refused first.
 */
export function readPriorityPolicy(env: Environment, keyNames: readonly string[]): PriorityPolicy {
  const problems: string[] = [];
  const classes: PriorityClass[] = [];
  for (const [i, entry] of colonPairs(env.string('PRIORITY_CLASSES', defaultPriorityClasses)).entries()) {
    const where = `PRIORITY_CLASSES entry ${i + 1}`;
    if (!entry) { problems.push(`${where} must be class:reserve`); continue; }
    const [name, reserveText] = entry;
    const reserve = Number(reserveText);
    if (!className.test(name)) problems.push(`${where} has an invalid class name (a-z first, then up to 31 of a-z 0-9 _ -)`);
    else if (classes.some((known) => known.name === name)) problems.push(`${where} names class "${name}" a second time`);
    else if (reserveText === '' || !Number.isFinite(reserve) || reserve < 0 || reserve > maxReserve) problems.push(`${where}: the reserve of "${name}" must be a number from 0 to ${maxReserve}`);
    else if (i === 0 && reserve !== 0) problems.push(`${where}: the highest class "${name}" must have reserve 0 (it is refused only when there is no room at all)`);
    else if (classes.length > 0 && reserve < classes.at(-1)!.reserve) problems.push(`${where}: the reserve of "${name}" is below that of "${classes.at(-1)!.name}", a higher class`);
    else classes.push({ name, rank: classes.length, reserve });
  }
  if (classes.length === 0 && problems.length === 0) problems.push('PRIORITY_CLASSES has no class:reserve entries');
  const byName = new Map(classes.map((known) => [known.name, known]));
  const lowest = classes.at(-1);

  const ofKind = new Map<string, PriorityClass>();
  for (const kind of eventKinds) if (lowest) ofKind.set(kind, byName.get(kind) ?? lowest);
  const classNamed = (name: string, where: string): PriorityClass | undefined => {
    const found = byName.get(name);
    if (!found && classes.length > 0) problems.push(`${where}: no class "${name}" in PRIORITY_CLASSES (${classes.map((known) => known.name).join(', ')})`);
    return found;
  };
  for (const [i, entry] of colonPairs(env.string('PRIORITY_OF_KIND', '')).entries()) {
    const where = `PRIORITY_OF_KIND entry ${i + 1}`;
    if (!entry) { problems.push(`${where} must be kind:class`); continue; }
    const [kind, name] = entry;
    if (!(eventKinds as readonly string[]).includes(kind)) { problems.push(`${where}: no event kind "${kind}" (${eventKinds.join(', ')})`); continue; }
    const found = classNamed(name, where);
    if (found) ofKind.set(kind, found);
  }

  const maxClassOfKey = new Map<string, PriorityClass>();
  for (const [i, entry] of colonPairs(env.string('GATEWAY_KEY_MAX_CLASS', '')).entries()) {
    const where = `GATEWAY_KEY_MAX_CLASS entry ${i + 1}`;
    if (!entry) { problems.push(`${where} must be key:class`); continue; }
    const [key, name] = entry;
    if (!keyNames.includes(key)) { problems.push(`${where}: no API key "${key}" in GATEWAY_API_KEYS`); continue; }
    const found = classNamed(name, where);
    if (found) maxClassOfKey.set(key, found);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { classes, ofKind, maxClassOfKey };
}

export type ClassChoice = { ok: true; priority: PriorityClass } | { ok: false; error: string };

/**
 * The class of a request: that of its lowest event (mixing in a purchase never lifts a batch of
 * views), or the class it asks for (`requested`, from X-Priority-Class or the ingest's
 * x-priority-class), which may be lower, or higher only up to its key's GATEWAY_KEY_MAX_CLASS.
 */
export function classOfRequest(policy: PriorityPolicy, kinds: Iterable<string>, requested: string | undefined, key: string): ClassChoice {
  let own = policy.classes[0]!;
  for (const kind of kinds) {
    const priority = policy.ofKind.get(kind) ?? policy.classes.at(-1)!;
    if (priority.rank > own.rank) own = priority;
  }
  if (requested === undefined) return { ok: true, priority: own };
  const asked = policy.classes.find((known) => known.name === requested);
  if (!asked) return { ok: false, error: `no priority class "${requested.slice(0, 64)}"; the classes are ${policy.classes.map((known) => known.name).join(', ')}` };
  const ceiling = policy.maxClassOfKey.get(key);
  const highest = ceiling && ceiling.rank < own.rank ? ceiling : own;
  if (asked.rank < highest.rank) return { ok: false, error: `this request may ask for class ${highest.name} at most (${ceiling ? 'its events\' own class, or its key\'s GATEWAY_KEY_MAX_CLASS' : 'its events\' own class'})` };
  return { ok: true, priority: asked };
}
