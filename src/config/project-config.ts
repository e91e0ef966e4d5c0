/**
 * The project's own settings (not the pipeline): `.mlbuild/config.yaml`, committed and shared by the
 * team, and `.mlbuild/config.local.yaml`, git-ignored, for what is personal to one machine (a
 * credentials profile, a mount point). The local file wins key by key, as DVC's config.local does.
 *
 *   core:   { remote: NAME, executor: local|slurm, jobs: N, write_dvc_lock: true|false }
 *   remote: { NAME: { url: s3://bucket/prefix | /mnt/cache | file:///mnt/cache, endpoint_url, region,
 *                     profile, jobs } }
 *   slurm:  { partition, account, qos, time, extra: [flag...], poll_interval }
 *
 * Credentials are never read from or written to these files: the AWS SDK takes them from the
 * environment and the usual profile files. Every error is a located diagnostic (file:line, hint).
 *
 * Most projects have neither file: then nothing is parsed and the YAML parser is never loaded
 * (`repro` reads the config on every run; project-config-file.ts does the parsing).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Diagnostic } from '../report/diagnostic.js';
import { atomicWriteFile } from '../util/atomic-write.js';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';

export const CONFIG_DIR = '.mlbuild';
export const CONFIG_FILE = 'config.yaml';
export const LOCAL_CONFIG_FILE = 'config.local.yaml';

export interface RemoteConfig {
  readonly name: string;
  /** As written: `s3://bucket/prefix`, an absolute or project-relative path, or `file://...`. */
  readonly url: string;
  readonly endpointUrl?: string;
  readonly region?: string;
  readonly profile?: string;
  /** Parallel transfers. */
  readonly jobs?: number;
  /** `dvc`: a DVC remote (from `.dvc/config`), objects named by md5 in DVC's layout (remote/dvc-objects.ts). */
  readonly layout?: 'dvc';
}

export interface SlurmConfig {
  readonly partition?: string;
  readonly account?: string;
  readonly qos?: string;
  /** Default `--time` in seconds when a stage declares no `timeout`. */
  readonly timeSeconds?: number;
  /** Further sbatch flags, verbatim (e.g. `--constraint=a100`). */
  readonly extra: readonly string[];
  /** Seconds between two `squeue` polls. */
  readonly pollIntervalSeconds?: number;
}

export interface ProjectConfig {
  /** `write_dvc_lock`: repro also keeps `dvc.lock` written (state/dvc-lock-write.ts), for DVC users on the same branch. */
  readonly core: { readonly remote?: string; readonly executor?: 'local' | 'slurm'; readonly jobs?: number; readonly writeDvcLock?: boolean };
  readonly remotes: ReadonlyMap<string, RemoteConfig>;
  readonly slurm: SlurmConfig;
  /** Absolute paths of the files that were read (zero, one or two). */
  readonly files: readonly string[];
}

export const EMPTY_CONFIG: ProjectConfig = { core: {}, remotes: new Map(), slurm: { extra: [] }, files: [] };

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What the files say so far, filled file by file (the local one last, so it wins). */
export interface ConfigState {
  readonly core: Mutable<ProjectConfig['core']>;
  readonly remotes: Map<string, Mutable<RemoteConfig>>;
  readonly slurm: Mutable<SlurmConfig>;
}

/** Reads and validates both files; a missing file is simply empty. */
export async function readProjectConfig(root: string, displayCwd: string): Promise<Result<ProjectConfig, Diagnostic[]>> {
  const diags: Diagnostic[] = [];
  const state: ConfigState = { core: {}, remotes: new Map(), slurm: { extra: [] } };
  const files: string[] = [];
  for (const name of [CONFIG_FILE, LOCAL_CONFIG_FILE]) {
    const abs = path.join(root, CONFIG_DIR, name);
    const display = path.relative(displayCwd, abs) || abs;
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      diags.push({ severity: 'error', code: 'unreadable-file', message: `cannot read ${display}: ${String(e)}`, hint: 'check the file permissions' });
      continue;
    }
    files.push(abs);
    const { applyConfigText } = await import('./project-config-file.js');
    applyConfigText(abs, display, text, diags, state);
  }
  const { core, remotes, slurm } = state;
  if (core.remote !== undefined && !remotes.has(core.remote)) {
    diags.push({
      severity: 'error',
      code: 'unknown-remote',
      message: `core.remote names '${core.remote}', which no remote section defines`,
      hint: `add it with 'mlbuild remote add ${core.remote} URL', or set another default with 'mlbuild remote default NAME'`,
    });
  }
  if (diags.some((d) => d.severity === 'error')) return err(diags);
  return ok({ core, remotes, slurm, files });
}

/**
 * Sets (or, with `value === undefined`, deletes) one key in the shared or local config file,
 * keeping the file's comments and layout; creates the file and `.mlbuild/` when needed.
 */
export async function setConfigValue(root: string, keyPath: readonly string[], value: string | number | undefined, opts: { local: boolean }): Promise<string> {
  const dir = path.join(root, CONFIG_DIR);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const abs = path.join(dir, opts.local ? LOCAL_CONFIG_FILE : CONFIG_FILE);
  // The local file holds what must not be shared: keep it out of git from its first write.
  const ignore = path.join(dir, '.gitignore');
  if (opts.local && !existsSync(ignore)) await atomicWriteFile(ignore, `/${LOCAL_CONFIG_FILE}\n`);
  let text = '';
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // Through our own module: a dynamic import('yaml') in the bundle lacks the package's named exports.
  const { editConfigText } = await import('./project-config-file.js');
  await atomicWriteFile(abs, editConfigText(text, keyPath, value));
  return abs;
}
