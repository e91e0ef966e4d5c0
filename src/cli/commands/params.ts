/** `mlbuild params show`: the resolved params tree (after `-S` overrides, which it does not write). */
import { stringify } from 'yaml';
import { withContext, printDiagnostics, type GlobalOptions } from '../context.js';
import { loadParams } from '../../config/params.js';
import { EXIT_OK, EXIT_USAGE } from '../../exit-codes.js';

export function paramsShowCommand(g: GlobalOptions, a: { json: boolean; overrides: string[] }): Promise<number> {
  return withContext(g, async ({ project, term }) => {
    const params = await loadParams(project.root, a.overrides, { writeBack: false, displayCwd: project.displayCwd });
    if (!params.ok) {
      printDiagnostics(term, params.error);
      return EXIT_USAGE;
    }
    term.out(a.json ? JSON.stringify(params.value.tree, null, 2) + '\n' : stringify(params.value.tree));
    return EXIT_OK;
  });
}
