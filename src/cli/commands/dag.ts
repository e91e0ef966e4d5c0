/** `mlbuild dag`: the stage graph, with the `.dvc`-tracked data feeding it, as ASCII, Mermaid, dot or JSON. */
import { runCommand, type CommandResult, type GlobalOptions } from '../context.js';
import { ok, err } from '../../util/result.js';
import { openPlanned } from '../../run/workspace.js';
import { dataNodes, renderDag, type DagFormat } from '../../graph/render.js';
import { DataSources } from '../../data/sources.js';
import { EXIT_OK } from '../../exit-codes.js';

export function dagCommand(g: GlobalOptions, a: { targets: string[]; format: DagFormat }): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const opened = await openPlanned(project, a.targets);
    if (!opened.ok) return err(opened.error);
    const sources = new DataSources(project.root, project.displayCwd);
    const pointers = await sources.all();
    if (sources.diags.length > 0) return err(sources.diags);
    const { pipeline } = opened.value.ws;
    term.out(renderDag(pipeline, opened.value.plan, a.format, dataNodes(pipeline, opened.value.plan, pointers, a.targets.length === 0)));
    return ok(EXIT_OK);
  });
}
