import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, Environment } from '../../lib/config.js';
import { ApiKeyring } from '../../lib/security/ApiKeyring.js';
import { readApiKeys } from '../../lib/security/apiKeys.js';

const problemsOf = (read: () => unknown): string[] => {
  try {
    read();
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
};

test('name:token entries parse; a token may itself contain colons', () => {
  const keys = readApiKeys(new Environment({ GATEWAY_API_KEYS: ' alice : s3cret-a ,bob:b:with:colons' }));
  assert.deepEqual(keys, [{ name: 'alice', token: 's3cret-a' }, { name: 'bob', token: 'b:with:colons' }]);
});

test('malformed entries, empty tokens, a repeated name or token are each a problem that names the entry and never the token', () => {
  const problems = problemsOf(() => readApiKeys(new Environment({
    GATEWAY_API_KEYS: ['no-colon-secret1', 'empty:', 'bad name:secret3', 'ok:secret4', 'ok:secret5', 'other:secret4', 'spaces:sec ret7'].join(','),
  })));
  assert.equal(problems.length, 6);
  problems.forEach((problem, i) => assert.match(problem, new RegExp(`^GATEWAY_API_KEYS entry ${[1, 2, 3, 5, 6, 7][i]} `)));
  assert.match(problems[3]!, /defines key "ok" a second time/);
  assert.match(problems[4]!, /same token as key "ok"/);
  for (const problem of problems) assert.doesNotMatch(problem, /secret|sec ret/);
});

test('keys come from GATEWAY_API_KEYS and GATEWAY_API_KEYS_FILE together; bad ones are a ConfigError naming the variable', (t) => {
  const directory = mkdtempSync(path.join(tmpdir(), 'mesh-keys-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  const file = path.join(directory, 'keys');
  writeFileSync(file, '# callers of the gateway\n\ncarol:token-c\n  dave:token-d  \n');
  assert.deepEqual(readApiKeys(new Environment({})), []);
  assert.deepEqual(readApiKeys(new Environment({ GATEWAY_API_KEYS: 'alice:token-a,bob:token-b', GATEWAY_API_KEYS_FILE: file })).map((key) => key.name), ['alice', 'bob', 'carol', 'dave']);

  assert.deepEqual(problemsOf(() => readApiKeys(new Environment({ GATEWAY_API_KEYS: 'alice:token-a,alice:token-x' }))), ['GATEWAY_API_KEYS entry 2 defines key "alice" a second time']);
  assert.deepEqual(problemsOf(() => readApiKeys(new Environment({ GATEWAY_API_KEYS: 'carol:token-z', GATEWAY_API_KEYS_FILE: file }))), ['GATEWAY_API_KEYS_FILE line 3 defines key "carol" a second time']);
  assert.deepEqual(problemsOf(() => readApiKeys(new Environment({ GATEWAY_API_KEYS: ',' }))), ['GATEWAY_API_KEYS has no name:token entries']);
  assert.match(problemsOf(() => readApiKeys(new Environment({ GATEWAY_API_KEYS_FILE: path.join(directory, 'missing') })))[0]!, /^GATEWAY_API_KEYS_FILE cannot be read: ENOENT/);
  writeFileSync(file, '# nobody yet\n');
  assert.match(problemsOf(() => readApiKeys(new Environment({ GATEWAY_API_KEYS_FILE: file })))[0]!, /^GATEWAY_API_KEYS_FILE .* has no name:token lines/);
  writeFileSync(file, 'erin:\nfrank-token-f\n');
  assert.deepEqual(problemsOf(() => readApiKeys(new Environment({ GATEWAY_API_KEYS_FILE: file }))), [
    'GATEWAY_API_KEYS_FILE line 1 has an empty token for key "erin"',
    'GATEWAY_API_KEYS_FILE line 2 must be name:token',
  ]);
});

test('the keyring names the key of a bearer token, and nothing for a missing, malformed, partial or unknown one', () => {
  const keyring = new ApiKeyring([{ name: 'alice', token: 'token-a' }, { name: 'bob', token: 'token-b' }]);
  assert.equal(keyring.enabled, true);
  assert.deepEqual(keyring.names, ['alice', 'bob']);
  assert.equal(keyring.authenticate('Bearer token-a'), 'alice');
  assert.equal(keyring.authenticate('bearer  token-b'), 'bob');
  for (const header of [undefined, '', 'token-a', 'Basic token-a', 'Bearer', 'Bearer token-', 'Bearer token-aa', 'Bearer token-a extra', 'Bearer TOKEN-A']) {
    assert.equal(keyring.authenticate(header), undefined, String(header));
  }
  assert.equal(new ApiKeyring([]).enabled, false);
});

test('a check compares digests of equal length with every key, in constant time, whichever key matches or none', (t) => {
  const keyring = new ApiKeyring([{ name: 'alice', token: 'token-a' }, { name: 'bob', token: 'token-b' }, { name: 'carol', token: 'token-c' }]);
  const original = crypto.timingSafeEqual;
  const compared: number[] = [];
  crypto.timingSafeEqual = (a, b) => { compared.push(a.byteLength, b.byteLength); return original(a, b); };
  syncBuiltinESMExports();
  t.after(() => { crypto.timingSafeEqual = original; syncBuiltinESMExports(); });
  for (const [candidate, name] of [['token-a', 'alice'], ['token-c', 'carol'], ['token-', undefined], ['x'.repeat(10_000), undefined]] as const) {
    compared.length = 0;
    assert.equal(keyring.identify(candidate), name);
    assert.deepEqual(compared, Array(6).fill(32), `${candidate.slice(0, 10)}: one SHA-256 comparison per key, no early exit`);
  }
});
