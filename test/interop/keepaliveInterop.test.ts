import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import { debianPython } from '../helpers/debianPython.js';
import { makeEvents } from '../helpers/events.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
// gRPC's default server policy (C core: Python, C++, Ruby...) allows a ping without data at most
// every 5 minutes, counts each earlier one as a strike from the second ping after the server last
// sent data, and answers the third strike with GOAWAY too_many_pings. A client pinging every 10 s
// is sent away 40 to 50 s into a quiet spell (grpcio 1.51: on the fifth ping after the last data),
// so the link stays quiet for 50 s here: long enough for that, and no longer.
const activeMs = 10_000;
const sendEveryMs = 3_000;
const holdMs = 60_000;

test('keepalive: a LinkSender with the default channel options holds a quiet link to a Python grpcio server with default keepalive enforcement', { timeout: holdMs + 30_000 }, async (t) => {
  const receiver = spawn(debianPython, [path.join(projectRoot, 'test/interop/python_receiver.py')], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  createInterface({ input: receiver.stderr! }).on('line', (line) => stderr.push(line));
  t.after(async () => {
    if (receiver.exitCode === null && receiver.signalCode === null) {
      receiver.kill('SIGTERM');
      await once(receiver, 'exit');
    }
  });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Python receiver did not start within 15 s:\n${stderr.join('\n')}`)), 15_000);
    createInterface({ input: receiver.stdout! }).on('line', (line) => {
      const match = /^receiver listening on (\S+)/.exec(line);
      if (match) { clearTimeout(timer); resolve(match[1]!); }
    });
    receiver.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the Python receiver exited (${code}):\n${stderr.join('\n')}`)); });
  });

  const sender = new LinkSender({ target: address, link: 'interop->python', sender: 'keepalive-test' });
  t.after(() => sender.close());
  const resets: unknown[] = [];
  let acknowledged = 0;
  sender.on('reset', (reset) => resets.push(reset));
  sender.on('ack', ({ offset }: { offset: number }) => { acknowledged = offset; });

  const started = Date.now();
  let sent = 0;
  while (Date.now() - started < activeMs) {
    await sender.send(makeEvents(20));
    sent += 20;
    await sleep(sendEveryMs);
  }
  await sleep(holdMs - (Date.now() - started));

  assert.deepEqual(resets, [], 'the link was never reset');
  assert.equal(sender.stats().generation, 1, 'still the first connection');
  assert.equal(sender.stats().connected, true);
  assert.equal(acknowledged, sent, `every event sent in the first ${activeMs / 1000} s was acknowledged`);
});
