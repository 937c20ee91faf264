import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { booleanArrayLiteral, numberArrayLiteral, textArrayLiteral } from '../../lib/storage/arrayLiterals.js';
import { freshDatabase } from '../helpers/testServers.js';

describe('array literals as PostgreSQL reads them', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let pool: pg.Pool;
  before(async () => {
    database = await freshDatabase();
    pool = database.pool();
  });
  after(() => database.drop());

  const read = async (literal: string, type: string): Promise<unknown[]> => (await pool.query(`SELECT $1::${type}[] AS a`, [literal])).rows[0].a;

  test('text: every string comes back as it was, whatever it holds; null and undefined are NULL', async () => {
    const strings = ['plain', '', 'NULL', 'null', ' spaced ', 'a"b', '"', 'back\\slash', '\\', '\\"', '{braces}', 'comma,here', "'quoted'",
      'tab\there', 'new\nline', 'ünïcødé 🎉', 'x'.repeat(2_000)];
    assert.deepEqual(await read(textArrayLiteral(strings), 'text'), strings);
    assert.deepEqual(await read(textArrayLiteral(['a', null, 'NULL', undefined, '']), 'text'), ['a', null, 'NULL', null, '']);
    assert.deepEqual(await read(textArrayLiteral(['fast', 'path', 'only']), 'text'), ['fast', 'path', 'only']);
    assert.deepEqual(await read(textArrayLiteral([]), 'text'), []);
    assert.deepEqual(await read(textArrayLiteral(['']), 'text'), [''], 'one empty string is not an empty array');
    assert.deepEqual(await read(textArrayLiteral([null]), 'text'), [null]);
  });

  test('jsonb: JSON texts with quotes and escapes arrive whole', async () => {
    const payloads = [{ id: 'a"b', reason: 'back\\slash', nested: { list: [1, 'two'] } }, { empty: '' }];
    assert.deepEqual(await read(textArrayLiteral(payloads.map((payload) => JSON.stringify(payload))), 'jsonb'), payloads);
  });

  test('numbers: int8 and float8, as JavaScript writes them; anything not a number is NULL', async () => {
    assert.deepEqual(await read(numberArrayLiteral([0, -1, 42, Number.MAX_SAFE_INTEGER, null]), 'int8'), ['0', '-1', '42', String(Number.MAX_SAFE_INTEGER), null]);
    assert.deepEqual(await read(numberArrayLiteral([1.5, -0.25, 1_796_155_971_385, 1e21, undefined]), 'float8'), [1.5, -0.25, 1_796_155_971_385, 1e21, null]);
    assert.deepEqual(await read(numberArrayLiteral([Number.NaN, Number.POSITIVE_INFINITY]), 'float8'), [Number.NaN, Number.POSITIVE_INFINITY]);
    assert.deepEqual(await read(numberArrayLiteral([]), 'int8'), []);
    await assert.rejects(read(numberArrayLiteral([1.5]), 'int8'), (error: { code?: string }) => error.code === '22P02', 'a fraction is refused as data, not cut');
    assert.deepEqual(await read(numberArrayLiteral(['1,2' as unknown as number]), 'int8'), [null], 'a string is never spliced into the literal');
  });

  test('booleans: true and false; anything else is NULL', async () => {
    assert.deepEqual(await read(booleanArrayLiteral([true, false, null, 'true' as unknown as boolean]), 'bool'), [true, false, null, null]);
    assert.deepEqual(await read(booleanArrayLiteral([]), 'bool'), []);
  });
});
