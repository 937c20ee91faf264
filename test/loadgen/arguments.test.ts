import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError, parseArguments } from '../../bench/loadgen/arguments.js';

test('defaults, and every option parsed', () => {
  assert.deepEqual(parseArguments(['--rate', '500', '--duration', '2']), {
    help: false,
    json: false,
    options: { rate: 500, durationS: 2, url: `http://127.0.0.1:${process.env.GATEWAY_PORT ?? 8080}`, burst: undefined, batch: 100, concurrency: 64, users: 1000, products: 500, retry429: 0, idsFile: undefined },
  });
  const command = parseArguments(['--rate=2e4', '--duration', '0.5', '--url', 'http://gw:9000', '--burst', '50000:10:5.5', '--batch', '10', '--concurrency', '8', '--users', '3', '--products', '4', '--retry-429', '2', '--ids-file', '/tmp/ids', '--json']);
  assert.deepEqual(command, {
    help: false,
    json: true,
    options: { rate: 20000, durationS: 0.5, url: 'http://gw:9000', burst: { rate: 50000, startS: 10, lengthS: 5.5 }, batch: 10, concurrency: 8, users: 3, products: 4, retry429: 2, idsFile: '/tmp/ids' },
  });
});

test('a bad argument is refused with a message naming the option', () => {
  const cases: [string[], RegExp][] = [
    [['--duration', '1'], /--rate is required/],
    [['--rate', '10'], /--duration is required/],
    [['--rate', 'fast', '--duration', '1'], /--rate must be a number/],
    [['--rate', '0', '--duration', '1'], /--rate must be greater than 0/],
    [['--rate', '10', '--duration', '0'], /--duration must be greater than 0/],
    [['--rate', '10', '--duration', '-1'], /--duration/],
    [['--rate', '10', '--duration', '1', '--batch', '2.5'], /--batch must be an integer/],
    [['--rate', '10', '--duration', '1', '--concurrency', '0'], /--concurrency must be an integer >= 1/],
    [['--rate', '10', '--duration', '1', '--users', ''], /--users must be a number/],
    [['--rate', '10', '--duration', '1', '--retry-429=-1'], /--retry-429 must be an integer >= 0/],
    [['--rate', '10', '--duration', '1', '--burst', '100:5'], /--burst must be RATE:START:LENGTH/],
    [['--rate', '10', '--duration', '1', '--burst', '100:5:0'], /--burst needs .* LENGTH > 0/],
    [['--rate', '10', '--duration', '1', '--url', 'ftp://host'], /--url must be http/],
    [['--rate', '10', '--duration', '1', '--url', 'localhost:8080'], /--url must be/],
    [['--rate', '10', '--duration', '1', '--speed', '3'], /--speed/],
    [['--rate', '10', '--duration', '1', 'extra'], /extra/],
    [['--rate'], /--rate/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseArguments(args), (error: unknown) => error instanceof ArgumentError && message.test(error.message), args.join(' '));
  }
});
