/**
 * argv -> command dispatch and exit codes; nothing else. Command modules are imported lazily so
 * `mlbuild status` never loads what `repro` needs, and yargs only when the fast path declines.
 */
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { parseFast, splitGlobalFile } from './fast-args.js';
import { EXIT_USAGE } from '../exit-codes.js';
import type { GlobalOptions } from './context.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { modelCommand, serveCommand } from './lifecycle-args.js';
import { takePrechecked } from './prechecked.js';

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const setParam = (y: Argv) =>
  y.option('set-param', { alias: 'S', type: 'string', array: true, default: [] as string[], describe: 'override a param: group=option or key=value (YAML)' });

const transferOptions = (y: Argv, runCacheDefault = true) =>
  y
    .positional('targets', { type: 'string', array: true, default: [] as string[], describe: 'stage or stage-group names (default: all)' })
    .option('remote', { alias: 'r', type: 'string', describe: 'remote name (default: core.remote, or the only one)' })
    .option('jobs', { alias: 'j', type: 'number', describe: 'parallel transfers (default: remote.NAME.jobs, else 16 for S3, 4 for a directory)' })
    .option('run-cache', { type: 'boolean', default: runCacheDefault, describe: `also transfer run-cache entries (--${runCacheDefault ? 'no-' : ''}run-cache to ${runCacheDefault ? 'skip' : 'include'})` })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON summary' });

const transferArgs = (a: { targets?: unknown; remote?: string; jobs?: number; allCommits?: boolean; runCache: boolean; json: boolean }, push: boolean) => ({
  targets: (a.targets as string[] | undefined) ?? [],
  remote: a.remote,
  jobs: a.jobs,
  allCommits: push && a.allCommits === true,
  runCache: a.runCache,
  json: a.json,
});

/**
 * The no-op shortcut: the one-file build of it beside the bundle (scripts/build.mjs), so a no-op
 * loads few modules; from source (tests), the module itself.
 */
async function upToDate(): Promise<typeof import('../run/up-to-date.js')> {
  const bundled = new URL('./up-to-date.js', import.meta.url);
  if (bundled.pathname.endsWith('/dist/up-to-date.js')) return (await import(bundled.href)) as typeof import('../run/up-to-date.js');
  return import('../run/up-to-date.js');
}

export async function main(argv: readonly string[]): Promise<number> {
  const { file, rest } = splitGlobalFile(argv);
  const globals: GlobalOptions = { file, cwd: process.cwd() };
  const fast = parseFast(rest);
  // A no-op is answered from the fresh snapshot before the run machinery is even loaded; when the
  // startup snapshot's entry (snapshot-entry.ts) already checked and could not answer, its result.
  const pre = takePrechecked(argv);
  if (fast?.command === 'repro') {
    const quick = pre ? { answered: false as const, primed: pre.primed } : await (await upToDate()).reproUpToDate(globals, fast.args);
    return quick.answered ? quick.code : (await import('./commands/repro.js')).reproCommand(globals, fast.args, quick.primed);
  }
  if (fast?.command === 'status') {
    const quick = pre ? { answered: false as const, primed: pre.primed } : await (await upToDate()).statusUpToDate(globals, fast.args);
    return quick.answered ? quick.code : (await import('./commands/status.js')).statusCommand(globals, fast.args, quick.primed);
  }
  const { default: yargs } = await import('yargs');
  let code = 0;
  let failed = false;
  // yargs may call a handler before strict validation fails; defer the action until parsing is done.
  let action: (() => Promise<number>) | undefined;
  const run = (p: () => Promise<number>): void => {
    action = p;
  };

  const parser = yargs(rest)
    .scriptName('mlbuild')
    .usage('$0 [-f pipeline.yaml] <command> [options]')
    .command(
      'repro [targets..]',
      'reproduce the stages whose inputs changed',
      (y) =>
        setParam(y)
          .positional('targets', { type: 'string', array: true, default: [] as string[], describe: 'stage or stage-group names' })
          .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'run the targets even if up to date' })
          .option('single-item', { alias: 's', type: 'boolean', default: false, describe: 'only the targets, not their upstream' })
          .option('downstream', { type: 'boolean', default: false, describe: 'the targets and every stage downstream of them' })
          .option('dry', { type: 'boolean', default: false, describe: 'print what would run and why; run nothing' })
          .option('keep-going', { alias: 'k', type: 'boolean', default: false, describe: 'after a failure, go on with independent stages' })
          .option('explain', { type: 'boolean', default: false, describe: 'also print why each stage did not run' })
          .option('jobs', { alias: 'j', type: 'number', describe: 'parallel CPU job slots (default: CPU count); with --executor slurm, jobs in flight (default 100)' })
          .option('gpus', { type: 'string', describe: 'GPUs to schedule on: a count (2) or a list (0,2); default: nvidia-smi' })
          .option('gpu-slots', { type: 'number', default: 1, describe: 'stages that may share one GPU' })
          .option('run-cache', { type: 'boolean', default: true, describe: 'restore from the run-cache (--no-run-cache to disable)' })
          .option('executor', { type: 'string', choices: ['local', 'slurm'], describe: 'where stages run (default: core.executor in .mlbuild/config.yaml, else local)' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON document describing the run' })
          .option('pull', { type: 'boolean', default: false, describe: 'fetch outs (or run-cache entries) from the default remote instead of rerunning' }),
      (a) =>
        run(() =>
          import('./commands/repro.js').then((m) =>
            m.reproCommand(globals, {
              targets: a.targets as string[],
              force: a.force,
              singleItem: a.singleItem,
              downstream: a.downstream,
              dry: a.dry,
              keepGoing: a.keepGoing,
              explain: a.explain,
              jobs: a.jobs,
              gpus: a.gpus,
              gpuSlots: a.gpuSlots,
              runCache: a.runCache,
              executor: a.executor as 'local' | 'slurm' | undefined,
              json: a.json,
              overrides: a.setParam,
              pull: a.pull,
            }),
          ),
        ),
    )
    .command(
      'status [targets..]',
      'show stale stages and why',
      (y) =>
        y
          .positional('targets', { type: 'string', array: true, default: [] as string[] })
          .option('json', { type: 'boolean', default: false })
          .option('check', { type: 'boolean', default: false, describe: 'exit 1 when any stage is stale (for CI)' })
          .option('allow-missing', { type: 'boolean', default: false, describe: 'missing outs and data are not stale (a fresh clone in CI); the lockfile must still agree with itself' })
          .option('cloud', { alias: 'c', type: 'boolean', default: false, describe: 'compare the local cache with a remote instead' })
          .option('remote', { alias: 'r', type: 'string', describe: 'with --cloud: the remote (default: core.remote)' }),
      (a) =>
        run(() =>
          a.cloud
            ? import('./commands/transfer.js').then((m) => m.cloudStatusCommand(globals, { targets: a.targets as string[], json: a.json, check: a.check, remote: a.remote, jobs: undefined }))
            : import('./commands/status.js').then((m) => m.statusCommand(globals, { targets: a.targets as string[], json: a.json, check: a.check, allowMissing: a.allowMissing })),
        ),
    )
    .command(
      'dag [targets..]',
      'show the stage graph',
      (y) =>
        y
          .positional('targets', { type: 'string', array: true, default: [] as string[] })
          // No defaults: yargs counts a defaulted option as given, which would trip the conflicts.
          .option('mermaid', { type: 'boolean', describe: 'Mermaid flowchart' })
          .option('dot', { type: 'boolean', describe: 'Graphviz dot' })
          .option('json', { type: 'boolean', describe: 'nodes and edges as JSON' })
          .conflicts('mermaid', ['dot', 'json'])
          .conflicts('dot', 'json'),
      (a) =>
        run(() =>
          import('./commands/dag.js').then((m) =>
            m.dagCommand(globals, { targets: a.targets as string[], format: a.mermaid ? 'mermaid' : a.dot ? 'dot' : a.json ? 'json' : 'ascii' }),
          ),
        ),
    )
    .command(
      'gc',
      'remove cache objects that no kept lockfile uses',
      (y) =>
        y
          .option('workspace', { alias: 'w', type: 'boolean', default: true, describe: "keep what the workspace's lockfile uses (always on)" })
          .option('all-commits', { alias: 'a', type: 'boolean', default: false, describe: "also keep what every git commit's lockfile uses" })
          .option('dry', { type: 'boolean', default: false, describe: 'only say what would be removed' }),
      (a) => run(() => import('./commands/cache.js').then((m) => m.gcCommand(globals, { workspace: a.workspace, allCommits: a.allCommits, dry: a.dry }))),
    )
    .command(
      'add <paths..>',
      'track raw data (files or folders) with DVC-compatible .dvc pointers, in the cache and on remotes',
      (y) => y.positional('paths', { type: 'string', array: true }),
      (a) => run(() => import('./commands/add.js').then((m) => m.addCommand(globals, { paths: (a.paths as string[] | undefined) ?? [] }))),
    )
    .command(
      'checkout [targets..]',
      'restore the outs recorded in the lockfile from the cache',
      (y) => y.positional('targets', { type: 'string', array: true, default: [] as string[] }),
      (a) => run(() => import('./commands/cache.js').then((m) => m.checkoutCommand(globals, { targets: a.targets as string[] }))),
    )
    .command('cache', 'check the local cache (or a remote) for corrupt objects', (y) =>
      y
        .command(
          'verify',
          'hash every cache object and name those whose content does not match their name',
          (v) =>
            v
              .option('repair', { type: 'boolean', default: false, describe: 'quarantine corrupt local objects; with -r, replace corrupt remote objects by verified local copies' })
              .option('remote', { alias: 'r', type: 'string', describe: 'check this remote instead of the local cache' })
              .option('jobs', { alias: 'j', type: 'number', describe: 'parallel downloads when checking a remote' }),
          (a) => run(() => import('./commands/cache.js').then((m) => m.cacheVerifyCommand(globals, { repair: a.repair, remote: a.remote, jobs: a.jobs }))),
        )
        .demandCommand(1, 'name a cache command: verify'),
    )
    .command('params', 'inspect params', (y) =>
      y
        .command(
          'show',
          'print the resolved params tree',
          (yy) => setParam(yy).option('json', { type: 'boolean', default: false }),
          (a) => run(() => import('./commands/params.js').then((m) => m.paramsShowCommand(globals, { json: a.json, overrides: a.setParam }))),
        )
        .command(
          'diff [a] [b]',
          'compare the resolved params of two revisions (default: HEAD and the workspace)',
          (yy) =>
            yy
              .positional('a', { type: 'string', describe: 'git revision (default: HEAD)' })
              .positional('b', { type: 'string', describe: 'git revision (default: the workspace)' })
              .option('all', { type: 'boolean', default: false, describe: 'also list unchanged params' })
              .option('json', { type: 'boolean', describe: 'JSON: {key: {old, new, diff}}' })
              .option('md', { type: 'boolean', describe: 'a Markdown pipe table' })
              .conflicts('json', 'md'),
          (a) =>
            run(() =>
              import('./commands/metrics.js').then((m) =>
                m.paramsDiffCommand(globals, { a: a.a, b: a.b, all: a.all, format: a.json ? 'json' : a.md ? 'md' : 'table' }),
              ),
            ),
        )
        .demandCommand(1, 'name a params subcommand: show or diff'),
    )
    .command(
      'artifacts',
      'list the artifacts the pipeline file declares (top-level artifacts:)',
      (y) =>
        y
          .option('json', { type: 'boolean', describe: 'JSON: {version, artifacts: [{name, path, type, desc, labels, meta, stage}]}' })
          .option('md', { type: 'boolean', describe: 'a Markdown pipe table' })
          .conflicts('json', 'md'),
      (a) => run(() => import('./commands/artifacts.js').then((m) => m.artifactsCommand(globals, { format: a.json ? 'json' : a.md ? 'md' : 'table' }))),
    )
    .command('metrics', 'show and compare metrics', (y) =>
      y
        .command(
          'show',
          'print the metrics of the workspace',
          (yy) =>
            yy
              .option('json', { type: 'boolean', describe: 'JSON: {path: {key: value}}' })
              .option('md', { type: 'boolean', describe: 'a Markdown pipe table' })
              .conflicts('json', 'md'),
          (a) => run(() => import('./commands/metrics.js').then((m) => m.metricsShowCommand(globals, { format: a.json ? 'json' : a.md ? 'md' : 'table' }))),
        )
        .command(
          'diff [a] [b]',
          'compare the metrics of two revisions (default: HEAD and the workspace)',
          (yy) =>
            yy
              .positional('a', { type: 'string', describe: 'git revision (default: HEAD)' })
              .positional('b', { type: 'string', describe: 'git revision (default: the workspace)' })
              .option('all', { type: 'boolean', default: false, describe: 'also list unchanged metrics' })
              .option('precision', { type: 'number', default: 5, describe: 'decimal digits numbers are rounded to' })
              .option('json', { type: 'boolean', describe: 'JSON: {path: {key: {old, new, diff}}}' })
              .option('md', { type: 'boolean', describe: 'a Markdown pipe table' })
              .conflicts('json', 'md'),
          (a) =>
            run(() =>
              import('./commands/metrics.js').then((m) =>
                m.metricsDiffCommand(globals, {
                  a: a.a,
                  b: a.b,
                  all: a.all,
                  precision: a.precision,
                  format: a.json ? 'json' : a.md ? 'md' : 'table',
                }),
              ),
            ),
        )
        .demandCommand(1, 'name a metrics subcommand: show or diff'),
    )
    // Reproducibility in CI (issue 4): verify, the lockfile merge driver, and init which installs it.
    .command(
      'verify [targets..]',
      'rebuild HEAD from scratch in a clean worktree and check every out matches mlbuild.lock',
      (y) =>
        y
          .positional('targets', { type: 'string', array: true, default: [] as string[], describe: 'stage or stage-group names (default: all)' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON document' })
          .option('jobs', { alias: 'j', type: 'number', describe: 'parallel CPU job slots (default: CPU count)' })
          .option('keep', { type: 'boolean', default: false, describe: 'keep the worktree afterwards (its path is printed)' })
          .option('save-cache', { type: 'boolean', default: false, describe: 'store the outs that reproduced in .mlcache (for CI caches)' }),
      (a) =>
        run(() =>
          import('./commands/verify.js').then((m) => m.verifyCommand(globals, { targets: a.targets as string[], json: a.json, jobs: a.jobs, keep: a.keep, saveCache: a.saveCache })),
        ),
    )
    .command(
      'merge-driver <base> <ours> <theirs> [pathname]',
      'git merge driver for mlbuild.lock (git runs it: %O %A %B %P); merges per stage entry',
      (y) =>
        y
          .positional('base', { type: 'string', demandOption: true })
          .positional('ours', { type: 'string', demandOption: true, describe: 'also where the result is written' })
          .positional('theirs', { type: 'string', demandOption: true })
          .positional('pathname', { type: 'string' })
          .option('marker-size', { type: 'number', describe: 'conflict marker length (git: %L)' }),
      (a) =>
        run(() =>
          import('./commands/merge-driver.js').then((m) =>
            m.mergeDriverCommand({ base: a.base, ours: a.ours, theirs: a.theirs, pathname: a.pathname, markerSize: a.markerSize }),
          ),
        ),
    )
    .command(
      'init',
      'set up this git repository: lockfile merge driver, .gitignore, empty pipeline.yaml and params',
      (y) => y.option('scaffold', { type: 'boolean', default: true, describe: 'create pipeline.yaml and params/base.yaml when missing (--no-scaffold to skip)' }),
      (a) => run(() => import('./commands/init.js').then((m) => m.initCommand(globals, { scaffold: a.scaffold }))),
    )
    .command('plots', 'render the declared plots (Vega-Lite) into one self-contained HTML page', (y) => {
      const common = (yy: Argv) =>
        yy
          .option('out', { alias: 'o', type: 'string', describe: 'folder for index.html (default: mlbuild_plots)' })
          .option('json', { type: 'boolean', default: false, describe: 'print the datapoints and Vega-Lite specs instead' });
      const runPlots = (cmd: 'plotsShowCommand' | 'plotsDiffCommand', args: { targets: string[]; revs: string[]; out: string | undefined; json: boolean }) =>
        run(() => import('./commands/plots.js').then((m) => m[cmd](globals, args)));
      return y
        .command(
          'show [targets..]',
          'the plots of the workspace',
          (yy) => common(yy).positional('targets', { type: 'string', array: true, default: [] as string[], describe: 'plot ids or data files' }),
          (a) => runPlots('plotsShowCommand', { targets: a.targets as string[], revs: [], out: a.out, json: a.json }),
        )
        .command(
          'diff [revs..]',
          'plots of several revisions, one series each (default: HEAD and the workspace)',
          (yy) =>
            common(yy)
              .positional('revs', { type: 'string', array: true, default: [] as string[], describe: 'git revisions; one is compared with the workspace' })
              .option('targets', { type: 'string', array: true, default: [] as string[], describe: 'only these plot ids or data files' }),
          (a) => runPlots('plotsDiffCommand', { targets: a.targets, revs: a.revs as string[], out: a.out, json: a.json }),
        )
        .demandCommand(1, 'name a plots subcommand: show or diff');
    })
    // Monitoring (issue 15): drift of production inputs against the training data.
    .command(
      'monitor',
      'compare production traffic (request log or TSV) with a reference; exit 1 on drift',
      (y) =>
        setParam(y)
          .option('reference', { type: 'string', demandOption: true, describe: 'training data: a TSV, a prepared data folder, or a request log' })
          .option('current', { type: 'string', describe: 'traffic: a request log folder or .jsonl file, or a TSV (default: .mlcache/serve-logs)' })
          .option('model', { type: 'string', describe: 'model folder to score samples that carry no scores (with mlbuild-model.json, e.g. models/selected)' })
          .option('holdout', { type: 'string', describe: 'held-out labelled data: the reference of the score and accuracy checks (default: --reference)' })
          .option('plan', { type: 'string', describe: 'with prepared data as --reference: its pool rows are the reference, its test rows the holdout (data/splits/plan.json)' })
          .option('out', { alias: 'o', type: 'string', describe: 'the JSON report, a metrics file (default: monitor/drift.json)' })
          .option('html', { type: 'string', describe: 'the HTML report (default: the JSON path with .html)' })
          .option('labels', { type: 'string', describe: 'true labels for logged texts, JSON lines {"request_id", "index", "label"}' })
          .option('since', { type: 'string', describe: 'only log records at or after this ISO-8601 time' })
          .option('until', { type: 'string', describe: 'only log records before this ISO-8601 time' })
          .option('served', { type: 'string', describe: 'only log records served by NAME or NAME@VERSION' })
          .option('json', { type: 'boolean', default: false, describe: 'print the JSON report instead of the summary' }),
      (a) =>
        run(() =>
          import('./commands/monitor.js').then((m) =>
            m.monitorCommand(globals, {
              reference: a.reference,
              current: a.current,
              model: a.model,
              holdout: a.holdout,
              plan: a.plan,
              labels: a.labels,
              out: a.out,
              html: a.html,
              since: a.since,
              until: a.until,
              served: a.served,
              json: a.json,
              overrides: a.setParam,
            }),
          ),
        ),
    )
    // Experiments (issue 4): run with overrides in an isolated worktree, record as refs/exps/<name>.
    .command('exp', 'run and compare experiments', (y) =>
      y
        .command(
          'run [targets..]',
          'run the pipeline with -S overrides in an isolated worktree; a list of values sweeps',
          (yy) =>
            setParam(yy)
              .positional('targets', { type: 'string', array: true, default: [] as string[], describe: 'stage or stage-group names' })
              .option('name', { alias: 'n', type: 'string', describe: 'experiment name (a sweep gets NAME-1, NAME-2, ...)' })
              .option('queue', { type: 'boolean', default: false, describe: 'store the experiments to run later with --run-all' })
              .option('run-all', { type: 'boolean', default: false, describe: 'run the queued experiments' })
              .option('jobs', { alias: 'j', type: 'number', describe: 'experiments run at a time (default 1)' })
              .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'replace an experiment of the same name' })
              .option('gpus', { type: 'string', describe: 'GPUs to schedule on: a count (2) or a list (0,2)' })
              .option('gpu-slots', { type: 'number', default: 1, describe: 'stages that may share one GPU' }),
          (a) =>
            run(() =>
              import('./commands/exp.js').then((m) =>
                m.expRunCommand(globals, {
                  targets: a.targets as string[],
                  overrides: a.setParam,
                  name: a.name,
                  queue: a.queue,
                  runAll: a.runAll,
                  jobs: a.jobs,
                  force: a.force,
                  gpus: a.gpus,
                  gpuSlots: a.gpuSlots,
                }),
              ),
            ),
        )
        .command(
          'show',
          'a table of the experiments: params that differ, metrics, duration, cost',
          (yy) =>
            yy
              .option('json', { type: 'boolean', describe: 'one JSON document' })
              .option('md', { type: 'boolean', describe: 'a Markdown pipe table' })
              .option('all', { type: 'boolean', default: false, describe: 'also params that are the same everywhere' })
              .option('sort-by', { type: 'string', describe: 'a param or metric to sort the experiments by' })
              .option('sort-order', { type: 'string', choices: ['asc', 'desc'], default: 'asc' })
              .option('precision', { type: 'number', default: 5 })
              .conflicts('json', 'md'),
          (a) =>
            run(() =>
              import('./commands/exp.js').then((m) =>
                m.expShowCommand(globals, {
                  format: a.json ? 'json' : a.md ? 'md' : 'table',
                  all: a.all,
                  sortBy: a.sortBy,
                  sortOrder: a.sortOrder as 'asc' | 'desc',
                  precision: a.precision,
                }),
              ),
            ),
        )
        .command(
          'diff <a> <b>',
          'compare the params and metrics of two experiments (or git revisions)',
          (yy) =>
            yy
              .positional('a', { type: 'string', demandOption: true })
              .positional('b', { type: 'string', demandOption: true })
              .option('all', { type: 'boolean', default: false })
              .option('precision', { type: 'number', default: 5 })
              .option('json', { type: 'boolean' })
              .option('md', { type: 'boolean' })
              .conflicts('json', 'md'),
          (a) =>
            run(() =>
              import('./commands/exp.js').then((m) =>
                m.expDiffCommand(globals, { a: a.a, b: a.b, all: a.all, precision: a.precision, format: a.json ? 'json' : a.md ? 'md' : 'table' }),
              ),
            ),
        )
        .command(
          'apply <name>',
          "bring an experiment's params, lockfile and metrics into the workspace and restore its outs",
          (yy) =>
            yy
              .positional('name', { type: 'string', demandOption: true })
              .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'overwrite uncommitted changes to those files' }),
          (a) => run(() => import('./commands/exp.js').then((m) => m.expApplyCommand(globals, { name: a.name, force: a.force }))),
        )
        .command(
          'branch <name> <branch>',
          'make a git branch of an experiment',
          (yy) => yy.positional('name', { type: 'string', demandOption: true }).positional('branch', { type: 'string', demandOption: true }),
          (a) => run(() => import('./commands/exp.js').then((m) => m.expBranchCommand(globals, { name: a.name, branch: a.branch }))),
        )
        .command(
          'remove [names..]',
          'delete experiments (or, with --queue, queued ones)',
          (yy) =>
            yy
              .positional('names', { type: 'string', array: true, default: [] as string[] })
              .option('all', { type: 'boolean', default: false, describe: 'every finished experiment' })
              .option('queue', { type: 'boolean', default: false, describe: 'every queued experiment' }),
          (a) => run(() => import('./commands/exp.js').then((m) => m.expRemoveCommand(globals, { names: a.names as string[], all: a.all, queue: a.queue }))),
        )
        .demandCommand(1, 'name an exp subcommand: run, show, diff, apply, branch or remove'),
    )
    // The local dashboard (issue 16).
    .command(
      'ui',
      'serve a local dashboard: pipeline, experiments, metrics over time, models (read-only)',
      (y) =>
        y
          .option('port', { alias: 'p', type: 'number', default: 8420, describe: 'port to listen on (0: any free port)' })
          .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to bind (default loopback only)' }),
      (a) => run(() => import('./commands/ui.js').then((m) => m.uiCommand(globals, { port: a.port, host: a.host }))),
    )
    // --- remote cache (issue 7): remote config verbs, push / fetch / pull ---
    .command('remote', 'configure remotes (shared caches: S3-compatible storage or a directory)', (y) =>
      y
        .command(
          'add <name> <url>',
          'add a remote: s3://bucket/prefix or a directory path',
          (yy) =>
            yy
              .positional('name', { type: 'string', demandOption: true })
              .positional('url', { type: 'string', demandOption: true })
              .option('default', { alias: 'd', type: 'boolean', default: false, describe: 'make it the default remote' })
              .option('local', { type: 'boolean', default: false, describe: 'write to the git-ignored .mlbuild/config.local.yaml' })
              .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'replace a remote of that name' }),
          (a) => run(() => import('./commands/remote.js').then((m) => m.remoteAddCommand(globals, { name: a.name!, url: a.url!, default: a.default, local: a.local, force: a.force }))),
        )
        .command(
          'remove <name>',
          'remove a remote',
          (yy) => yy.positional('name', { type: 'string', demandOption: true }),
          (a) => run(() => import('./commands/remote.js').then((m) => m.remoteRemoveCommand(globals, { name: a.name! }))),
        )
        .command(
          'list',
          'list the remotes',
          (yy) => yy.option('json', { type: 'boolean', default: false }),
          (a) => run(() => import('./commands/remote.js').then((m) => m.remoteListCommand(globals, { json: a.json }))),
        )
        .command(
          'default <name>',
          'set the default remote',
          (yy) => yy.positional('name', { type: 'string', demandOption: true }).option('local', { type: 'boolean', default: false }),
          (a) => run(() => import('./commands/remote.js').then((m) => m.remoteDefaultCommand(globals, { name: a.name!, local: a.local }))),
        )
        .command(
          'modify <name> <key> [value]',
          'set one setting of a remote: url, endpoint_url, region, profile, jobs',
          (yy) =>
            yy
              .positional('name', { type: 'string', demandOption: true })
              .positional('key', { type: 'string', demandOption: true })
              .positional('value', { type: 'string' })
              .option('local', { type: 'boolean', default: false, describe: 'write to the git-ignored .mlbuild/config.local.yaml' })
              .option('unset', { type: 'boolean', default: false, describe: 'remove the setting' }),
          (a) =>
            run(() => import('./commands/remote.js').then((m) => m.remoteModifyCommand(globals, { name: a.name!, key: a.key!, value: a.value, local: a.local, unset: a.unset }))),
        )
        .demandCommand(1, 'name a remote subcommand: add, remove, list, default or modify'),
    )
    .command(
      'push [targets..]',
      "upload the lockfile's outs (and run-cache entries) to a remote",
      (y) => transferOptions(y).option('all-commits', { alias: 'a', type: 'boolean', default: false, describe: "also every git commit's lockfile" }),
      (a) => run(() => import('./commands/transfer.js').then((m) => m.pushCommand(globals, transferArgs(a, true)))),
    )
    .command(
      'fetch [targets..]',
      "download the lockfile's outs from a remote into the local cache",
      (y) => transferOptions(y, false),
      (a) => run(() => import('./commands/transfer.js').then((m) => m.fetchCommand(globals, transferArgs(a, false)))),
    )
    .command(
      'pull [targets..]',
      'fetch, then check out the outs into the workspace',
      (y) => transferOptions(y, false),
      (a) => run(() => import('./commands/transfer.js').then((m) => m.pullCommand(globals, transferArgs(a, false)))),
    )
    // --- end remote cache ---
    .command(modelCommand(globals, run))
    .command(serveCommand(globals, run))
    .option('file', { type: 'string', describe: 'pipeline file (default: pipeline.yaml, else dvc.yaml)', global: true })
    .demandCommand(1, 'name a command (mlbuild --help lists them)')
    .strict()
    .recommendCommands()
    .version(packageVersion())
    .help()
    .alias('h', 'help')
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((msg, e) => {
      if (e) throw e;
      process.stderr.write(`error: ${msg}\nRun 'mlbuild --help' for usage.\n`);
      failed = true;
    });

  await parser.parseAsync();
  if (failed) return EXIT_USAGE;
  if (action) code = await action();
  return code;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // A full disk or quota is the machine's state, not a bug: say so and exit 1 (exit 3 is for bugs).
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      const where = (e as NodeJS.ErrnoException).path;
      process.stderr.write(`error: no space left on the device${where ? ` writing '${where}'` : ''}\n  hint: free some space (\`mlbuild gc\` removes unused cache objects) and run again; finished stages are kept\n`);
      process.exitCode = 1;
      return;
    }
    // git refusing a step after earlier steps succeeded (git/git.ts GitFailed): the repository's state, said as diagnostics.
    // Matched by name: importing git/ here would load it on every command's start-up path.
    if (e instanceof Error && e.name === 'GitFailed' && 'diagnostics' in e) {
      const { diagnostics } = e as Error & { diagnostics: readonly Diagnostic[] };
      void import('../report/diagnostic.js').then(({ formatDiagnostics }) => process.stderr.write(formatDiagnostics(diagnostics) + '\n'));
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`mlbuild: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 3;
  },
);
