/** `mlbuild dag`: the stage graph, with the `.dvc`-tracked data feeding it, as ASCII, Mermaid, dot or JSON. */
import { withContext, printDiagnostics, type GlobalOptions } from '../context.js';
import { openPlanned } from '../../run/workspace.js';
import { dataNodes, renderDag, type DagFormat } from '../../graph/render.js';
import { DataSources } from '../../data/sources.js';
import { EXIT_OK, EXIT_USAGE } from '../../exit-codes.js';

export function dagCommand(g: GlobalOptions, a: { targets: string[]; format: DagFormat }): Promise<number> {
  return withContext(g, async ({ project, term }) => {
    const opened = await openPlanned(project, a.targets);
    if (!opened.ok) {
      printDiagnostics(term, opened.error);
      return EXIT_USAGE;
    }
    const sources = new DataSources(project.root, project.displayCwd);
    const pointers = sources.all();
    if (sources.diags.length > 0) {
      printDiagnostics(term, sources.diags);
      return EXIT_USAGE;
    }
    const { pipeline } = opened.value.ws;
    term.out(renderDag(pipeline, opened.value.plan, a.format, dataNodes(pipeline, opened.value.plan, pointers, a.targets.length === 0)));
    return EXIT_OK;
  });
}
