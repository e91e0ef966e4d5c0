/** `mlbuild dag`: the stage graph as ASCII, Mermaid, dot or JSON. */
import { withContext, printDiagnostics, type GlobalOptions } from '../context.js';
import { openWorkspace } from '../../run/workspace.js';
import { makePlan } from '../../graph/plan.js';
import { renderDag, type DagFormat } from '../../graph/render.js';
import { EXIT_OK, EXIT_USAGE } from '../../exit-codes.js';

export function dagCommand(g: GlobalOptions, a: { targets: string[]; format: DagFormat }): Promise<number> {
  return withContext(g, async ({ project, term }) => {
    const ws = await openWorkspace(project, [], false);
    if (!ws.ok) {
      printDiagnostics(term, ws.error);
      return EXIT_USAGE;
    }
    const plan = makePlan(ws.value.pipeline, { targets: a.targets, singleItem: false, downstream: false });
    if (!plan.ok) {
      printDiagnostics(term, plan.error);
      return EXIT_USAGE;
    }
    term.out(renderDag(ws.value.pipeline, plan.value, a.format));
    return EXIT_OK;
  });
}
