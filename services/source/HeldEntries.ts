import type { Event__Output } from '../../lib/contract/loadContract.js';
import type { IntakeEntry } from './intakeEntry.js';

/** An entry read from the intake, until it is removed: which of its events wait for a send, and how many are acknowledged. */
interface HeldEntry {
  readonly entry: IntakeEntry;
  /** Ranges [from, to) of its events waiting for a send, in order. */
  readonly unsent: Array<[number, number]>;
  acknowledged: number;
  waiting: boolean;
}

/** Events [from, to) of one held entry, as one send carries them. */
export interface EntrySlice {
  readonly held: HeldEntry;
  readonly from: number;
  readonly to: number;
}

/**
 * The intake entries a source has read and not yet removed. A send takes the
 * events waiting at the head, whole entries or parts of one (credit may be
 * smaller than an entry); an acknowledged send counts its events done, and an
 * entry is complete (to be removed) once all its events are; a lost send's
 * events wait again, ahead of the rest. Bounded by the intake itself: nothing
 * is held that is not pending in it.
 */
export class HeldEntries {
  readonly #held = new Map<string, HeldEntry>();
  /** Entries with events waiting for a send, the next to send first. */
  readonly #waiting: HeldEntry[] = [];
  #unsentEvents = 0;

  /** Events waiting for a send. */
  get unsentEvents(): number { return this.#unsentEvents; }

  /** Entries held, whether waiting, on their way or being removed. */
  get size(): number { return this.#held.size; }

  has(id: string): boolean { return this.#held.has(id); }

  add(entry: IntakeEntry): void {
    const held: HeldEntry = { entry, unsent: [[0, entry.events.length]], acknowledged: 0, waiting: true };
    this.#held.set(entry.id, held);
    this.#waiting.push(held);
    this.#unsentEvents += entry.events.length;
  }

  /** Up to `max` waiting events, in order, as slices of their entries. */
  take(max: number): EntrySlice[] {
    const slices: EntrySlice[] = [];
    let room = max;
    while (room > 0 && this.#waiting.length > 0) {
      const held = this.#waiting[0]!;
      const range = held.unsent[0]!;
      const to = Math.min(range[1], range[0] + room);
      slices.push({ held, from: range[0], to });
      room -= to - range[0];
      this.#unsentEvents -= to - range[0];
      range[0] = to;
      if (range[0] < range[1]) continue;
      held.unsent.shift();
      if (held.unsent.length > 0) continue;
      held.waiting = false;
      this.#waiting.shift();
    }
    return slices;
  }

  /** Downstream acknowledged these slices: the entries of theirs now wholly acknowledged, to be removed. */
  acknowledged(slices: readonly EntrySlice[]): IntakeEntry[] {
    const complete: IntakeEntry[] = [];
    for (const { held, from, to } of slices) {
      held.acknowledged += to - from;
      if (held.acknowledged === held.entry.events.length && this.#held.get(held.entry.id) === held) complete.push(held.entry);
    }
    return complete;
  }

  /** These slices never reached downstream (the link reset): their events wait again, before any others. */
  lost(slices: readonly EntrySlice[]): void {
    const requeued: HeldEntry[] = [];
    for (const { held, from, to } of slices) {
      if (this.#held.get(held.entry.id) !== held) continue;
      held.unsent.push([from, to]);
      held.unsent.sort((a, b) => a[0] - b[0]);
      this.#unsentEvents += to - from;
      if (!held.waiting) {
        held.waiting = true;
        requeued.push(held);
      }
    }
    this.#waiting.unshift(...requeued);
  }

  /** Gone from the intake. */
  removed(entries: readonly IntakeEntry[]): void {
    for (const { id } of entries) this.#held.delete(id);
  }
}

/** The events a send of `slices` carries. */
export function eventsOf(slices: readonly EntrySlice[]): Event__Output[] {
  if (slices.length === 1 && slices[0]!.from === 0 && slices[0]!.to === slices[0]!.held.entry.events.length) return slices[0]!.held.entry.events;
  return slices.flatMap(({ held, from, to }) => held.entry.events.slice(from, to));
}

/** The distinct entries `slices` come from, in order. */
export function entriesOf(slices: readonly EntrySlice[]): IntakeEntry[] {
  const entries: IntakeEntry[] = [];
  for (const { held } of slices) if (entries.at(-1) !== held.entry) entries.push(held.entry);
  return entries;
}
