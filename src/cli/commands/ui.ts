/**
 * `mlbuild ui [--port N] [--host H]`: serves the local dashboard (src/ui/) until interrupted.
 * Binds 127.0.0.1 unless --host says otherwise; prints the URL once listening. Port 0 picks a
 * free port (the printed URL names it).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCommand, type CommandResult, type GlobalOptions } from '../context.js';
import { ok, err } from '../../util/result.js';
import { EXIT_OK } from '../../exit-codes.js';

export interface UiArgs {
  readonly port: number;
  readonly host: string;
}

/** dist/ui beside the bundle: this module runs from dist/ or from a chunk in dist/chunks/. */
function staticDir(): string | undefined {
  for (const rel of ['./ui/', '../ui/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (fs.existsSync(`${dir}index.html`)) return dir;
  }
  return undefined;
}

export function uiCommand(g: GlobalOptions, a: UiArgs): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) {
      return err([{ severity: 'error', code: 'usage', message: `--port must be a whole number from 0 to 65535 (got ${a.port})`, hint: 'e.g. --port 8080, or --port 0 for any free port' }]);
    }
    const dir = staticDir();
    if (!dir) {
      return err([{ severity: 'error', code: 'not-built', message: 'the dashboard page is not built (dist/ui/index.html is missing)', hint: 'run `npm run build` in the mlbuild checkout' }]);
    }
    const { Dashboard } = await import('../../ui/dashboard.js');
    const { buildUiServer } = await import('../../ui/server.js');
    const loopback = a.host === '127.0.0.1' || a.host === 'localhost' || a.host === '::1';
    const app = await buildUiServer({ dashboard: new Dashboard(project), staticDir: dir, loopbackOnly: loopback });
    let address: string;
    try {
      address = await app.listen({ port: a.port, host: a.host });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      await app.close();
      return err([
        code === 'EADDRINUSE'
          ? { severity: 'error', code: 'cannot-listen', message: `port ${a.port} on ${a.host} is in use`, hint: 'choose another with --port (or --port 0 for any free port)' }
          : { severity: 'error', code: 'cannot-listen', message: `cannot listen on ${a.host}:${a.port}: ${e instanceof Error ? e.message : String(e)}`, hint: 'check --host names an address of this machine, or choose another --port (0 picks a free one)' },
      ]);
    }
    if (!loopback) term.err(`warning: serving on ${a.host}: anyone who can reach this address can read the project's pipeline, metrics and experiments\n`);
    term.out(`mlbuild ui: serving ${project.pipelineFile} at ${address.replace('://[::1]', '://localhost')}/ (Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await app.close();
    return ok(EXIT_OK);
  });
}
