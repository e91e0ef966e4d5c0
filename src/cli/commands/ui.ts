/**
 * `mlbuild ui [--port N] [--host H]`: serves the local dashboard (src/ui/) until interrupted.
 * Binds 127.0.0.1 unless --host says otherwise; prints the URL once listening. Port 0 picks a
 * free port (the printed URL names it).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withContext, type GlobalOptions } from '../context.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../exit-codes.js';

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
  return withContext(g, async ({ project, term }) => {
    if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) {
      term.err(`error: --port must be a whole number from 0 to 65535 (got ${a.port})\n`);
      return EXIT_USAGE;
    }
    const dir = staticDir();
    if (!dir) {
      term.err('error: the dashboard page is not built (dist/ui/index.html is missing)\n  hint: run `npm run build` in the mlbuild checkout\n');
      return EXIT_FAILED;
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
      term.err(
        code === 'EADDRINUSE'
          ? `error: port ${a.port} on ${a.host} is in use\n  hint: choose another with --port (or --port 0 for any free port)\n`
          : `error: cannot listen on ${a.host}:${a.port}: ${e instanceof Error ? e.message : String(e)}\n`,
      );
      await app.close();
      return EXIT_USAGE;
    }
    if (!loopback) term.err(`warning: serving on ${a.host}: anyone who can reach this address can read the project's pipeline, metrics and experiments\n`);
    term.out(`mlbuild ui: serving ${project.pipelineFile} at ${address.replace('://[::1]', '://localhost')}/ (Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await app.close();
    return EXIT_OK;
  });
}
