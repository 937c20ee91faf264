import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, Environment } from '../../lib/config.js';
import type { IntakeCredit } from '../../gateway/admission/Admission.js';
import { readWaitingRoom, WaitingRoom } from '../../gateway/admission/WaitingRoom.js';
import { testAdmission } from '../helpers/admission.js';

/** Credit the test hands out: `free` of a 1000-event window. */
function credit(free: number) {
  const state = { free };
  return { state, read: (): IntakeCredit => ({ free: state.free, window: 1_000, drainPerSecond: 1_000 }) };
}

test('the highest class with no room waits for it; meanwhile a lower class is refused though its request would fit, and the purchase gets the room that comes back', async () => {
  const { state, read } = credit(100);
  const admission = testAdmission(read);
  const [purchase, , , view] = admission.policy.classes;
  const waiting = admission.decideOrWait('anonymous', purchase!, 250);
  assert.equal(admission.room.waitingEvents, 250);
  const refused = admission.decide('anonymous', view!, 50);
  assert.equal(refused.admitted, false);
  assert.equal(!refused.admitted && refused.reason, 'reserve');
  state.free = 300;
  admission.room.creditArrived();
  assert.deepEqual(await waiting, { admitted: true });
  assert.equal(admission.room.waitingEvents, 0);
  state.free = 1_000;
  assert.deepEqual(admission.decide('anonymous', view!, 50), { admitted: true }, 'with nothing waiting (and its reserve free) the view is admitted again');
  admission.stop();
});

test('a waiting request that gets no room within GATEWAY_PRIORITY_WAIT_MS is refused as it would have been at once', async () => {
  const admission = testAdmission(credit(0).read, ['anonymous'], { GATEWAY_PRIORITY_WAIT_MS: '50' });
  const started = performance.now();
  const verdict = await admission.decideOrWait('anonymous', admission.policy.classes[0]!, 10);
  assert.ok(performance.now() - started >= 45, 'it waited');
  assert.equal(!verdict.admitted && verdict.reason, 'no-room');
  assert.equal(admission.room.waitingEvents, 0);
  admission.stop();
});

test('the waiting room lets requests in in the order they came, each once its room is back, and holds at most GATEWAY_PRIORITY_WAIT_EVENTS', async () => {
  const room = new WaitingRoom(5_000, 300);
  let free = 0;
  const order: string[] = [];
  const enter = (name: string, events: number) => room.wait(events, () => free >= events).then((admitted) => {
    if (admitted) { free -= events; order.push(name); }
    return admitted;
  });
  const first = enter('first', 200);
  const second = enter('second', 50);
  assert.equal(await enter('over the bound', 100), false, 'refused at once: 250 + 100 is over 300');
  free = 100;
  room.creditArrived();
  await sleep(10);
  assert.deepEqual(order, [], 'the second fits, but waits behind the first');
  free = 250;
  room.creditArrived();
  assert.equal(await first, true);
  assert.equal(await second, true);
  assert.deepEqual(order, ['first', 'second']);
  const stranded = enter('at close', 10);
  room.close();
  assert.equal(await stranded, false);
});

test('nothing waits with one class only or with GATEWAY_PRIORITY_WAIT_MS=0, and the settings are validated', () => {
  assert.equal(readWaitingRoom(new Environment({}), 4).open, true);
  assert.equal(readWaitingRoom(new Environment({}), 1).open, false);
  assert.equal(readWaitingRoom(new Environment({ GATEWAY_PRIORITY_WAIT_MS: '0' }), 4).open, false);
  for (const variables of [{ GATEWAY_PRIORITY_WAIT_MS: '-1' }, { GATEWAY_PRIORITY_WAIT_MS: '30001' }, { GATEWAY_PRIORITY_WAIT_EVENTS: 'many' }]) {
    const env = new Environment(variables);
    readWaitingRoom(env, 4);
    assert.throws(() => env.done(), ConfigError, JSON.stringify(variables));
  }
});
