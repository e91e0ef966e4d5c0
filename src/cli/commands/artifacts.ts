/** `mlbuild artifacts [--json|--md]`: the artifacts the pipeline file declares (top-level `artifacts:`). */
import path from 'node:path';
import { runCommand, type CommandResult, type GlobalOptions } from '../context.js';
import { ok, err } from '../../util/result.js';
import { openWorkspace } from '../../run/workspace.js';
import { artifactRows, renderArtifacts } from '../../artifacts/list.js';
import type { Format } from '../../metrics/render.js';
import { EXIT_OK } from '../../exit-codes.js';

export function artifactsCommand(g: GlobalOptions, a: { format: Format }): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const ws = await openWorkspace(project, [], false);
    if (!ws.ok) return err(ws.error);
    const rows = artifactRows(ws.value.loaded.topLevel.artifacts, ws.value.pipeline.stages.values());
    if (rows.length === 0 && a.format !== 'json') {
      term.err(`no artifacts declared: add artifacts: {name: {path: ..., type: model}} to ${path.basename(project.pipelineFile)}\n`);
      return ok(EXIT_OK);
    }
    term.out(renderArtifacts(rows, a.format));
    return ok(EXIT_OK);
  });
}
