// npm run build: type-checks and compiles into a folder of its own inside dist/, then moves each
// compiled file into place with rename(), which replaces a file in one step. tsc writing straight
// into dist/ would truncate each file and write it again, so a process importing from dist/ while
// a build runs (npm start, a test, another build) could read a module empty or cut short; this
// way it reads every module whole, the old one or the new one, and never finds one missing.
// Files whose content did not change are left alone. Nothing is deleted (see pruneDist.mjs).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');

/** Folders left by builds that were killed before they could remove their own. */
function removeAbandonedStaging() {
  let entries;
  try {
    entries = readdirSync(dist);
  } catch {
    return;
  }
  for (const name of entries) {
    const pid = Number(/^\.build-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if (error.code === 'ESRCH') rmSync(path.join(dist, name), { recursive: true, force: true });
    }
  }
}

/** A source map names its sources relative to itself: relative to where it will be, not where it was emitted. */
function relocateMap(text, from, to) {
  const map = JSON.parse(text);
  map.sources = map.sources.map((source) =>
    path.relative(path.dirname(to), path.resolve(path.dirname(from), source)).split(path.sep).join('/'));
  return JSON.stringify(map);
}

function readOrNull(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function install(staging, relativeDir) {
  for (const entry of readdirSync(path.join(staging, relativeDir), { withFileTypes: true })) {
    const relative = path.join(relativeDir, entry.name);
    const from = path.join(staging, relative);
    const to = path.join(dist, relative);
    if (entry.isDirectory()) {
      install(staging, relative);
      continue;
    }
    let text = readFileSync(from, 'utf8');
    if (relative.endsWith('.map')) {
      text = relocateMap(text, from, to);
      writeFileSync(from, text);
    }
    if (readOrNull(to) === text) continue;
    // A prune running at the same time may remove a folder this build has just made.
    for (let attempt = 1; ; attempt += 1) {
      mkdirSync(path.dirname(to), { recursive: true });
      try {
        renameSync(from, to);
        break;
      } catch (error) {
        if (error.code !== 'ENOENT' || attempt >= 3) throw error;
      }
    }
  }
}

removeAbandonedStaging();
const staging = path.join(dist, `.build-${process.pid}-${randomBytes(4).toString('hex')}`);
mkdirSync(staging, { recursive: true });
let status = 1;
try {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  // tsc emits even when it reports type errors, as a build straight into dist/ would; the status says whether it did.
  status = spawnSync(process.execPath, [tsc, '-p', root, '--outDir', staging], { cwd: root, stdio: 'inherit' }).status ?? 1;
  install(staging, '');
} finally {
  rmSync(staging, { recursive: true, force: true });
}
process.exit(status);
