/**
 * Issue 7, the remote cache, through the built CLI with real git clones: a directory remote, and
 * S3 through a real S3-compatible server (OpenStack Swift with s3api, started by `.ci/run` or
 * `bash scripts/swift-s3-localhost.sh`). Without a reachable server the S3 tests are skipped with
 * the reason, except under CI=true, where they fail.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Project, useProjects } from './rig.js';

const projects = useProjects();
// Each scenario runs the CLI a dozen times against a real server on a shared 2-core machine.
vi.setConfig({ testTimeout: 180_000 });

const S3_ENDPOINT = process.env.MLBUILD_TEST_S3_ENDPOINT ?? 'http://127.0.0.1:8080';
const S3_ENV = {
  AWS_ACCESS_KEY_ID: process.env.MLBUILD_TEST_S3_ACCESS_KEY ?? 'test:tester',
  AWS_SECRET_ACCESS_KEY: process.env.MLBUILD_TEST_S3_SECRET_KEY ?? 'testing',
  AWS_REGION: 'us-east-1',
};

/** Any HTTP answer means a server is listening. */
async function reachable(url: string): Promise<string | undefined> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(3000) });
    return undefined;
  } catch (e) {
    return `${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}`;
  }
}
const s3Down = await reachable(S3_ENDPOINT);
const s3Required = process.env.CI === 'true';
if (s3Down && !s3Required) console.warn(`remote.test.ts: S3 tests skipped: no S3 server at ${S3_ENDPOINT} (${s3Down}); start one with 'bash scripts/swift-s3-localhost.sh'`);

async function s3Client() {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const sdk = await import('@aws-sdk/client-s3');
  const client = new sdk.S3Client({ endpoint: S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: S3_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: S3_ENV.AWS_SECRET_ACCESS_KEY } });
  return { sdk, client };
}

/**
 * The stage refuses to run when FAIL_IF_RUN is set, so "restored, not rerun" is proven by the
 * command never executing, not only by what mlbuild reports.
 */
const PIPE = `stages:
  train:
    cmd: test -z "$FAIL_IF_RUN" && mkdir -p model && (echo "lr=\${lr}"; cat data.txt) > model/weights.txt && echo trained > model/info.txt && echo done > summary.txt
    deps: [data.txt]
    outs: [model, summary.txt]
`;

/** One backend under test: how to name it in a URL, and how to reach into its stored objects. */
interface Backend {
  readonly name: string;
  /** `remote add` arguments and further `remote modify` calls. */
  setup(p: Project): Promise<void>;
  /** Replaces the bytes of the object stored under `key` (e.g. objects/ab/cdef...). */
  corrupt(key: string, bytes: Buffer): Promise<void>;
  readonly env: Record<string, string>;
}

/** Remote directories made by the tests, removed at the end. */
const remoteDirs: string[] = [];
afterAll(() => {
  for (const d of remoteDirs) fs.rmSync(d, { recursive: true, force: true });
});
const remoteDir = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-remote-'));
  remoteDirs.push(d);
  return d;
};

function directoryBackend(): Backend {
  const dir = remoteDir();
  return {
    name: 'directory',
    env: {},
    async setup(p) {
      expect((await p.run(['remote', 'add', '-d', 'shared', dir])).code).toBe(0);
    },
    corrupt(key, bytes) {
      const f = path.join(dir, key);
      fs.chmodSync(f, 0o644);
      fs.writeFileSync(f, bytes);
      return Promise.resolve();
    },
  };
}

function s3Backend(): Backend {
  const bucket = `mlbuild-e2e-${randomBytes(4).toString('hex')}`;
  return {
    name: 's3',
    env: S3_ENV,
    async setup(p) {
      const { sdk, client } = await s3Client();
      await client.send(new sdk.CreateBucketCommand({ Bucket: bucket }));
      expect((await p.run(['remote', 'add', '-d', 'shared', `s3://${bucket}/team/project`])).code).toBe(0);
      expect((await p.run(['remote', 'modify', 'shared', 'endpoint_url', S3_ENDPOINT])).code).toBe(0);
    },
    async corrupt(key, bytes) {
      const { sdk, client } = await s3Client();
      await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: `team/project/${key}`, Body: bytes }));
    },
  };
}

/** A project with the pipeline run, its remote configured and everything committed. */
async function origin(backend: Backend): Promise<Project> {
  const a = projects.make({ 'pipeline.yaml': PIPE, 'params.yaml': 'lr: 1\n', 'data.txt': 'rows\n' });
  await backend.setup(a);
  expect((await a.repro()).outcomes).toEqual({ train: 'succeeded' });
  a.commitAll('trained');
  return a;
}

/** A second clone of `a`'s repository, with an empty cache. */
function cloneOf(a: Project): Project {
  const b = projects.make();
  b.git('pull', '-q', a.dir, 'main');
  return b;
}

const json = <T>(text: string): T => JSON.parse(text) as T;
interface TransferDoc {
  ok: boolean;
  transferred: { objects: number; bytes: number };
  present: number;
  run_entries: number;
  errors: { kind: string; object: string; needed_by: string; message: string }[];
  restored?: string[];
}
interface CloudDoc {
  in_sync: boolean;
  outs: { stage: string; path: string; state: string }[];
}

const lockHash = (p: Project, out: string): string => {
  const m = new RegExp(`- path: ${out}\\n\\s+hash: ([0-9a-f]{16}(?:\\.dir)?)`).exec(p.read('mlbuild.lock'));
  if (!m) throw new Error(`no lock record for ${out}`);
  return m[1]!;
};
const objectKey = (hash: string): string => `objects/${hash.slice(0, 2)}/${hash.slice(2)}`;

function scenarios(make: () => Backend): void {
  it('push uploads once; a second clone pulls the outs, and repro finds them fresh without running', async () => {
    const backend = make();
    const a = await origin(backend);
    const env = backend.env;
    let cloud = json<CloudDoc>((await a.run(['status', '-c', '--json'], { env })).stdout);
    expect(cloud.outs.map((o) => [o.path, o.state])).toEqual([
      ['model', 'not-pushed'],
      ['summary.txt', 'not-pushed'],
    ]);
    const first = await a.run(['push', '--json'], { env });
    expect(first.code).toBe(0);
    const pushed = json<TransferDoc>(first.stdout);
    // model/ is two files and its manifest, plus summary.txt; the run-cache entry points at the same objects.
    expect(pushed).toMatchObject({ ok: true, transferred: { objects: 4 }, run_entries: 1, errors: [] });
    const again = json<TransferDoc>((await a.run(['push', '--json'], { env })).stdout);
    expect(again).toMatchObject({ ok: true, transferred: { objects: 0, bytes: 0 }, present: 4, run_entries: 0 });
    cloud = json<CloudDoc>((await a.run(['status', '--cloud', '--json'], { env })).stdout);
    expect(cloud.in_sync).toBe(true);

    const b = cloneOf(a);
    cloud = json<CloudDoc>((await b.run(['status', '-c', '--json'], { env })).stdout);
    expect(cloud.outs.map((o) => o.state)).toEqual(['not-fetched', 'not-fetched']);
    const pulled = await b.run(['pull', '--json'], { env });
    expect(pulled.code).toBe(0);
    expect(json<TransferDoc>(pulled.stdout)).toMatchObject({ ok: true, transferred: { objects: 4 }, restored: ['model', 'summary.txt'] });
    expect(b.read('model/weights.txt')).toBe('lr=1\nrows\n');
    expect(b.read('summary.txt')).toBe('done\n');
    const r = await b.repro([], { env: { ...env, FAIL_IF_RUN: '1' } });
    expect(r.outcomes).toEqual({ train: 'fresh' });
    // With the objects in its cache, a deleted out comes back from the local cache.
    b.remove('model');
    expect((await b.repro([], { env: { ...env, FAIL_IF_RUN: '1' } })).outcomes).toEqual({ train: 'restored' });
    expect(b.read('model/info.txt')).toBe('trained\n');
  });

  it('repro --pull fetches outs, or a run-cache entry for changed inputs, instead of running', async () => {
    const backend = make();
    const a = await origin(backend);
    const env = { ...backend.env, FAIL_IF_RUN: '1' };
    // A second build with lr=2 leaves a run-cache entry that the lockfile no longer names.
    expect((await a.repro(['-S', 'lr=2'])).outcomes).toEqual({ train: 'succeeded' });
    expect((await a.repro(['-S', 'lr=1'])).outcomes).toEqual({ train: 'restored' });
    expect((await a.run(['push'], { env: backend.env })).code).toBe(0);

    const c = cloneOf(a);
    const plain = await c.run(['repro', '--pull'], { env });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/Stage 'train' restored from the remote cache \(missing outs: model, summary\.txt; fetched 4 objects \(.*\) from remote 'shared'\)/);
    expect(c.read('model/weights.txt')).toBe('lr=1\nrows\n');

    const d = cloneOf(a);
    d.write({ 'params.yaml': 'lr: 2\n' });
    const r = await d.repro(['--pull'], { env });
    expect(r.outcomes).toEqual({ train: 'restored' });
    expect(r.doc.stages[0]).toMatchObject({ restored_from: 'remote-run-cache', reason_codes: ['cmd-changed', 'params-changed', 'outs-missing'] });
    expect(d.read('model/weights.txt')).toBe('lr=2\nrows\n');
    // The entry is now in d's own run-cache: no remote needed to switch back and forth.
    expect(d.exists('.mlcache/runs')).toBe(true);

    // Without --pull nothing is fetched: the stage must run (and here refuses to).
    const e = cloneOf(a);
    expect((await e.repro([], { env })).outcomes).toEqual({ train: 'failed' });
  });

  it('a corrupt remote object is rejected by name, with the out that needed it, and never enters the cache', async () => {
    const backend = make();
    const a = await origin(backend);
    expect((await a.run(['push'], { env: backend.env })).code).toBe(0);
    const hash = lockHash(a, 'summary.txt');
    // Same length, other bytes: only the hash check can tell.
    await backend.corrupt(objectKey(hash), Buffer.from('DONE\n'));

    const b = cloneOf(a);
    const r = await b.run(['pull'], { env: backend.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`corrupt remote object ${objectKey(hash)} rejected`);
    expect(r.stderr).toContain("(needed by summary.txt (stage 'train'))");
    expect(b.exists(`.mlcache/${objectKey(hash)}`)).toBe(false);
    const leftovers = (fs.readdirSync(b.path('.mlcache/objects'), { recursive: true }) as string[]).filter((f) => f.includes('.tmp-'));
    expect(leftovers).toEqual([]);
    expect(b.exists('summary.txt')).toBe(false);
    // The intact directory out was still restored.
    expect(b.read('model/weights.txt')).toBe('lr=1\nrows\n');

    // A truncated (partial) object fails the same way, under --json too.
    const weights = /weights\.txt\t([0-9a-f]{16})\t/.exec(fs.readFileSync(a.path(`.mlcache/${objectKey(lockHash(a, 'model'))}`), 'utf8'))![1]!;
    await backend.corrupt(objectKey(weights), Buffer.from('lr='));
    const c = cloneOf(a);
    const doc = json<TransferDoc>((await c.run(['fetch', '--json'], { env: backend.env })).stdout);
    expect(doc.ok).toBe(false);
    expect(doc.errors).toContainEqual(
      expect.objectContaining({ object: objectKey(weights), needed_by: "model/weights.txt of model (stage 'train')", message: expect.stringContaining('it has 3 bytes where 10 were recorded') }),
    );
    expect(c.exists(`.mlcache/${objectKey(weights)}`)).toBe(false);

    // repro --pull falls back to running the stage, and says why.
    const d = cloneOf(a);
    const run = await d.run(['repro', '--pull'], { env: backend.env });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`corrupt remote object ${objectKey(hash)} rejected`);
    expect(run.stdout).toContain("Stage 'train' succeeded");
  });
}

describe('directory remote', () => {
  scenarios(directoryBackend);

  it('push --all-commits sends older lockfiles\' outs; fetch --run-cache brings entries a later repro restores from', async () => {
    const backend = directoryBackend();
    const a = await origin(backend);
    expect((await a.repro(['-S', 'lr=2'])).outcomes).toEqual({ train: 'succeeded' });
    a.commitAll('lr=2');
    // HEAD's outs: weights (new), info, summary, the model manifest (new).
    const head = json<TransferDoc>((await a.run(['push', '--no-run-cache', '--json'])).stdout);
    expect(head).toMatchObject({ ok: true, transferred: { objects: 4 }, run_entries: 0 });
    // The first commit's weights and manifest differ from HEAD's.
    const all = json<TransferDoc>((await a.run(['push', '--all-commits', '--no-run-cache', '--json'])).stdout);
    expect(all).toMatchObject({ ok: true, transferred: { objects: 2 }, present: 4 });
    const runs = json<TransferDoc>((await a.run(['push', '--json'])).stdout);
    expect(runs).toMatchObject({ ok: true, transferred: { objects: 0 }, run_entries: 2 });

    const b = cloneOf(a);
    const fetched = json<TransferDoc>((await b.run(['fetch', '--run-cache', '--json'])).stdout);
    expect(fetched).toMatchObject({ ok: true, transferred: { objects: 6 }, run_entries: 2 });
    const r = await b.repro(['-S', 'lr=1'], { env: { FAIL_IF_RUN: '1' } });
    expect(r.outcomes).toEqual({ train: 'restored' });
    expect(r.doc.stages[0]).toMatchObject({ restored_from: 'run-cache' });
    expect(b.read('model/weights.txt')).toBe('lr=1\nrows\n');
  });

  it('a remote directory that does not exist is an error, not a folder created on the local disk', async () => {
    const a = projects.make({ 'pipeline.yaml': PIPE, 'params.yaml': 'lr: 1\n', 'data.txt': 'rows\n' });
    const gone = path.join(os.tmpdir(), `mlbuild-no-such-mount-${randomBytes(4).toString('hex')}`);
    await a.run(['remote', 'add', '-d', 'nfs', gone]);
    await a.repro();
    const r = await a.run(['push']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`remote 'nfs': directory '${gone}' does not exist`);
    expect(fs.existsSync(gone)).toBe(false);
  });
});

describe.skipIf(s3Down !== undefined && !s3Required)(`S3 remote (${S3_ENDPOINT}${s3Down ? `; skipped: ${s3Down}` : ''})`, () => {
  it('the S3 server is reachable (CI starts it; it must not be silently skipped there)', () => {
    expect(s3Down, `no S3 server at ${S3_ENDPOINT}: ${s3Down}; .ci/run starts scripts/swift-s3-localhost.sh`).toBeUndefined();
  });

  scenarios(s3Backend);

  it('a missing bucket or missing credentials stop the transfer with a clear error', async () => {
    const a = projects.make({ 'pipeline.yaml': PIPE, 'params.yaml': 'lr: 1\n', 'data.txt': 'rows\n' });
    await a.run(['remote', 'add', '-d', 's3', 's3://mlbuild-no-such-bucket/x']);
    await a.run(['remote', 'modify', 's3', 'endpoint_url', S3_ENDPOINT]);
    await a.repro();
    const r = await a.run(['push'], { env: S3_ENV });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("bucket 'mlbuild-no-such-bucket' does not exist");
    const noCreds = await a.run(['push'], { env: { AWS_ACCESS_KEY_ID: 'nobody', AWS_SECRET_ACCESS_KEY: 'wrong' } });
    expect(noCreds.code).toBe(1);
    expect(noCreds.stderr).toContain('access denied or no credentials');
  });
});

describe('remote configuration', () => {
  it('add, list, default, modify and remove write the config files; bad input is refused with a hint', async () => {
    const p = projects.make({ 'pipeline.yaml': PIPE });
    expect((await p.run(['remote', 'add', 'team', 's3://ml-team/cache', '-d'])).code).toBe(0);
    expect((await p.run(['remote', 'add', 'nfs', '/mnt/mlcache'])).code).toBe(0);
    expect((await p.run(['remote', 'modify', '--local', 'team', 'profile', 'me'])).code).toBe(0);
    expect(p.read('.mlbuild/config.local.yaml')).toContain('profile: me');
    expect(p.read('.mlbuild/.gitignore')).toBe('/config.local.yaml\n');
    let list = json<{ remotes: { name: string; default: boolean; profile?: string }[] }>((await p.run(['remote', 'list', '--json'])).stdout);
    expect(list.remotes).toEqual([
      { name: 'team', url: 's3://ml-team/cache', default: true, profile: 'me' },
      { name: 'nfs', url: '/mnt/mlcache', default: false },
    ]);
    expect((await p.run(['remote', 'default', 'nfs'])).code).toBe(0);
    expect((await p.run(['remote', 'remove', 'nfs'])).code).toBe(0);
    list = json((await p.run(['remote', 'list', '--json'])).stdout);
    expect(list.remotes.map((r) => [r.name, r.default])).toEqual([['team', false]]);
    expect(p.read('.mlbuild/config.yaml')).not.toContain('nfs');

    const bad = await p.run(['remote', 'add', 'web', 'ftp://example.org/cache']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("error: the URL of remote 'web': remote URL scheme 'ftp://' is not supported");
    expect(bad.stderr).toContain("hint: use 's3://bucket/prefix'");
    const bucket = await p.run(['remote', 'add', 'x', 's3://Bad_Bucket']);
    expect(bucket.code).toBe(2);
    expect(bucket.stderr).toContain("'Bad_Bucket' in 's3://Bad_Bucket' is not a valid S3 bucket name");
    const dup = await p.run(['remote', 'add', 'team', '/elsewhere']);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain("remote 'team' already exists");
    const unknown = await p.run(['remote', 'modify', 'nope', 'region', 'eu-west-1']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no remote named 'nope' in .mlbuild/config.yaml; defined: team");
    const key = await p.run(['remote', 'modify', 'team', 'secret_access_key', 'x']);
    expect(key.code).toBe(2);
    expect(key.stderr).toContain("'secret_access_key' is not a remote setting");
    const push = await p.run(['push', '-r', 'nope']);
    expect(push.code).toBe(2);
    expect(push.stderr).toContain("no remote named 'nope'");
    expect(p.read('.mlbuild/config.yaml')).not.toMatch(/web|Bad_Bucket|elsewhere|nope|secret/);
  });

  it('a bad url written by hand is reported at its line in the config file', async () => {
    const p = projects.make({ 'pipeline.yaml': PIPE, '.mlbuild/config.yaml': 'core:\n  remote: x\nremote:\n  x:\n    url: ftp://host/cache\n' });
    const r = await p.run(['push']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(".mlbuild/config.yaml:5:10: error: remote.x.url: remote URL scheme 'ftp://' is not supported");
    const none = projects.make({ 'pipeline.yaml': PIPE });
    const n = await none.run(['pull']);
    expect(n.code).toBe(2);
    expect(n.stderr).toContain('no remote is configured');
  });

  it('commands that use no S3 remote never load the AWS SDK', async () => {
    const p = projects.make({ 'pipeline.yaml': PIPE, 'params.yaml': 'lr: 1\n', 'data.txt': 'rows\n' });
    const log = p.path('loaded.txt');
    // A module hook records every file the CLI loads; the SDK's chunk is the one defining S3Client.
    p.write({
      'hooks.mjs': `import fs from 'node:fs';\nexport async function load(url, ctx, next) { fs.appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, ctx); }\n`,
      'register.mjs': "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n",
    });
    await p.run(['remote', 'add', '-d', 'd', remoteDir()]);
    for (const args of [['repro'], ['status'], ['push'], ['status', '-c']]) {
      const r = await p.run(args, { env: { NODE_OPTIONS: `--import ${p.path('register.mjs')}` } });
      expect(r.code, r.stderr).toBe(0);
    }
    const loaded = fs.readFileSync(log, 'utf8').split('\n').filter((u) => u.includes('/dist/'));
    expect(loaded.length).toBeGreaterThan(1);
    for (const u of loaded) expect(fs.readFileSync(new URL(u), 'utf8'), u).not.toContain('S3Client');
  });
});
