import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './rig.js';

/**
 * The built CLI's `repro` path (dist/mlbuild.js and the repro command chunk, with every chunk they
 * import statically) must not load the yaml package: a leaf change reads the lockfile from its
 * cache and the pipeline from its cache, so compiling yaml's 260 KB bundle chunk is pure start-up
 * cost. Modules that need yaml load it with a dynamic import on the path that parses YAML.
 */
const DIST = path.join(REPO_ROOT, 'dist');

/** Files reachable from `entry` through static imports only (`import ... from "./x.js"`, `import "./x.js"`). */
function staticClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s(?:[^;]*?\sfrom\s)?"(\.{1,2}\/[^"]+)";?$/gm)) todo.push(path.resolve(path.dirname(file), m[1]!));
  }
  return seen;
}

const isYamlChunk = (file: string): boolean => /^\/\/ node_modules\/yaml\//m.test(fs.readFileSync(file, 'utf8'));

describe('the built repro path', () => {
  it('loads no yaml chunk statically; the lockfile and pipeline parsers still reach it dynamically', () => {
    const main = path.join(DIST, 'mlbuild.js');
    const repro = /import\("(\.\/chunks\/repro-[A-Za-z0-9_-]+\.js)"\)/.exec(fs.readFileSync(main, 'utf8'));
    expect(repro, 'main.ts imports the repro command chunk dynamically').not.toBeNull();
    const closure = new Set([...staticClosure(main), ...staticClosure(path.join(DIST, repro![1]!))]);
    expect(closure.size).toBeGreaterThan(5); // the walk follows the chunks' imports
    expect([...closure].filter(isYamlChunk).map((f) => path.relative(DIST, f))).toEqual([]);
    // The yaml chunk exists and is what the slow paths import (so the test looks for the right thing).
    const all = fs.readdirSync(path.join(DIST, 'chunks')).filter((f) => f.endsWith('.js')).map((f) => path.join(DIST, 'chunks', f));
    const yamlChunks = all.filter(isYamlChunk);
    expect(yamlChunks.length).toBe(1);
    const lockfileYaml = all.find((f) => fs.readFileSync(f, 'utf8').includes('// src/state/lockfile-yaml.ts'));
    expect(lockfileYaml && staticClosure(lockfileYaml).has(yamlChunks[0]!)).toBe(true);
  });
});
