/**
 * `mlbuild serve NAME[@VERSION|#STAGE] [--canary NAME@V:10%]`: resolves the refs through the
 * registry (or takes a model directory as is), brings each version's directory into
 * `.mlcache/serve/NAME/VERSION` (model get's hash-checked fetch), loads it, and serves it
 * (serve/server.ts). A `#STAGE` ref follows the registry: when tags change (a promotion, a
 * rollback), the new version is loaded beside the old one and swapped in atomically, without a
 * restart and without failing a request in flight. SIGINT/SIGTERM close the server gracefully
 * (in-flight requests finish) and flush the request log.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { runTerminalCommand, type CommandResult, type GlobalOptions } from '../context.js';
import { ok, err } from '../../util/result.js';
import { findProject, cacheDirOf, type Project } from '../../project.js';
import type { Terminal } from '../../report/terminal.js';
import { EXIT_OK } from '../../exit-codes.js';
import { GitTagStore } from '../../registry/git-tags.js';
import { Registry, RegistryError, type VersionLocation } from '../../registry/registry.js';
import { parseModelRef, registryState, resolveRef, type ModelRef } from '../../registry/state.js';
import { MANIFEST_FILE, verifyFiles } from '../../../stages/lib/model-manifest.js';
import { ServeMetrics } from '../../serve/metrics.js';
import { loadModel, ModelLoadError, readManifest } from '../../serve/predictor.js';
import { RequestLogWriter } from '../../serve/request-log.js';
import { parseCanary, Router, type Slot } from '../../serve/router.js';
import { buildServer } from '../../serve/server.js';
import { GitReader } from '../../metrics/git-reader.js';
import { Lockfile } from '../../state/lockfile.js';

export interface ServeArgs {
  model: string;
  port: number;
  host: string;
  canary: string | undefined;
  maxBatch: number;
  maxBodyBytes: number;
  maxQueue: number;
  logDir: string;
  logMaxBytes: number;
  logText: boolean;
  log: boolean;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

interface Source {
  /** Loads the slot `spec` names now; undefined when it is a directory (never changes). */
  load(spec: string): Promise<Slot>;
  /** For `#STAGE` refs: the version the ref names now. */
  current(spec: string): Promise<string | undefined>;
  follows(spec: string): boolean;
  watch(onChange: () => void): () => void;
}

const isModelDir = (p: string): boolean => existsSync(path.join(p, MANIFEST_FILE));

function source(cwd: string, project: Project | undefined): Source {
  const root = project?.root ?? cwd;
  const tags = new GitTagStore(root);
  let git: GitReader | undefined;
  const lookup = async (commit: string, p: string) => {
    if (!git) {
      const opened = await GitReader.open(root);
      if (!opened.ok) return undefined;
      git = opened.value;
    }
    const r = await git.read(commit, 'mlbuild.lock');
    const lock = r.ok ? await Lockfile.parse(r.text, `${commit.slice(0, 7)}:mlbuild.lock`, root) : undefined;
    if (!lock?.ok) return undefined;
    for (const n of lock.value.names()) {
      const out = lock.value.get(n)?.outs.find((o) => o.path === p);
      if (out) return { hash: out.hash, stage: n };
    }
    return undefined;
  };
  const registry = new Registry(tags, lookup, () => Promise.resolve(undefined));
  const loaded = new Map<string, Promise<Slot>>();

  /** The version's directory under .mlcache/serve, fetched (hash-checked) unless already there intact. */
  const materialize = async (loc: VersionLocation): Promise<string> => {
    if (!project) throw new RegistryError('serving a registered version needs the mlbuild project that registered it (its cache and remotes)');
    const dir = path.join(cacheDirOf(project), 'serve', loc.artifact.replace(/[/:]/g, '_'), loc.version);
    if (isModelDir(dir)) {
      try {
        if (verifyFiles(dir, readManifest(dir)).length === 0) return dir;
      } catch {
        // unreadable: fetch again
      }
    }
    const { fetchModel } = await import('../../registry/fetch.js');
    await fetchModel(project, loc, dir);
    return dir;
  };

  return {
    follows: (spec) => !isModelDir(path.resolve(cwd, spec)) && 'stage' in parseModelRef(spec),
    async current(spec) {
      const r = resolveRef(registryState(await tags.list()), parseModelRef(spec));
      return r.ok ? r.version.version : undefined;
    },
    load(spec) {
      const dir = path.resolve(cwd, spec);
      if (isModelDir(dir)) {
        const key = `dir:${dir}`;
        if (!loaded.has(key)) loaded.set(key, loadModel(dir).then((model) => ({ name: path.basename(dir), version: 'local', model })));
        return loaded.get(key) as Promise<Slot>;
      }
      // A folder without a manifest is a mistake, not a registry name: say what it lacks.
      if (existsSync(dir) && statSync(dir).isDirectory()) return Promise.reject(new RegistryError(`${dir} has no ${MANIFEST_FILE}`, 'a servable model directory is what the select stage writes (models/selected)'));
      return (async () => {
        const ref: ModelRef = parseModelRef(spec);
        const loc = await registry.locate(ref);
        const key = `${loc.artifact}@${loc.version}`;
        if (!loaded.has(key)) {
          const p = materialize(loc).then(async (d) => ({ name: loc.artifact, version: loc.version, model: await loadModel(d) }));
          loaded.set(key, p);
          p.catch(() => loaded.delete(key));
        }
        return loaded.get(key) as Promise<Slot>;
      })();
    },
    watch: (onChange) => tags.watch(onChange, 1000),
  };
}

export function serveCommand(g: GlobalOptions, a: ServeArgs): Promise<number> {
  return runTerminalCommand((term) => serveIn(g, a, term));
}

async function serveIn(g: GlobalOptions, a: ServeArgs, term: Terminal): Promise<CommandResult> {
  const usage = (message: string, hint: string): CommandResult => err([{ severity: 'error', code: 'usage', message, hint }]);
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) return usage(`--port ${a.port} is not a TCP port`, 'give 0..65535 (0: any free port)');
  for (const [k, v] of [['max-batch', a.maxBatch], ['max-body-bytes', a.maxBodyBytes], ['max-queue', a.maxQueue], ['log-max-bytes', a.logMaxBytes]] as const) {
    if (!Number.isInteger(v) || v < 1) return usage(`--${k} must be a whole number >= 1 (got ${v})`, `e.g. --${k} ${k === 'max-batch' ? 256 : 1024}`);
  }
  const canary = a.canary === undefined ? undefined : parseCanary(a.canary);
  if (canary && 'error' in canary) return usage(canary.error, 'e.g. --canary sentiment@v1.3.0:10%');
  const project = findProject(g.cwd, g.file);
  const src = source(g.cwd, project.ok ? project.value : undefined);

  let router: Router;
  try {
    const primary = await src.load(a.model);
    const canarySlot = canary ? await src.load(canary.ref) : undefined;
    router = new Router(primary, canarySlot && canary ? { slot: canarySlot, share: canary.share } : undefined);
  } catch (e) {
    if (e instanceof RegistryError || e instanceof ModelLoadError) {
      const hint = `${e instanceof RegistryError && e.hint ? `${e.hint}; or ` : ''}serve a model directory written by the select stage, or a registered version (mlbuild model list)`;
      // A model that is there but cannot be loaded, or a refused registry lookup, is a failure (1); a bad name is usage (2).
      return err([e instanceof RegistryError ? e.diagnostic(hint) : { severity: 'error', code: 'model-load', message: e.message, hint }]);
    }
    throw e;
  }
  const metrics = new ServeMetrics();
  const showServing = () => metrics.setServing([{ name: router.primary.name, version: router.primary.version, role: 'primary' }, ...(router.canary ? [{ name: router.canary.slot.name, version: router.canary.slot.version, role: 'canary' as const }] : [])]);
  showServing();
  router.onSwap = (role, from, to) => {
    showServing();
    term.out(`${role}: ${from ? `${from.name}@${from.version}` : 'none'} -> ${to ? `${to.name}@${to.version}` : 'none'}\n`);
  };
  const log = a.log ? await RequestLogWriter.open({ dir: path.resolve(g.cwd, a.logDir), maxBytes: a.logMaxBytes, logText: a.logText, onError: (e) => term.err(`warning: request log write failed, records dropped: ${e.message}\n`) }) : undefined;
  const app = buildServer({ router, metrics, ...(log ? { log } : {}), maxBatch: a.maxBatch, maxBodyBytes: a.maxBodyBytes, maxQueue: a.maxQueue, serverVersion: packageVersion() });

  // Follow #STAGE refs: reloads are serialised; a failed reload keeps the version serving now.
  let stopWatch = () => {};
  const followed = [a.model, ...(canary ? [canary.ref] : [])].filter((s) => src.follows(s));
  if (followed.length > 0) {
    let chain = Promise.resolve();
    const refresh = () => {
      chain = chain.then(async () => {
        try {
          if (src.follows(a.model) && (await src.current(a.model)) !== router.primary.version) router.swapPrimary(await src.load(a.model));
          if (canary && router.canary && src.follows(canary.ref) && (await src.current(canary.ref)) !== router.canary.slot.version) router.setCanary(await src.load(canary.ref), canary.share);
        } catch (e) {
          term.err(`warning: registry changed but the new version could not be served; still serving ${router.primary.name}@${router.primary.version}: ${(e as Error).message}\n`);
        }
      });
    };
    stopWatch = src.watch(refresh);
  }

  let address: string;
  try {
    address = await app.listen({ port: a.port, host: a.host });
  } catch (e) {
    stopWatch();
    return err([{ severity: 'error', code: 'cannot-listen', message: `cannot listen on ${a.host}:${a.port}: ${(e as Error).message}`, hint: 'choose another --port (0 picks a free one)' }]);
  }
  const c = router.canary;
  term.out(`serving ${router.primary.name}@${router.primary.version} (${router.primary.model.manifest.flavour})${c ? `, canary ${c.slot.name}@${c.slot.version} at ${Math.round(c.share * 1000) / 10}%` : ''}${followed.length ? ` following ${followed.join(', ')}` : ''} on ${address}\n`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      stopWatch();
      void app
        .close()
        .then(() => log?.close())
        .then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  term.out('server stopped\n');
  return ok(EXIT_OK);
}
