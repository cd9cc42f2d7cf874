// Prints the gzip size of what the browser loads first (index.html and
// the scripts and styles it names, with their static imports), and of
// the lazy chunks. Goal: first load < 400 KiB gzip. Fails the build above it.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = new URL('../dist/ui/', import.meta.url).pathname;
const gz = (file) => gzipSync(readFileSync(join(root, file)), { level: 9 }).length;
const html = readFileSync(join(root, 'index.html'), 'utf8');
const first = new Set(['index.html']);
const queue = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]);
while (queue.length) {
  const f = queue.shift();
  if (first.has(f)) continue;
  first.add(f);
  // Static imports of an entry chunk load with it; dynamic import("…") ones do not.
  if (f.endsWith('.js'))
    for (const m of readFileSync(join(root, f), 'utf8').matchAll(
      /(?:^|[;}\s])import\s*(?:[\w{},*\s]+from\s*)?["']\.\/([^"']+)["']/g,
    ))
      queue.push(`assets/${m[1]}`);
}
const kib = (n) => (n / 1024).toFixed(1);
const firstBytes = [...first].reduce((s, f) => s + gz(f), 0);
const lazy = readdirSync(join(root, 'assets'))
  .map((f) => `assets/${f}`)
  .filter((f) => !first.has(f));
const lazyBytes = lazy.reduce((s, f) => s + gz(f), 0);
console.log(
  `web app: first load ${kib(firstBytes)} KiB gzip (${[...first].length} files; goal < 400), lazy chunks ${kib(lazyBytes)} KiB gzip (${lazy.length} files)`,
);
if (firstBytes > 400 * 1024) {
  console.error('web app: the first load is over 400 KiB gzip: lazy-load the heavy views');
  process.exit(1);
}
