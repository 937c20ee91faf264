import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKey } from './apiKeys.js';

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/**
 * Tells which configured key a bearer token belongs to. Only digests of the
 * tokens are kept, and every check compares the presented token's digest with
 * every key's, in constant time, so neither the time taken nor an early exit
 * says how much of a token was right or which key came close.
 */
export class ApiKeyring {
  readonly #keys: ReadonlyArray<{ name: string; digest: Buffer }>;

  constructor(keys: readonly ApiKey[]) {
    this.#keys = keys.map(({ name, token }) => ({ name, digest: digest(token) }));
  }

  /** Without keys, the gateway is open. */
  get enabled(): boolean { return this.#keys.length > 0; }

  get names(): string[] { return this.#keys.map((key) => key.name); }

  /** The name of the key whose token is presented, or undefined for none. */
  identify(token: string): string | undefined {
    const presented = digest(token);
    let match: string | undefined;
    for (const key of this.#keys) {
      if (timingSafeEqual(presented, key.digest) && match === undefined) match = key.name;
    }
    return match;
  }

  /** The key an `Authorization: Bearer <token>` header names, or undefined if it is missing, malformed or unknown. */
  authenticate(authorization: string | undefined): string | undefined {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    return match ? this.identify(match[1]!) : undefined;
  }
}
