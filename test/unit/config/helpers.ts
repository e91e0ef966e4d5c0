/** Test rig for config/: writes a project into a temp dir and loads it. */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadPipeline } from '../../../src/config/load.js';
import type { LoadedPipeline } from '../../../src/config/load.js';
import { formatDiagnostics } from '../../../src/report/diagnostic.js';
import type { Diagnostic } from '../../../src/report/diagnostic.js';
import type { Result } from '../../../src/util/result.js';

export async function project(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'mlbuild-config-'));
  for (const [rel, text] of Object.entries(files)) {
    const abs = path.join(root, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    await writeFile(abs, text);
  }
  return root;
}

export const read = (root: string, rel: string): Promise<string> => readFile(path.join(root, rel), 'utf8');

export function load(
  root: string,
  opts: { overrides?: string[]; writeBack?: boolean; file?: string } = {},
): Promise<Result<LoadedPipeline, Diagnostic[]>> {
  return loadPipeline({
    root,
    pipelineFile: path.join(root, opts.file ?? 'pipeline.yaml'),
    overrides: opts.overrides ?? [],
    writeBack: opts.writeBack ?? false,
    displayCwd: root,
  });
}

/** Loads and expects success. */
export async function loadOk(root: string, opts: Parameters<typeof load>[1] = {}): Promise<LoadedPipeline> {
  const r = await load(root, opts);
  if (!r.ok) throw new Error(`expected success, got:\n${formatDiagnostics(r.error)}`);
  return r.value;
}

/** Loads and returns the formatted diagnostics (expects failure). */
export async function loadErr(root: string, opts: Parameters<typeof load>[1] = {}): Promise<string> {
  const r = await load(root, opts);
  if (r.ok) throw new Error('expected errors, got success');
  return formatDiagnostics(r.error);
}
