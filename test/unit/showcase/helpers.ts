// Shared by the showcase tests: repository paths, params composed like the engine does, and stage bundles.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The real datasets: CI points MLBUILD_DATA_DIR at them, a checkout finds them next to the repository. */
export const dataDir = process.env.MLBUILD_DATA_DIR ? resolve(repoRoot, process.env.MLBUILD_DATA_DIR) : resolve(repoRoot, '../shared/data');

const readYaml = (path: string): Record<string, unknown> => YAML.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

/**
 * params/base.yaml with its `defaults` option groups merged under their group keys, then group
 * choices (`strategy: 'rigorous'`, `model: 'cnn'` for the one-model form) and dotted overrides
 * (`'strategy.k': 3`) applied, as `-S` does.
 */
export function composeParams(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base = readYaml(join(repoRoot, 'params/base.yaml'));
  const out: Record<string, unknown> = {};
  const option = (group: string, name: string): Record<string, unknown> => readYaml(join(repoRoot, 'params', group, `${name}.yaml`));
  for (const entry of base.defaults as Record<string, string | string[]>[]) {
    for (const [group, def] of Object.entries(entry)) {
      const chosen = (overrides[group] as string | string[] | undefined) ?? def;
      // A list of options is merged under each option's name, as the engine does for `group: [a, b]`.
      out[group] = Array.isArray(chosen) ? Object.fromEntries(chosen.map((o) => [o, option(group, o)])) : option(group, chosen);
    }
  }
  for (const [k, v] of Object.entries(base)) if (k !== 'defaults') out[k] = v;
  for (const [k, v] of Object.entries(overrides)) {
    if (!k.includes('.') && typeof out[k] === 'object' && !Array.isArray(out[k])) continue; // a group choice, applied above
    const path = k.split('.');
    let cur = out as Record<string, unknown>;
    for (const p of path.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
    cur[path.at(-1)!] = v;
  }
  return out;
}

let bundleDir: string | undefined;

/** The stage bundles built by the pipeline's own bundle script (scripts/bundle-stages.mjs) into a temp dir, once; returns stages/<name>'s. */
export function stageBundle(name: string): string {
  if (bundleDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'mlbuild-stages-'));
    const r = spawnSync(process.execPath, ['scripts/bundle-stages.mjs', '--out', dir], { cwd: repoRoot, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bundle-stages failed: ${r.stderr}`);
    bundleDir = dir;
  }
  return join(bundleDir, `${name}.js`);
}

export interface StageRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runStage(bundle: string, args: string[], cwd: string, env: Record<string, string>): StageRun {
  const r = spawnSync(process.execPath, [bundle, ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

