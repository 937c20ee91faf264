import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticFile { contentType: string; body: Buffer }

/** Where the page's files are: gateway/dashboard/ of the project, beside the compiled code in dist/. */
const dashboardDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'gateway', 'dashboard');

const files: Record<string, { name: string; contentType: string }> = {
  '/': { name: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/dashboard.js': { name: 'dashboard.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { name: 'dashboard.css', contentType: 'text/css; charset=utf-8' },
};

/** The pressure dashboard's files by URL path, read once at start-up (a missing file fails the start, not a request). */
export function loadDashboard(): Map<string, StaticFile> {
  return new Map(Object.entries(files).map(([route, file]) => [route, { contentType: file.contentType, body: readFileSync(path.join(dashboardDirectory, file.name)) }]));
}
