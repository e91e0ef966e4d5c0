/**
 * Argument parsing of `mlbuild model ...` and `mlbuild serve`, as yargs command modules, so that
 * main.ts registers them with one line each. The command bodies are imported lazily.
 */
import type { Argv, CommandModule } from 'yargs';
import type { GlobalOptions } from './context.js';

type Run = (p: () => Promise<number>) => void;

export function modelCommand(globals: GlobalOptions, run: Run): CommandModule {
  const m = () => import('./commands/model.js');
  return {
    command: 'model',
    describe: 'the model registry, in git tags (GTO conventions): register, assign, list, show, get',
    builder: (y: Argv) =>
      y
        .command(
          'register <name>',
          'register the model directory recorded in mlbuild.lock at a commit as a new version (tag NAME@vX.Y.Z)',
          (yy) =>
            yy
              // `--version` names the model version here (as in GTO), not mlbuild's own.
              .version(false)
              .positional('name', { type: 'string', demandOption: true })
              .option('version', { type: 'string', describe: 'the version, SemVer with a leading v (default: bump the latest)' })
              .option('bump', { type: 'string', choices: ['major', 'minor', 'patch'], describe: 'which part to bump (default patch; v0.0.1 first)' })
              .option('path', { type: 'string', describe: 'the model directory, an out in mlbuild.lock (default models/selected)' })
              .option('rev', { type: 'string', describe: 'the commit (default HEAD)' })
              .option('json', { type: 'boolean', default: false }),
          (a) => run(() => m().then((c) => c.modelRegisterCommand(globals, { name: a.name!, version: a.version, bump: a.bump, path: a.path, rev: a.rev, json: a.json }))),
        )
        .command(
          'assign <name> <ver>',
          'assign a stage to a version (tag NAME#STAGE#N); assigning an older version again is a rollback',
          (yy) =>
            yy
              .positional('name', { type: 'string', demandOption: true })
              .positional('ver', { type: 'string', demandOption: true, describe: 'the version, e.g. v1.2.0' })
              .option('stage', { type: 'string', demandOption: true, describe: 'e.g. staging or prod' })
              .option('force', { type: 'boolean', default: false, describe: "override the stage's gate (the history records it)" })
              .option('json', { type: 'boolean', default: false }),
          (a) => run(() => m().then((c) => c.modelAssignCommand(globals, { name: a.name!, version: a.ver!, stage: a.stage, force: a.force, json: a.json }))),
        )
        .command(
          'list',
          'registered models, their latest version and stages',
          (yy) => yy.option('json', { type: 'boolean', default: false }),
          (a) => run(() => m().then((c) => c.modelListCommand(globals, { json: a.json }))),
        )
        .command(
          'show <name>',
          'versions, stages and their history, with the metrics, params and data hashes recorded at each version',
          (yy) => yy.positional('name', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false }),
          (a) => run(() => m().then((c) => c.modelShowCommand(globals, { name: a.name!, json: a.json }))),
        )
        .command(
          'get <ref>',
          "restore a version's model directory (NAME@vX.Y.Z or NAME#STAGE) from the cache or a remote, hash-checked",
          (yy) =>
            yy
              .positional('ref', { type: 'string', demandOption: true })
              .option('out', { alias: 'o', type: 'string', describe: 'target folder (default NAME-VERSION)' })
              .option('remote', { alias: 'r', type: 'string', describe: 'fetch from this remote (default: the local cache, else the default remote)' })
              .option('force', { type: 'boolean', default: false, describe: 'replace a non-empty target folder' })
              .option('json', { type: 'boolean', default: false }),
          (a) => run(() => m().then((c) => c.modelGetCommand(globals, { ref: a.ref!, out: a.out, remote: a.remote, force: a.force, json: a.json }))),
        )
        .demandCommand(1, 'name a model subcommand: register, assign, list, show or get'),
    handler: () => {},
  };
}

export function serveCommand(globals: GlobalOptions, run: Run): CommandModule {
  return {
    command: 'serve <model>',
    describe: 'serve a model over HTTP: NAME@vX.Y.Z, NAME#STAGE (follows assignments live) or a model directory',
    builder: (y: Argv) =>
      y
        .positional('model', { type: 'string', demandOption: true })
        .option('port', { type: 'number', default: 8080, describe: 'TCP port (0: any free port, printed)' })
        .option('host', { type: 'string', default: '127.0.0.1', describe: 'interface to bind (default loopback only)' })
        .option('canary', { type: 'string', describe: 'send a share of traffic to another version: NAME@vX.Y.Z:10%' })
        .option('max-batch', { type: 'number', default: 256, describe: 'texts per request at most' })
        .option('max-body-bytes', { type: 'number', default: 1 << 20, describe: 'larger request bodies get 413' })
        .option('max-queue', { type: 'number', default: 1024, describe: 'requests in flight at most; more get 503' })
        .option('log-dir', { type: 'string', default: '.mlcache/serve-logs', describe: 'request log folder (JSON lines)' })
        .option('log-max-bytes', { type: 'number', default: 64 * 1024 * 1024, describe: 'rotate a request log file past this size' })
        .option('log-text', { type: 'boolean', default: false, describe: 'also log the raw input texts (off: privacy by default)' })
        .option('log', { type: 'boolean', default: true, describe: 'write the request log (--no-log: none)' }),
    handler: (a) =>
      run(() =>
        import('./commands/serve.js').then((c) =>
          c.serveCommand(globals, {
            model: a.model as string,
            port: a.port as number,
            host: a.host as string,
            canary: a.canary as string | undefined,
            maxBatch: a.maxBatch as number,
            maxBodyBytes: a.maxBodyBytes as number,
            maxQueue: a.maxQueue as number,
            logDir: a.logDir as string,
            logMaxBytes: a.logMaxBytes as number,
            logText: a.logText as boolean,
            log: a.log as boolean,
          }),
        ),
      ),
  };
}
