/**
 * The Project: where a pipeline lives and where mlbuild keeps its state. The root is the folder of
 * the pipeline file; `.mlcache/` and `mlbuild.lock` sit beside it. Found from the cwd upwards, as
 * git and DVC find their roots. Without -f a folder's pipeline is `pipeline.yaml`, else `dvc.yaml`
 * (a DVC project runs unchanged, no flag).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from './report/diagnostic.js';
import { type Result, ok, err } from './util/result.js';

export interface Project {
  readonly root: string;
  readonly pipelineFile: string;
  readonly lockPath: string;
  readonly mlcacheDir: string;
  /**
   * The `.mlcache/` whose objects and run-cache this project uses, when not its own: an experiment's
   * worktree shares the main project's, so a stage built once is restored everywhere.
   */
  readonly cacheDir?: string;
  /** Folder paths are shown relative to. */
  readonly displayCwd: string;
}

export const LOCKFILE_NAME = 'mlbuild.lock';
export const DEFAULT_PIPELINE = 'pipeline.yaml';
/** DVC's pipeline file: the pipeline when a folder has no pipeline.yaml, so a DVC project needs no flag. */
export const DVC_PIPELINE = 'dvc.yaml';

/** The pipeline file of `dir` without -f: pipeline.yaml, else dvc.yaml, else none. */
export function pipelineIn(dir: string): string | undefined {
  for (const name of [DEFAULT_PIPELINE, DVC_PIPELINE]) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function findProject(cwd: string, file: string | undefined): Result<Project, Diagnostic[]> {
  let pipelineFile: string | undefined;
  if (file) {
    pipelineFile = path.resolve(cwd, file);
    if (!fs.existsSync(pipelineFile)) {
      return err([{ severity: 'error', code: 'no-pipeline', message: `pipeline file '${file}' does not exist`, hint: 'check the path given to -f/--file' }]);
    }
  } else {
    for (let dir = cwd; ; dir = path.dirname(dir)) {
      pipelineFile = pipelineIn(dir);
      if (pipelineFile) break;
      if (fs.existsSync(path.join(dir, '.git')) || path.dirname(dir) === dir) break;
    }
    if (!pipelineFile) {
      return err([
        {
          severity: 'error',
          code: 'no-pipeline',
          message: `no ${DEFAULT_PIPELINE} or ${DVC_PIPELINE} in ${cwd} or its parent folders`,
          hint: `create ${DEFAULT_PIPELINE}, or name the pipeline file with -f (e.g. \`mlbuild -f dvc.yaml repro\`)`,
        },
      ]);
    }
  }
  const root = path.dirname(pipelineFile);
  return ok({
    root,
    pipelineFile,
    lockPath: path.join(root, LOCKFILE_NAME),
    mlcacheDir: path.join(root, '.mlcache'),
    displayCwd: cwd,
  });
}

/** The `.mlcache/` holding the project's cache objects and run-cache. */
export const cacheDirOf = (p: Project): string => p.cacheDir ?? p.mlcacheDir;

/** A path as shown to the user: relative to the cwd when that is shorter. */
export function displayPath(project: Project, abs: string): string {
  const rel = path.relative(project.displayCwd, abs);
  return rel === '' ? '.' : rel.startsWith('..' + path.sep + '..') ? abs : rel;
}
