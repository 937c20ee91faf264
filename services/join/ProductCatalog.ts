import { LRUCache } from 'lru-cache';
import type pg from 'pg';
import type { Breaker } from '../../lib/breaker.js';
import type { Product } from '../../lib/contract/loadContract.js';
import type { Context } from '../../lib/telemetry/batchSpans.js';

/**
 * The product inventory as the join sees it: a bounded cache with a TTL in
 * front of Postgres. Misses of a whole batch are fetched in one `= ANY($1)`
 * query, and unknown products are cached too, so a flood of them costs no
 * more queries than known ones.
 */
export class ProductCatalog {
  readonly #cache: LRUCache<string, Product>;

  constructor(private readonly pool: pg.Pool, private readonly breaker: Breaker, options: { maxEntries: number; ttlMs: number }) {
    this.#cache = new LRUCache({ max: options.maxEntries, ttl: options.ttlMs });
  }

  get cachedEntries(): number { return this.#cache.size; }

  /** `trace`: the batch's span, parent of the look-up's span. */
  async lookup(ids: Iterable<string>, trace?: Context): Promise<Map<string, Product>> {
    const found = new Map<string, Product>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const cached = this.#cache.get(id);
      if (cached) found.set(id, cached);
      else missing.push(id);
    }
    if (missing.length === 0) return found;
    const { rows } = await this.breaker.hold('SELECT products', () => this.pool.query<{ id: string; name: string; category: string; price_cents: string }>(
      'SELECT id, name, category, price_cents FROM products WHERE id = ANY($1)', [missing],
    ), { trace });
    const fetched = new Map(rows.map((row) => [row.id, { found: true, name: row.name, category: row.category, listPriceCents: Number(row.price_cents) }]));
    for (const id of missing) {
      const product = fetched.get(id) ?? { found: false, name: '', category: '', listPriceCents: 0 };
      this.#cache.set(id, product);
      found.set(id, product);
    }
    return found;
  }
}
