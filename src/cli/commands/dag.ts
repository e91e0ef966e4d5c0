/** `mlbuild dag`: the stage graph as ASCII, Mermaid, dot or JSON. */
import { withContext, printDiagnostics, type GlobalOptions } from '../context.js';
import { openPlanned } from '../../run/workspace.js';
import { renderDag, type DagFormat } from '../../graph/render.js';
import { EXIT_OK, EXIT_USAGE } from '../../exit-codes.js';

export function dagCommand(g: GlobalOptions, a: { targets: string[]; format: DagFormat }): Promise<number> {
  return withContext(g, async ({ project, term }) => {
    const opened = await openPlanned(project, a.targets);
    if (!opened.ok) {
      printDiagnostics(term, opened.error);
      return EXIT_USAGE;
    }
    term.out(renderDag(opened.value.ws.pipeline, opened.value.plan, a.format));
    return EXIT_OK;
  });
}
