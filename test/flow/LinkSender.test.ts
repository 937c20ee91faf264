import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import { makeEvents } from '../helpers/events.js';
import { startScriptedReceiver } from '../helpers/scriptedReceiver.js';

describe('LinkSender', { timeout: 20_000 }, () => {
  test('respects the transport: when write() says the stream is full it waits for drain, and reports the wait', async (t) => {
    const receiver = await startScriptedReceiver();
    const sender = new LinkSender({ target: `127.0.0.1:${receiver.port}`, link: 'a->b', sender: 'a' });
    t.after(() => { sender.cancel(); receiver.stop(); });
    const call = await receiver.nextCall();
    await call.until((c) => c.frames.length === 1);
    call.open(100, 4 << 20); // 200 frames: far more than the stream's write buffer holds
    call.grant(1_000_000);
    call.call.pause(); // stop reading: HTTP/2 flow control fills up and write() returns false
    const big = makeEvents(20_000).map((event) => ({ ...event, userId: 'u'.repeat(200) }));
    let done = false;
    const sending = sender.send(big).then((result) => { done = true; return result; });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(done, false, 'the send waits while the receiver does not read');
    call.call.resume();
    const result = await sending;
    assert.ok(result.drainWaitMs >= 200, `waited ${result.drainWaitMs} ms for drain`);
    await call.until((c) => c.events === 20_000, 10_000);
  });

  test('an acknowledgement beyond what was sent is a contract breach: INVALID_ARGUMENT, and the sender reconnects', async (t) => {
    const receiver = await startScriptedReceiver();
    const sender = new LinkSender({ target: `127.0.0.1:${receiver.port}`, link: 'a->b', sender: 'a', backoff: { initialMs: 10, maxMs: 10 } });
    t.after(() => { sender.cancel(); receiver.stop(); });
    const call = await receiver.nextCall();
    call.open();
    call.grant(10);
    await sender.send(makeEvents(3));
    call.write({ ack: { offset: 5 } });
    assert.equal((await call.closeFrame()).code, grpc.status.INVALID_ARGUMENT);
    const again = await receiver.nextCall();
    await again.until((c) => c.frames.length === 1);
    assert.equal(again.frames[0]!.open!.link, 'a->b');
  });

  test('a receiver that never answers Open is given up on after the open timeout, and dialled again', async (t) => {
    const receiver = await startScriptedReceiver();
    const sender = new LinkSender({ target: `127.0.0.1:${receiver.port}`, link: 'a->b', sender: 'a', openTimeoutMs: 150, backoff: { initialMs: 10, maxMs: 10 } });
    t.after(() => { sender.cancel(); receiver.stop(); });
    const silent = await receiver.nextCall();
    assert.equal((await silent.closeFrame()).code, grpc.status.DEADLINE_EXCEEDED);
    const answering = await receiver.nextCall();
    answering.open();
    answering.grant(5);
    await sender.send(makeEvents(5));
    assert.equal(sender.stats().generation, 2);
  });

  test('while no receiver is up, send waits for one instead of failing, and backs off between attempts', async (t) => {
    const receiver = await startScriptedReceiver();
    const { port } = receiver;
    receiver.stop();
    const sender = new LinkSender({ target: `127.0.0.1:${port}`, link: 'a->b', sender: 'a', backoff: { initialMs: 20, maxMs: 80 } });
    t.after(() => sender.cancel());
    const sending = sender.send(makeEvents(2));
    await new Promise((resolve) => setTimeout(resolve, 400));
    const attempts = sender.stats().generation;
    assert.ok(attempts >= 2 && attempts <= 40, `${attempts} attempts in 400 ms`);
    const late = await startScriptedReceiver();
    t.after(() => late.stop());
    assert.notEqual(late.port, port); // another port: the sender keeps failing, send keeps waiting
    sender.cancel();
    await assert.rejects(sending, { name: 'LinkClosedError' });
  });
});
