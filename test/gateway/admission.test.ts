import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, Environment } from '../../lib/config.js';
import type { IntakeCredit } from '../../gateway/admission/Admission.js';
import { FairShares, readKeyWeights } from '../../gateway/admission/FairShares.js';
import { classOfRequest, readPriorityPolicy } from '../../gateway/admission/priorityClasses.js';
import { testAdmission } from '../helpers/admission.js';

const policy = (variables: Record<string, string> = {}, keys: string[] = []) => readPriorityPolicy(new Environment(variables), keys);

test('priority classes: by default purchase above cart above click above view, the highest with no reserve and each lower with a larger one', () => {
  const { classes, ofKind } = policy();
  assert.deepEqual(classes.map(({ name, reserve }) => [name, reserve]), [['purchase', 0], ['cart', 0.15], ['click', 0.3], ['view', 0.5]]);
  assert.deepEqual(Object.fromEntries([...ofKind].map(([kind, { name }]) => [kind, name])), { view: 'view', click: 'click', cart: 'cart', purchase: 'purchase' });
});

test('priority classes: every problem of the configuration is reported at start-up, by variable and entry', () => {
  const problems = (variables: Record<string, string>, keys: string[] = []) => {
    try {
      policy(variables, keys);
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.problems;
    }
    return [];
  };
  assert.deepEqual(problems({ PRIORITY_CLASSES: 'gold:0.1,silver:0.2' }), ['PRIORITY_CLASSES entry 1: the highest class "gold" must have reserve 0 (it is refused only when there is no room at all)']);
  assert.deepEqual(problems({ PRIORITY_CLASSES: 'gold:0,silver:0.5,bronze:0.2' }), ['PRIORITY_CLASSES entry 3: the reserve of "bronze" is below that of "silver", a higher class']);
  assert.match(problems({ PRIORITY_CLASSES: 'gold:0,Bad Name:0.1,x:2,gold:0.3,nocolon' }).join('\n'), /entry 2 has an invalid class name[\s\S]*entry 3: the reserve of "x" must be a number from 0 to 0.9[\s\S]*entry 4 names class "gold" a second time[\s\S]*entry 5 must be class:reserve/);
  assert.deepEqual(problems({ PRIORITY_OF_KIND: 'refund:purchase,view:gold' }), [
    'PRIORITY_OF_KIND entry 1: no event kind "refund" (view, click, cart, purchase)',
    'PRIORITY_OF_KIND entry 2: no class "gold" in PRIORITY_CLASSES (purchase, cart, click, view)',
  ]);
  assert.deepEqual(problems({ GATEWAY_KEY_MAX_CLASS: 'nobody:purchase' }, ['shop']), ['GATEWAY_KEY_MAX_CLASS entry 1: no API key "nobody" in GATEWAY_API_KEYS']);
});

test('a request\'s class is its lowest event\'s; it may ask for a lower one, and for a higher one only up to its key\'s GATEWAY_KEY_MAX_CLASS', () => {
  const configured = policy({ GATEWAY_KEY_MAX_CLASS: 'partner:cart' }, ['partner', 'other']);
  const chosen = (kinds: string[], requested: string | undefined, key: string) => {
    const choice = classOfRequest(configured, kinds, requested, key);
    return choice.ok ? choice.priority.name : choice.error;
  };
  assert.equal(chosen(['purchase', 'view'], undefined, 'other'), 'view', 'a purchase mixed into views does not lift them');
  assert.equal(chosen(['purchase'], 'view', 'other'), 'view', 'lower is always allowed');
  assert.match(chosen(['view'], 'click', 'other'), /at most \(?view|class view at most/);
  assert.equal(chosen(['view'], 'cart', 'partner'), 'cart', 'up to its key\'s ceiling');
  assert.match(chosen(['view'], 'purchase', 'partner'), /class cart at most/);
  assert.match(chosen(['view'], 'gold', 'partner'), /no priority class "gold"/);
});

function creditOf(free: number, window = 1_000, drainPerSecond = 500): () => IntakeCredit {
  return () => ({ free, window, drainPerSecond });
}

test('admission: a class is admitted only while what it leaves free of the rest of the window is at least its reserve, so the lowest class is refused first and the highest only when there is no room', () => {
  const credit = { free: 1_000, window: 1_000, drainPerSecond: 500 };
  const admission = testAdmission(() => credit);
  const [purchase, cart, click, view] = admission.policy.classes;
  // Every class is offered events: each keeps its reserve for those above it.
  for (const priority of admission.policy.classes) assert.equal(admission.decide('anonymous', priority, 1).admitted, true);
  const admitted = () => admission.policy.classes.filter((priority) => admission.check('anonymous', priority, 100) === undefined).map(({ name }) => name);
  assert.deepEqual(admitted(), ['purchase', 'cart', 'click', 'view']);
  credit.free = 540;
  assert.deepEqual(admitted(), ['purchase', 'cart', 'click'], '440 of the other 900 left free after a view: under its 50 % reserve');
  credit.free = 300;
  assert.deepEqual(admitted(), ['purchase', 'cart']);
  credit.free = 200;
  assert.deepEqual(admitted(), ['purchase'], 'the last room goes to the highest class');
  credit.free = 99;
  assert.deepEqual(admitted(), []);
  assert.equal(admission.check('anonymous', purchase!, 100), 'no-room');
  assert.equal(admission.check('anonymous', view!, 10), 'reserve');
  assert.ok(cart && click);
  credit.free = 1_000;
  assert.equal(admission.check('anonymous', view!, 1_000), undefined, 'a request as large as the window gets in once the window is free');
});

test('admission: a refusal says when each class would be admitted at the intake\'s drain rate, and counts the events offered and shed', () => {
  const admission = testAdmission(creditOf(200, 1_000, 100));
  const view = admission.policy.classes.at(-1)!;
  admission.count('anonymous', admission.policy.classes[0]!, 'offered', 10);
  const verdict = admission.decide('anonymous', view, 100);
  assert.equal(verdict.admitted, false);
  if (verdict.admitted) return;
  assert.equal(verdict.reason, 'reserve');
  // Room for 100 events plus the class's reserve of the rest of the 1000-event window, at 100 events/s.
  assert.deepEqual(verdict.retryAfterByClass, { purchase: 1, cart: 1, click: 2, view: 4 });
  assert.equal(verdict.retryAfterSeconds, 4);
  admission.stop();
});

test('a class\'s reserve holds only while a class above it is offered events: views alone may use the whole window', () => {
  let now = 0;
  const admission = testAdmission(creditOf(300, 1_000), ['anonymous'], {}, () => now);
  const [purchase, , , view] = admission.policy.classes;
  assert.equal(admission.decide('anonymous', view!, 250).admitted, true, 'no purchase offered: no room kept for one');
  admission.decide('anonymous', purchase!, 10);
  assert.equal(admission.check('anonymous', view!, 250), 'reserve', 'a purchase offered: the view\'s reserve holds');
  now += 2_500;
  assert.equal(admission.check('anonymous', view!, 250), undefined, 'no purchase for over 2 s: the reserve is let go');
  admission.stop();
});

test('fair shares: while credit is scarce (and for a second after), a key ahead of its weighted share is refused in every class but the highest; an idle key\'s share goes to the busy one', () => {
  let now = 0;
  const credit = { free: 200, window: 1_000, drainPerSecond: 1_000 };
  const admission = testAdmission(() => credit, ['flood', 'steady'], { GATEWAY_KEY_WEIGHTS: 'flood:1,steady:1', PRIORITY_CLASSES: 'purchase:0,cart:0.05,click:0.1,view:0.6' }, () => now);
  const [purchase, cart] = admission.policy.classes;
  // Both offer; flood has been admitted far more.
  admission.decide('steady', cart!, 10);
  admission.admitted('flood', cart!, 500);
  admission.admitted('steady', cart!, 100);
  assert.equal(admission.check('flood', cart!, 10), 'fair-share');
  assert.equal(admission.check('flood', purchase!, 10), undefined, 'the highest class is refused only for want of room');
  assert.equal(admission.check('steady', cart!, 10), undefined);
  credit.free = 900;
  assert.equal(admission.check('flood', cart!, 10), 'fair-share', 'credit just come back is still scarce: the key that asks most often does not take it whole');
  now += 999;
  assert.equal(admission.check('flood', cart!, 10), 'fair-share');
  now += 2;
  assert.equal(admission.check('flood', cart!, 10), undefined, 'with room to spare for a second nobody is held to a share');
  credit.free = 200;
  now += 5_000;
  admission.decide('flood', cart!, 10);
  assert.equal(admission.check('flood', cart!, 10), undefined, 'steady offered nothing lately: flood has the whole share');
  admission.stop();
});

test('fair shares: while credit is free but was scarce lately, a key a little ahead of its share still takes it, and one far ahead does not', () => {
  let now = 0;
  const credit = { free: 200, window: 1_000, drainPerSecond: 1_000 };
  const admission = testAdmission(() => credit, ['a', 'b'], { GATEWAY_KEY_WEIGHTS: 'a:1,b:1', PRIORITY_CLASSES: 'purchase:0,cart:0.05,click:0.1,view:0.6' }, () => now);
  const cart = admission.policy.classes[1]!;
  admission.offered('a', cart, 10);
  admission.offered('b', cart, 10);
  admission.admitted('a', cart, 104);
  admission.admitted('b', cart, 100);
  assert.equal(admission.check('a', cart, 10), 'fair-share', 'scarce now: 2 % ahead is ahead');
  credit.free = 900;
  assert.equal(admission.check('a', cart, 10), undefined, 'free now, scarce a moment ago: 2 % ahead takes it, so none of it waits for b');
  admission.admitted('a', cart, 30);
  assert.equal(admission.check('a', cart, 10), 'fair-share', '15 % ahead does not');
  now += 1_001;
  assert.equal(admission.check('a', cart, 10), undefined, 'free for a second: nobody is held to a share');
  admission.stop();
});

test('fair shares follow the weights: two keys always offering, each admitted whenever within its share, split what is admitted by their weights', () => {
  let now = 0;
  const shares = new FairShares(readKeyWeights(new Environment({ GATEWAY_KEY_WEIGHTS: 'a:3,b:1' }), ['a', 'b']), () => now);
  const admitted = { a: 0, b: 0 };
  for (let step = 0; step < 4_000; step += 1) {
    now += 1;
    shares.offered('a');
    shares.offered('b');
    for (const key of ['a', 'b'] as const) {
      if (shares.withinShare(key)) {
        shares.admitted(key, 10);
        admitted[key] += 10;
        break;
      }
    }
  }
  const shareOfA = admitted.a / (admitted.a + admitted.b);
  assert.ok(Math.abs(shareOfA - 0.75) < 0.02, `a had ${(shareOfA * 100).toFixed(1)} % of what was admitted, its weight is 75 %`);
  assert.equal(shares.shareOf('a'), 0.75);
});

test('key weights: every problem reported, by entry', () => {
  assert.throws(() => readKeyWeights(new Environment({ GATEWAY_KEY_WEIGHTS: 'a:0,nobody:2,b' }), ['a', 'b']), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.problems, [
      'GATEWAY_KEY_WEIGHTS entry 1: the weight of "a" must be a number above 0 and at most 1000',
      'GATEWAY_KEY_WEIGHTS entry 2: no API key "nobody" in GATEWAY_API_KEYS',
      'GATEWAY_KEY_WEIGHTS entry 3 must be key:weight',
    ]);
    return true;
  });
});
