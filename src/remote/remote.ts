/**
 * Remote: one storage backend of the shared cache, addressed by the cache's own keys
 * (`objects/ab/cdef...`, `runs/ab/cdef.jsonl`). Backends move bytes and answer "is it there?";
 * they do not hash, verify or decide what to send (transfer.ts does), and they never write into
 * the local cache.
 */
import type { ProjectConfig, RemoteConfig } from '../config/project-config.js';
import { describeRemote, parseRemoteUrl } from './remote-url.js';
import { type Result, ok, err } from '../util/result.js';
import type { Diagnostic } from '../report/diagnostic.js';

export interface Remote {
  readonly name: string;
  /** The URL (and endpoint) as shown in messages. */
  readonly description: string;
  /** Default number of parallel transfers for this backend. */
  readonly defaultJobs: number;
  exists(key: string): Promise<boolean>;
  /** Stores the file at `src` (`size` bytes) under `key`; readers never see a partial object. */
  upload(key: string, src: string, size: number, onBytes: (n: number) => void): Promise<void>;
  /** The object's bytes as a stream, or undefined when there is no such object. */
  download(key: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  readText(key: string): Promise<string | undefined>;
  writeText(key: string, text: string): Promise<void>;
  /** Every key below `prefix` (e.g. `runs/`). */
  list(prefix: string): AsyncIterable<string>;
}

/** A failure of the remote as a whole (unreachable, no credentials, no bucket): the transfer stops. */
export class RemoteUnavailable extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** Opens the backend for `cfg`; the AWS SDK is imported only here, and only for S3 remotes. */
export async function openRemote(cfg: RemoteConfig, root: string): Promise<Result<Remote, Diagnostic[]>> {
  const loc = parseRemoteUrl(cfg.url, root);
  if (!loc.ok) return err([{ severity: 'error', code: 'bad-remote-url', message: `remote '${cfg.name}': ${loc.error.message}`, hint: loc.error.hint }]);
  const description = describeRemote(cfg.url, cfg.endpointUrl);
  if (loc.value.kind === 'directory') {
    const { DirectoryRemote } = await import('./directory-remote.js');
    return ok(new DirectoryRemote(cfg.name, description, loc.value.path));
  }
  if (loc.value.kind === 'http') {
    const { HttpRemote } = await import('./http-remote.js');
    return ok(new HttpRemote(cfg.name, description, loc.value.url));
  }
  const { S3Remote } = await import('./s3-remote.js');
  return ok(new S3Remote(cfg, description, loc.value.bucket, loc.value.prefix));
}

/**
 * The remote a command uses: `-r NAME`, else `core.remote`, else the only one defined. An unknown
 * name lists the defined ones and says where remotes are configured.
 */
export function chooseRemote(config: ProjectConfig, name: string | undefined): Result<RemoteConfig, Diagnostic[]> {
  const names = [...config.remotes.keys()];
  const where = `.mlbuild/config.yaml${config.files.length > 0 ? '' : ' (not created yet)'}`;
  if (name !== undefined) {
    const r = config.remotes.get(name);
    if (r) return ok(r);
    return err([
      {
        severity: 'error',
        code: 'unknown-remote',
        message: `no remote named '${name}' in ${where}${names.length ? `; defined: ${names.join(', ')}` : ''}`,
        hint: names.length ? `use one of ${names.map((n) => `-r ${n}`).join(', ')}, or add it with 'mlbuild remote add ${name} URL'` : `add it with 'mlbuild remote add ${name} URL'`,
      },
    ]);
  }
  if (config.core.remote !== undefined) return ok(config.remotes.get(config.core.remote)!);
  if (names.length === 1) return ok(config.remotes.get(names[0]!)!);
  return err([
    {
      severity: 'error',
      code: names.length ? 'no-default-remote' : 'no-remote',
      message: names.length ? `${names.length} remotes are defined (${names.join(', ')}) and none is the default` : `no remote is configured in ${where}`,
      hint: names.length ? `pass -r NAME, or set one with 'mlbuild remote default NAME'` : "add one with 'mlbuild remote add -d NAME s3://bucket/prefix' or 'mlbuild remote add -d NAME /mnt/shared/mlcache'",
    },
  ]);
}
