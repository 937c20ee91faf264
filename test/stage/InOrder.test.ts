import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InOrder } from '../../lib/stage/InOrder.js';

const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

test('batches settling in any order are handed out in the order they were taken, failures included', async () => {
  const batches = new InOrder<{ name: string; result: Promise<string> }>();
  batches.push({ name: 'slow', result: later(60, 'a') });
  batches.push({ name: 'failing', result: Promise.reject(new Error('poison')) });
  batches.push({ name: 'fast', result: later(5, 'c') });
  batches.close();
  const order: string[] = [];
  for (let batch = await batches.next(); batch; batch = await batches.next()) order.push(batch.name);
  assert.deepEqual(order, ['slow', 'failing', 'fast']);
  assert.equal(await batches.next(), undefined, 'closed and empty');
});

test('a reader waits for the next batch to be taken', async () => {
  const batches = new InOrder<{ result: Promise<number> }>();
  const next = batches.next();
  setTimeout(() => batches.push({ result: Promise.resolve(7) }), 20);
  assert.equal(await (await next)!.result, 7);
});
