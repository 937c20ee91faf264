import type pg from 'pg';
import type { Breaker } from '../lib/breaker.js';

export interface HotItems { minute: string; items: Array<{ item_id: string; count: number }> }

/** The items counted most often in one minute (UTC), from item_minute. */
export async function hotItems(pool: pg.Pool, breaker: Breaker, minute: Date, limit: number): Promise<HotItems> {
  const start = new Date(Math.floor(minute.getTime() / 60_000) * 60_000);
  const { rows } = await breaker.fire('SELECT item_minute', () => pool.query<{ item_id: string; count: string }>(
    'SELECT item_id, count FROM item_minute WHERE minute = $1 ORDER BY count DESC, item_id LIMIT $2',
    [start, limit],
  ));
  return { minute: start.toISOString(), items: rows.map((row) => ({ item_id: row.item_id, count: Number(row.count) })) };
}
