// Removes from dist/ the compiled files whose TypeScript source no longer exists (a deleted or
// renamed test must not linger in dist/test and still run), then the folders left empty.
// Everything else stays where it is: a process running from dist/ keeps every module it can
// still import, unlike a build that empties the folder first.
import { existsSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');

/** The sources a compiled file can come from, or null for a file the compiler does not emit. */
function sourcesOf(relative) {
  const compiled = relative.replace(/\.map$/, '');
  for (const [output, inputs] of [['.d.ts', ['.ts', '.tsx']], ['.js', ['.ts', '.tsx']], ['.mjs', ['.mts']], ['.cjs', ['.cts']]]) {
    if (compiled.endsWith(output)) return inputs.map((input) => compiled.slice(0, -output.length) + input);
  }
  return null;
}

let removed = 0;

/** A build running at the same time may have just written into the folder: then it stays. */
function removeIfStillEmpty(folder) {
  try {
    rmdirSync(folder);
    return true;
  } catch (error) {
    if (error.code === 'ENOENT') return true;
    if (error.code === 'ENOTEMPTY' || error.code === 'EEXIST') return false;
    throw error;
  }
}

/** Prunes one folder of dist/; true when it is left empty. */
function prune(relativeDir) {
  let left = 0;
  for (const entry of readdirSync(path.join(dist, relativeDir), { withFileTypes: true })) {
    const relative = path.join(relativeDir, entry.name);
    if (relativeDir === '' && entry.name.startsWith('.build-')) { // a build's own folder (build.mjs)
      left += 1;
      continue;
    }
    if (entry.isDirectory()) {
      if (!(prune(relative) && removeIfStillEmpty(path.join(dist, relative)))) left += 1;
      continue;
    }
    const sources = sourcesOf(relative);
    if (sources !== null && !sources.some((source) => existsSync(path.join(root, source)))) {
      try {
        unlinkSync(path.join(dist, relative));
        removed += 1;
      } catch (error) {
        if (error.code !== 'ENOENT') throw error; // another prune was first
      }
    } else {
      left += 1;
    }
  }
  return left === 0;
}

if (existsSync(dist)) {
  prune('');
  if (removed > 0) console.log(`dist: removed ${removed} compiled file(s) whose source is gone`);
}
