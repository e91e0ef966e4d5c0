/** `mlbuild params show`: the resolved params tree (after `-S` overrides, which it does not write). */
import { stringify } from 'yaml';
import { runCommand, type CommandResult, type GlobalOptions } from '../context.js';
import { ok, err } from '../../util/result.js';
import { loadParams } from '../../config/params.js';
import { EXIT_OK } from '../../exit-codes.js';

export function paramsShowCommand(g: GlobalOptions, a: { json: boolean; overrides: string[] }): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const params = await loadParams(project.root, a.overrides, { writeBack: false, displayCwd: project.displayCwd });
    if (!params.ok) return err(params.error);
    term.out(a.json ? JSON.stringify(params.value.tree, null, 2) + '\n' : stringify(params.value.tree));
    return ok(EXIT_OK);
  });
}
