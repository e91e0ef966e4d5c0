/**
 * RemoteSource over a Transfer: what `repro --pull` gives each stage run, so a stale stage whose
 * outs (or run-cache entry) a teammate, CI or a cluster job already pushed is fetched, not rerun.
 */
import type { FileRecord } from '../hashing/file-hasher.js';
import type { Fetched, RemoteSource } from '../cache/store.js';
import type { FpHash } from '../util/brand.js';
import { RemoteUnavailable } from './remote.js';
import { emptyResult, type Transfer, type TransferResult } from './transfer.js';
import type { DvcObjects } from './dvc-objects.js';

function outcome(r: TransferResult, remote: string): Fetched {
  const problems = [...r.failed.map((f) => `${f.message} (needed by ${f.neededBy})`), ...r.missing.map((m) => `${m.object} is not on remote '${remote}' (needed by ${m.neededBy})`)];
  return problems.length > 0 ? { ok: false, message: problems.join('; ') } : { ok: true, files: r.transferred, bytes: r.bytes };
}

export class RemotePuller implements RemoteSource {
  /** Set once the remote proved unreachable, so later stages do not each wait for it. */
  private down: string | undefined;

  constructor(
    readonly name: string,
    private readonly transfer: Transfer,
  ) {}

  async fetch(records: readonly FileRecord[], stage: string): Promise<Fetched> {
    if (this.down) return { ok: false, message: this.down };
    const r = emptyResult();
    try {
      await this.transfer.fetch(
        records.map((record) => ({ record, neededBy: `${record.path} (stage '${stage}')` })),
        r,
      );
    } catch (e) {
      if (!(e instanceof RemoteUnavailable)) throw e;
      this.down = e.message;
      return { ok: false, message: e.message };
    }
    return outcome(r, this.name);
  }

  async fetchRun(fp: FpHash, _stage: string): Promise<{ outs: FileRecord[]; fetched: Fetched } | undefined> {
    if (this.down) return undefined;
    const r = emptyResult();
    let outs: FileRecord[] | undefined;
    try {
      outs = await this.transfer.fetchRun(fp, r);
    } catch (e) {
      if (!(e instanceof RemoteUnavailable)) throw e;
      this.down = e.message;
      return undefined;
    }
    const fetched = outcome(r, this.name);
    return outs || !fetched.ok ? { outs: outs ?? [], fetched } : undefined;
  }
}

/**
 * RemoteSource over a DVC remote: a stale stage's recorded outs are fetched by the md5 mlbuild
 * noted when it pushed them (remote/dvc-objects.ts), md5- then xxh64-verified. DVC remotes hold
 * no mlbuild run-cache, so there is never a run-cache hit.
 */
export class DvcPuller implements RemoteSource {
  private down: string | undefined;

  constructor(
    readonly name: string,
    private readonly objects: DvcObjects,
  ) {}

  async fetch(records: readonly FileRecord[], stage: string): Promise<Fetched> {
    if (this.down) return { ok: false, message: this.down };
    const r = emptyResult();
    try {
      for (const record of records) await this.objects.fetchRecord(record, `${record.path} (stage '${stage}')`, r);
    } catch (e) {
      if (!(e instanceof RemoteUnavailable)) throw e;
      this.down = e.message;
      return { ok: false, message: e.message };
    } finally {
      this.objects.saveIndex();
    }
    return outcome(r, this.name);
  }

  fetchRun(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
}
