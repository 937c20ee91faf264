import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { contractTypesDir, generateContractTypes } from '../../tools/generateContractTypes.js';

function typeFiles(root: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.set(path.relative(root, full), readFileSync(full, 'utf8'));
  }
  return files;
}

test('the committed TypeScript types match proto/ (run `npm run proto:types` after changing it)', () => {
  const fresh = mkdtempSync(path.join(tmpdir(), 'contract-types-'));
  try {
    generateContractTypes(fresh);
    const expected = typeFiles(fresh);
    const committed = typeFiles(contractTypesDir);
    assert.ok(expected.size > 0);
    assert.deepEqual([...committed.keys()].sort(), [...expected.keys()].sort());
    for (const [file, text] of expected) assert.equal(committed.get(file), text, `${file} is stale`);
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
});
