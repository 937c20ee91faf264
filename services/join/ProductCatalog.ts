import { LRUCache } from 'lru-cache';
import type pg from 'pg';
import type { Breaker } from '../../lib/breaker.js';
import type { Product } from '../../lib/contract/loadContract.js';
import type { Context } from '../../lib/telemetry/batchSpans.js';

// What an entry costs beyond its strings (two bytes a UTF-16 unit): the cache's own node and the Product object.
const entryOverheadBytes = 200;

/** About what an entry takes in memory, so that the cache is bounded in bytes and not only in entries. */
const entryBytes = (product: Product, id: string) => entryOverheadBytes + 2 * (id.length + product.name!.length + product.category!.length);

/**
 * The product inventory as the join sees it: a cache bounded in entries and
 * bytes, with a TTL, in front of Postgres. Misses of a whole batch are fetched
 * in one `= ANY($1)` query, and unknown products are cached too, so a flood of
 * them costs no more queries than known ones.
 */
export class ProductCatalog {
  readonly #cache: LRUCache<string, Product>;

  constructor(private readonly pool: pg.Pool, private readonly breaker: Breaker, options: { maxEntries: number; maxBytes: number; ttlMs: number }) {
    this.#cache = new LRUCache({ max: options.maxEntries, maxSize: options.maxBytes, sizeCalculation: entryBytes, ttl: options.ttlMs });
  }

  /** `trace`: the batch's span, parent of the look-up's span; `signal` gives a held look-up up. */
  async lookup(ids: Iterable<string>, { trace, signal }: { trace?: Context; signal?: AbortSignal } = {}): Promise<Map<string, Product>> {
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
    ), { trace, signal });
    const fetched = new Map(rows.map((row) => [row.id, { found: true, name: row.name, category: row.category, listPriceCents: Number(row.price_cents) }]));
    for (const id of missing) {
      const product = fetched.get(id) ?? { found: false, name: '', category: '', listPriceCents: 0 };
      this.#cache.set(id, product);
      found.set(id, product);
    }
    return found;
  }
}
