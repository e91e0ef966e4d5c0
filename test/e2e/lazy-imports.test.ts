/**
 * What a leaf-change `repro` loads: the pointer walker (fast-glob, bundled) only when a walk
 * happens, no params-file parsers (json5, smol-toml) for comparing param values, and no yaml
 * when the pipeline and lockfile caches answer. A module hook (`--import`, Node's `module.register`) records every module the CLI
 * resolves; the bundle keeps esbuild's `// node_modules/<pkg>/...` markers, so a loaded chunk's
 * packages can be told from its text.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useProjects, type Project } from './rig.js';

const projects = useProjects();
let hookDir: string;
let log: string;

beforeAll(() => {
  hookDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazy-imports-'));
  log = path.join(hookDir, 'loaded.txt');
  // The hook runs on the loader thread: it appends every resolved file URL to the log.
  fs.writeFileSync(
    path.join(hookDir, 'hooks.mjs'),
    `import fs from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.startsWith('file:')) fs.appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}
`,
  );
  fs.writeFileSync(path.join(hookDir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(hookDir, 'hooks.mjs')).href)});\n`);
});
afterAll(() => fs.rmSync(hookDir, { recursive: true, force: true }));

/** Packages bundled into the dist files the last command loaded. */
function loadedPackages(): Set<string> {
  const pkgs = new Set<string>();
  const files = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  for (const url of new Set(files)) {
    const file = fileURLToPath(url);
    if (!file.includes(`${path.sep}dist${path.sep}`)) continue;
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/^\/\/ node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)) pkgs.add(m[1]!);
  }
  fs.rmSync(log, { force: true });
  return pkgs;
}

const PIPELINE = `stages:
  a:
    cmd: cp in/a.txt a.out
    deps: [in]
    params: [{custom.toml: [lr]}]
    outs: [a.out]
`;

async function run(p: Project, args: string[]): Promise<Set<string>> {
  const r = await p.run(args, { env: { NODE_OPTIONS: `--import=${pathToFileURL(path.join(hookDir, 'register.mjs')).href}`, MLBUILD_RACY_WINDOW_MS: '0' } });
  expect(r.code, r.stderr).toBe(0);
  return loadedPackages();
}

describe('lazy imports', () => {
  it('a leaf-change repro loads neither yaml, the pointer walker nor the params-file parsers; a pointer listing outside git does load the walker', async () => {
    const p = projects.make({ 'pipeline.yaml': PIPELINE, 'custom.toml': 'lr = 0.1\n', 'in/a.txt': 'a1\n' });
    await run(p, ['repro']);
    await run(p, ['repro']);
    p.write({ 'in/a.txt': 'a2\n' });
    const leaf = await run(p, ['repro']);
    // The hook saw the bundle (xxhash-wasm hashes the changed input): the checks below are not vacuous.
    expect(leaf.has('xxhash-wasm')).toBe(true);
    expect(leaf.has('fast-glob')).toBe(false);
    // The pipeline and the lockfile come from their JSON caches: no YAML is parsed (state/lockfile-yaml.ts).
    expect(leaf.has('yaml')).toBe(false);
    // Comparing param values needs no params-file parsers (config/param-keys.ts).
    expect(leaf.has('json5')).toBe(false);
    expect(leaf.has('smol-toml')).toBe(false);
    expect(p.read('a.out')).toBe('a2\n');
    // A changed TOML param is still seen (the full load parses it then).
    p.write({ 'custom.toml': 'lr = 0.2\n' });
    const changed = await p.repro([], { env: { MLBUILD_RACY_WINDOW_MS: '0' } });
    expect(changed.outcomes).toEqual({ a: 'succeeded' });
    expect(changed.doc.stages[0]).toMatchObject({ reasons: [expect.stringContaining('lr')] });
    // Outside git, `dag` lists the pointers by walking: the walker is imported then, and finds them.
    fs.rmSync(p.path('.git'), { recursive: true, force: true });
    p.write({ 'sub/data.csv.dvc': 'outs:\n- md5: 1cb251ec0d568de6a929b520c4aed8d1\n  size: 4\n  hash: md5\n  path: data.csv\n' });
    const r = await p.run(['dag'], { env: { NODE_OPTIONS: `--import=${pathToFileURL(path.join(hookDir, 'register.mjs')).href}` } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('sub/data.csv');
    expect(loadedPackages().has('fast-glob')).toBe(true);
  });
});
