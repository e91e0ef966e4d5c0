// Checks a project's object cache after a benchmark build: every object under
// <mlcache>/objects/ must hold exactly the content its name says (xxh64 of the bytes; a `.dir`
// manifest names the hash of its text), no object may be writable, and no temp file may be left.
// Every run-cache entry (<mlcache>/runs/<2>/<14>.jsonl, one JSON line per build) must parse and
// name only objects that are in the cache: objects are written (in the background) before the
// entry that needs them. Prints one line; exit 1 when something is wrong.
// Usage: node bench/check-cache.mjs PROJECT_DIR
import fs from 'node:fs';
import path from 'node:path';
import xxhash from 'xxhash-wasm';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node bench/check-cache.mjs PROJECT_DIR');
  process.exit(2);
}
const { h64Raw } = await xxhash();
const objects = path.join(dir, '.mlcache', 'objects');
const bad = [];
let n = 0;
for (const sub of fs.existsSync(objects) ? fs.readdirSync(objects) : []) {
  for (const name of fs.readdirSync(path.join(objects, sub))) {
    const file = path.join(objects, sub, name);
    if (name.includes('.tmp-')) {
      bad.push(`${sub}/${name}: temp file left behind`);
      continue;
    }
    n++;
    const want = (sub + name).replace(/\.dir$/, '');
    const got = h64Raw(fs.readFileSync(file)).toString(16).padStart(16, '0');
    if (got !== want) bad.push(`${sub}/${name}: content hashes to ${got}`);
    if ((fs.statSync(file).mode & 0o222) !== 0) bad.push(`${sub}/${name}: writable`);
  }
}
if (n === 0) bad.push('no objects at all');

const runs = path.join(dir, '.mlcache', 'runs');
let entries = 0;
const has = (hash) => fs.existsSync(path.join(objects, hash.slice(0, 2), hash.slice(2)));
for (const sub of fs.existsSync(runs) ? fs.readdirSync(runs) : []) {
  for (const name of fs.readdirSync(path.join(runs, sub))) {
    const text = fs.readFileSync(path.join(runs, sub, name), 'utf8');
    if (!text.endsWith('\n')) bad.push(`runs/${sub}/${name}: torn last line`);
    for (const line of text.split('\n').filter(Boolean)) {
      entries++;
      let outs;
      try {
        outs = JSON.parse(line).outs;
      } catch {
        bad.push(`runs/${sub}/${name}: a line that does not parse`);
        continue;
      }
      for (const o of outs) if (!has(o.hash)) bad.push(`runs/${sub}/${name}: names ${o.path} as object ${o.hash}, which is not in the cache`);
    }
  }
}
if (bad.length > 0) {
  console.log(`${bad.length} problem(s) in a cache of ${n} objects and ${entries} run-cache entries: ${bad.slice(0, 3).join("; ")}`);
  process.exit(1);
}
console.log(`${n} cache objects hold the content their names say, read-only, no temp files; ${entries} run-cache entries name only cached objects`);
