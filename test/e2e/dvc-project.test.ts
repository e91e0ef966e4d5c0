/**
 * Issue 12: a DVC project works unchanged from its first fresh clone. The fixture is shaped like
 * DVC's get-started example (raw data tracked by a `.dvc` file, a raw directory tracked by
 * another, four stages with directory outs, params.yaml, a DVC-layout remote on disk named in
 * `.dvc/config`), built here from DVC's documented formats: md5 of the bytes for files, md5 of
 * the sorted JSON listing for directories (golden-tested in test/unit/hashing/md5.test.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { Project, useProjects } from './rig.js';

const projects = useProjects();
vi.setConfig({ testTimeout: 120_000 });

const md5 = (b: string | Buffer): string => crypto.createHash('md5').update(b).digest('hex');
/** DVC's `.dir` listing, as Python's json.dumps(sort_keys=True) writes it (ASCII names only here). */
const listing = (files: Record<string, string>): string =>
  '[' + Object.keys(files).sort().map((k) => `{"md5": "${md5(files[k]!)}", "relpath": "${k}"}`).join(', ') + ']';

const DATA = Array.from({ length: 200 }, (_, i) => `<row id="${i}" text="post ${i} about ${i % 3 === 0 ? 'r' : 'python'}"/>`).join('\n') + '\n';
const RAW: Record<string, string> = { 'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n' };

/** Puts `text` on the DVC remote under DVC 3's layout (or DVC 2's with `v2`). */
function putObject(remote: string, hash: string, text: string, v2 = false): string {
  const key = v2 ? `${hash.slice(0, 2)}/${hash.slice(2)}` : `files/md5/${hash.slice(0, 2)}/${hash.slice(2)}`;
  fs.mkdirSync(path.dirname(path.join(remote, key)), { recursive: true });
  fs.writeFileSync(path.join(remote, key), text);
  return key;
}

const STAGE_JS = {
  'src/prepare.js': `const fs=require('fs');const p=JSON.parse(fs.readFileSync(process.env.MLBUILD_PARAMS,'utf8'));
const rows=fs.readFileSync('data/data.xml','utf8').trim().split('\\n');const n=Math.round(rows.length*p.prepare.split);
fs.mkdirSync('data/prepared',{recursive:true});fs.writeFileSync('data/prepared/train.tsv',rows.slice(n).join('\\n'));fs.writeFileSync('data/prepared/test.tsv',rows.slice(0,n).join('\\n'));
fs.appendFileSync('runs.log','prepare\\n');`,
  'src/featurize.js': `const fs=require('fs');const p=JSON.parse(fs.readFileSync(process.env.MLBUILD_PARAMS,'utf8'));
fs.mkdirSync('data/features',{recursive:true});for(const s of ['train','test']){const r=fs.readFileSync('data/prepared/'+s+'.tsv','utf8').split('\\n');
fs.writeFileSync('data/features/'+s+'.json',JSON.stringify(r.map(x=>x.length%p.featurize.max_features)));}fs.appendFileSync('runs.log','featurize\\n');`,
  'src/train.js': `const fs=require('fs');const p=JSON.parse(fs.readFileSync(process.env.MLBUILD_PARAMS,'utf8'));
const f=JSON.parse(fs.readFileSync('data/features/train.json','utf8'));fs.writeFileSync('model.pkl',JSON.stringify({w:f.reduce((a,b)=>a+b,0)*p.train.seed%997}));fs.appendFileSync('runs.log','train\\n');`,
  'src/evaluate.js': `const fs=require('fs');const m=JSON.parse(fs.readFileSync('model.pkl','utf8'));const t=JSON.parse(fs.readFileSync('data/features/test.json','utf8'));
fs.mkdirSync('eval',{recursive:true});fs.writeFileSync('eval/metrics.json',JSON.stringify({avg_prec:(m.w%100)/100,roc_auc:t.length/1000}));fs.appendFileSync('runs.log','evaluate\\n');`,
};

const DVC_YAML = `stages:
  prepare:
    cmd: node src/prepare.js
    deps:
    - data/data.xml
    - src/prepare.js
    params:
    - prepare.split
    outs:
    - data/prepared
  featurize:
    cmd: node src/featurize.js
    deps:
    - data/prepared
    - src/featurize.js
    params:
    - featurize.max_features
    outs:
    - data/features
  train:
    cmd: node src/train.js
    deps:
    - data/features
    - data/raw
    - src/train.js
    params:
    - train.seed
    outs:
    - model.pkl
  evaluate:
    cmd: node src/evaluate.js
    deps:
    - model.pkl
    - src/evaluate.js
    outs:
    - eval
# DVCLive's layout: the metrics file inside a directory out, declared at the top level.
metrics:
- eval/metrics.json
`;

/** The upstream repository (committed) and its DVC remote on disk. */
function upstream(): { origin: Project; remote: string; dataKey: string } {
  const origin = projects.make({
    'dvc.yaml': DVC_YAML,
    'params.yaml': 'prepare:\n  split: 0.2\nfeaturize:\n  max_features: 7\ntrain:\n  seed: 20170428\n',
    ...STAGE_JS,
    // As `dvc add data/data.xml` writes it (DVC 3).
    'data/data.xml.dvc': `outs:\n- md5: ${md5(DATA)}\n  size: ${Buffer.byteLength(DATA)}\n  hash: md5\n  path: data.xml\n`,
    // A DVC 2 pointer (no hash: key) to a directory.
    'data/raw.dvc': `outs:\n- md5: ${md5(listing(RAW))}.dir\n  size: 11\n  nfiles: 2\n  path: raw\n`,
    'data/.gitignore': '/data.xml\n/raw\n',
    '.gitignore': '/runs.log\n',
  });
  const remote = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-dvc-remote-'));
  origin.write({ '.dvc/config': `[core]\n    remote = storage\n['remote "storage"']\n    url = ${remote}\n` });
  const dataKey = putObject(remote, md5(DATA), DATA);
  putObject(remote, md5(listing(RAW)) + '.dir', listing(RAW), true);
  for (const t of Object.values(RAW)) putObject(remote, md5(t), t, true);
  origin.commitAll('get-started shaped DVC project');
  return { origin, remote, dataKey };
}

function cloneOf(origin: Project): Project {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-clone-'));
  const r = spawnSync('git', ['clone', '-q', origin.dir, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const p = Object.create(Project.prototype) as Project;
  Object.defineProperty(p, 'dir', { value: dir });
  projects.push(p);
  return p;
}

describe('a DVC project from its first fresh clone (no -f)', () => {
  it('status says the data is missing and where it comes from; pull fetches it md5-verified; repro, metrics, no-op, param and data edits', async () => {
    const { origin } = upstream();
    const p = cloneOf(origin);

    let r = await p.run(['status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('missing data:');
    expect(r.stdout).toContain('data/data.xml (needed by prepare): tracked by data/data.xml.dvc: get it with `mlbuild pull data/data.xml.dvc`');
    expect(r.stdout).toContain('data/raw (needed by train): tracked by data/raw.dvc');
    expect((await p.run(['status', '--check'])).code).toBe(1);
    const js = JSON.parse((await p.run(['status', '--json'])).stdout) as { up_to_date: boolean; missing: { path: string; pointer: string }[]; data: { path: string; state: string }[] };
    expect(js.up_to_date).toBe(false);
    expect(js.missing.map((m) => [m.path, m.pointer])).toEqual([['data/data.xml', 'data/data.xml.dvc'], ['data/raw', 'data/raw.dvc']]);
    expect(js.data.map((d) => [d.path, d.state])).toEqual([['data/data.xml', 'missing'], ['data/raw', 'missing']]);
    for (const args of [['dag'], ['repro', '--dry'], ['metrics', 'show'], ['plots', 'show', '-o', 'plots-out'], ['fetch'], ['status', '-c']]) {
      const x = await p.run(args);
      expect(x.code, `${args.join(' ')}: ${x.stderr}`).toBe(0);
    }
    p.remove('plots-out');
    // Tracked data are nodes of the graph, as `dvc dag` shows them.
    expect((await p.run(['dag'])).stdout).toMatch(/^◆ data\/data\.xml\.dvc {2}→ prepare\n◆ data\/raw\.dvc {2}→ train\n● prepare\n/);
    const dagJson = JSON.parse((await p.run(['dag', '--json'])).stdout) as { data: { pointer: string; md5: string; stages: string[] }[]; edges: { from: string; to: string }[] };
    expect(dagJson.data[0]).toEqual({ pointer: 'data/data.xml.dvc', path: 'data/data.xml', md5: md5(DATA), stages: ['prepare'] });
    expect(dagJson.edges).toContainEqual({ from: 'data/raw.dvc', to: 'train' });
    const dry = await p.run(['repro', '--dry']);
    expect(dry.stdout + dry.stderr).toContain('missing input data/data.xml (needed by prepare): tracked by data/data.xml.dvc: get it with `mlbuild pull data/data.xml.dvc`');

    // repro without the data fails, naming the path and the command that brings it.
    r = await p.run(['repro']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("dvc.yaml:5:7: error: dep 'data/data.xml' of stage 'prepare' is missing: the data is not in the workspace");
    expect(r.stderr).toContain('hint: tracked by data/data.xml.dvc: get it with `mlbuild pull data/data.xml.dvc`');
    expect(r.stderr).toContain("dep 'data/raw' of stage 'train' is missing");
    expect(p.exists('runs.log')).toBe(false);

    r = await p.run(['pull']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(p.read('data/data.xml')).toBe(DATA);
    expect(p.read('data/raw/sub/b.txt')).toBe('beta\n');

    let rep = await p.repro();
    expect(rep.code, rep.stderr).toBe(0);
    expect(rep.outcomes).toEqual({ prepare: 'succeeded', featurize: 'succeeded', train: 'succeeded', evaluate: 'succeeded' });
    r = await p.run(['metrics', 'show', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ 'eval/metrics.json': { avg_prec: expect.any(Number), roc_auc: expect.any(Number) } });

    rep = await p.repro();
    expect(Object.values(rep.outcomes)).toEqual(['fresh', 'fresh', 'fresh', 'fresh']);
    expect((await p.run(['status'])).stdout).toBe('Data and pipelines are up to date.\n');

    p.write({ 'params.yaml': p.read('params.yaml').replace('seed: 20170428', 'seed: 7') });
    expect((await p.run(['status'])).stdout).toContain('train:\n\tchanged params: train.seed');

    fs.chmodSync(p.path('data/data.xml'), 0o644);
    p.write({ 'data/data.xml': DATA + '<row id="new"/>\n' });
    r = await p.run(['status']);
    expect(r.stdout).toContain('data/data.xml.dvc:\n\tchanged data: data/data.xml');
    expect(r.stdout).toContain('prepare:\n\tchanged deps: data/data.xml');
  });

  it('repro --pull in a fresh clone fetches the tracked data, then runs', async () => {
    const { origin } = upstream();
    const p = cloneOf(origin);
    const rep = await p.repro(['--pull']);
    expect(rep.code, rep.stderr).toBe(0);
    expect(rep.outcomes).toEqual({ prepare: 'succeeded', featurize: 'succeeded', train: 'succeeded', evaluate: 'succeeded' });
    expect(p.read('data/data.xml')).toBe(DATA);
  });

  it('init in a DVC project creates no second pipeline and says so', async () => {
    const { origin } = upstream();
    const r = await origin.run(['init']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('dvc.yaml: is the pipeline (DVC project): no pipeline.yaml created');
    expect(origin.exists('pipeline.yaml')).toBe(false);
    expect(origin.exists('params/base.yaml')).toBe(false);
  });

  it('a truncated or tampered object on the remote is refused by name and never enters the cache', async () => {
    const { origin, remote, dataKey } = upstream();
    const p = cloneOf(origin);
    fs.writeFileSync(path.join(remote, dataKey), DATA.slice(0, 100));
    let r = await p.run(['pull', 'data/data.xml.dvc']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain(`remote object ${dataKey} rejected: it has 100 bytes where ${Buffer.byteLength(DATA)} were recorded`);
    expect(p.exists('data/data.xml')).toBe(false);

    fs.writeFileSync(path.join(remote, dataKey), DATA.replace('post 1 ', 'post X '));
    r = await p.run(['pull', 'data/data.xml.dvc']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain(`remote object ${dataKey} rejected: its content hashes to md5 ${md5(DATA.replace('post 1 ', 'post X '))}, not ${md5(DATA)}`);
    expect(p.exists('data/data.xml')).toBe(false);
    // A listing that names other files than the one the pointer records is refused before any file is fetched.
    const dirMd5 = md5(listing(RAW));
    const listingKey = `${dirMd5.slice(0, 2)}/${dirMd5.slice(2)}.dir`;
    fs.writeFileSync(path.join(remote, listingKey), listing({ ...RAW, 'evil.sh': 'rm -rf ~\n' }));
    r = await p.run(['pull', 'data/raw.dvc']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain(`remote object ${listingKey} rejected: its content hashes to md5 ${md5(listing({ ...RAW, 'evil.sh': 'rm -rf ~\n' }))}.dir, not ${dirMd5}.dir (corrupt or tampered)`);
    expect(p.exists('data/raw')).toBe(false);
    const objects = path.join(p.dir, '.mlcache', 'objects');
    const all = fs.existsSync(objects) ? fs.readdirSync(objects, { recursive: true }).map(String) : [];
    expect(all.filter((f) => !f.startsWith('incoming') && f.length > 2)).toEqual([]);
  });

  it('reads an http(s) remote from .dvc/config (read-only) and pushes to a DVC remote in DVC 3 layout', async () => {
    const { origin, remote } = upstream();
    // A plain web server over the remote folder, as DVC's get-started https remote is.
    const server = http.createServer((req, res) => {
      const file = path.join(remote, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
      if (!file.startsWith(remote) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': fs.statSync(file).size });
      if (req.method === 'HEAD') res.end();
      else fs.createReadStream(file).pipe(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const p = cloneOf(origin);
      p.write({ '.dvc/config.local': `['remote "web"']\n    url = http://127.0.0.1:${port}\n[core]\n    remote = web\n` });
      let r = await p.run(['pull']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(p.read('data/data.xml')).toBe(DATA);
      r = await p.run(['push', '-r', 'web']);
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toContain("remote 'web'");
      expect(r.stdout + r.stderr).toContain('read-only over HTTP');

      // Push what mlbuild built to a fresh DVC remote: DVC 3 layout, listings DVC can read.
      const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-dvc-push-'));
      p.write({ '.dvc/config.local': `['remote "fresh"']\n    url = ${fresh}\n` });
      expect((await p.repro()).code).toBe(0);
      r = await p.run(['push', '-r', 'fresh']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(fs.readFileSync(path.join(fresh, 'files/md5', md5(DATA).slice(0, 2), md5(DATA).slice(2)), 'utf8')).toBe(DATA);
      const prepared = { 'test.tsv': p.read('data/prepared/test.tsv'), 'train.tsv': p.read('data/prepared/train.tsv') };
      const dirMd5 = md5(listing(prepared));
      expect(fs.readFileSync(path.join(fresh, 'files/md5', dirMd5.slice(0, 2), dirMd5.slice(2) + '.dir'), 'utf8')).toBe(listing(prepared));
      // data/raw.dvc is a DVC 2 pointer: its data goes to DVC 2's layout, where DVC looks for legacy hashes.
      const rawMd5 = md5(listing(RAW));
      expect(fs.readFileSync(path.join(fresh, rawMd5.slice(0, 2), rawMd5.slice(2) + '.dir'), 'utf8')).toBe(listing(RAW));
      expect(fs.readFileSync(path.join(fresh, md5('alpha\n').slice(0, 2), md5('alpha\n').slice(2)), 'utf8')).toBe('alpha\n');
      r = await p.run(['status', '-c', '-r', 'fresh']);
      expect(r.stdout, r.stderr).toContain("in sync");

      // A second clone pulls mlbuild's outs back from that DVC remote.
      const q = cloneOf(origin);
      fs.copyFileSync(p.path('mlbuild.lock'), q.path('mlbuild.lock'));
      q.write({ '.dvc/config.local': `['remote "fresh"']\n    url = ${fresh}\n[core]\n    remote = fresh\n` });
      r = await q.run(['pull']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(q.read('data/prepared/train.tsv')).toBe(prepared['train.tsv']);
      expect(Object.values((await q.repro()).outcomes)).toEqual(['fresh', 'fresh', 'fresh', 'fresh']);

      // repro --pull from the DVC remote: the data first, then each stage's outs instead of a rebuild.
      const z = cloneOf(origin);
      fs.copyFileSync(p.path('mlbuild.lock'), z.path('mlbuild.lock'));
      z.write({ '.dvc/config.local': q.read('.dvc/config.local') });
      const rep = await z.repro(['--pull']);
      expect(rep.code, rep.stderr).toBe(0);
      expect(rep.outcomes).toEqual({ prepare: 'restored', featurize: 'restored', train: 'restored', evaluate: 'restored' });
      expect(z.exists('runs.log')).toBe(false);
    } finally {
      server.close();
    }
  });
});

describe('mlbuild add: raw data with DVC-compatible pointers', () => {
  it('adds a file and a folder (pointer DVC reads, data git-ignored), pushes to an mlbuild remote, pulls into a fresh clone, gc keeps it, checkout restores it', async () => {
    const origin = projects.make({
      'pipeline.yaml': 'stages:\n  count:\n    cmd: ls data/images | wc -l > count.txt\n    deps: [data/images, data/labels.csv]\n    outs: [count.txt]\n',
    });
    origin.commitAll('pipeline');
    origin.write({
      'data/labels.csv': 'id,label\r\n1,cat\r\n',
      'data/images/1.png': 'PNG-ish bytes 1',
      'data/images/sub/2.png': 'PNG-ish bytes 2',
    });
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-add-remote-'));
    origin.write({ '.mlbuild/config.yaml': `remote:\n  shared:\n    url: ${store}\ncore:\n  remote: shared\n` });
    let r = await origin.run(['add', 'data/images', 'data/labels.csv']);
    expect(r.code, r.stderr).toBe(0);
    const images = { '1.png': 'PNG-ish bytes 1', 'sub/2.png': 'PNG-ish bytes 2' };
    expect(origin.read('data/images.dvc')).toMatch(new RegExp(`^outs:\\n- md5: ${md5(listing(images))}\\.dir\\n  size: 30\\n  nfiles: 2\\n  hash: md5\\n  path: images\\nmeta:\\n  mlbuild:\\n`));
    // DVC 3 hashes the bytes as they are (CRLF kept).
    expect(origin.read('data/labels.csv.dvc')).toContain(`- md5: ${md5('id,label\r\n1,cat\r\n')}\n  size: 17\n  hash: md5\n  path: labels.csv\n`);
    expect(origin.read('.gitignore')).toContain('/data/images\n');
    expect(origin.git('status', '--porcelain')).not.toContain('data/images/');
    r = await origin.run(['add', 'count.txt']);
    expect(r.code).toBe(2);
    r = await origin.run(['add', 'pipeline.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'pipeline.yaml' is tracked by git");

    expect((await origin.repro()).code).toBe(0);
    r = await origin.run(['push']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    r = await origin.run(['status', '-c']);
    expect(r.stdout).toContain('in sync');
    origin.commitAll('data tracked by mlbuild add');

    const p = cloneOf(origin);
    r = await p.run(['status']);
    expect(r.stdout).toContain('data/images (needed by count): tracked by data/images.dvc');
    r = await p.run(['pull']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(p.read('data/images/sub/2.png')).toBe('PNG-ish bytes 2');
    expect(p.read('data/labels.csv')).toBe('id,label\r\n1,cat\r\n');
    expect((await p.repro()).outcomes).toEqual({ count: 'fresh' });

    // gc keeps pointer data; checkout brings it back after it is deleted.
    expect((await p.run(['gc'])).code).toBe(0);
    p.remove('data/images');
    r = await p.run(['status']);
    expect(r.stdout).toContain('missing data:\n\tdata/images (needed by count): tracked by data/images.dvc');
    r = await p.run(['checkout']);
    expect(r.code, r.stderr).toBe(0);
    expect(p.read('data/images/1.png')).toBe('PNG-ish bytes 1');
    expect((await p.run(['status'])).stdout).toBe('Data and pipelines are up to date.\n');
  });
});

describe('imported data (repo.url + rev_lock)', () => {
  it("fetches the pinned file from the source repository's DVC remote, and says clearly when it cannot", async () => {
    const registryRemote = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-registry-remote-'));
    const registry = projects.make({ 'README.md': 'datasets\n', '.dvc/config': `[core]\n    remote = store\n['remote "store"']\n    url = ${registryRemote}\n` });
    registry.commitAll('registry');
    const rev = registry.git('rev-parse', 'HEAD').trim();
    putObject(registryRemote, md5(DATA), DATA);
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-own-remote-'));
    const p = projects.make({
      'pipeline.yaml': 'stages:\n  lines:\n    cmd: wc -l < data/data.xml > lines.txt\n    deps: [data/data.xml]\n    outs: [lines.txt]\n',
      // As `dvc import <registry> get-started/data.xml -o data/data.xml` writes it.
      'data/data.xml.dvc': `md5: 2f4d6d8d6e6b1f1e0f0b5b8f8a1c6f0e\nfrozen: true\ndeps:\n- path: get-started/data.xml\n  repo:\n    url: ${registry.dir}\n    rev_lock: ${rev}\nouts:\n- md5: ${md5(DATA)}\n  size: ${Buffer.byteLength(DATA)}\n  hash: md5\n  path: data.xml\n`,
      '.dvc/config': `[core]\n    remote = own\n['remote "own"']\n    url = ${own}\n`,
    });
    let r = await p.run(['status']);
    expect(r.stdout).toContain(`data/data.xml (needed by lines): tracked by data/data.xml.dvc (imported from ${registry.dir}@${rev.slice(0, 7)})`);
    r = await p.run(['pull']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(p.read('data/data.xml')).toBe(DATA);
    expect((await p.repro()).code).toBe(0);

    // The source's remote loses the object: the error names the import and both places looked at.
    fs.rmSync(path.join(registryRemote, 'files'), { recursive: true });
    p.remove('data/data.xml');
    p.remove('.mlcache');
    r = await p.run(['pull']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain(`data/data.xml (tracked by data/data.xml.dvc, imported from ${registry.dir}@${rev.slice(0, 12)})`);
    expect(r.stdout + r.stderr).toContain(`not on remote 'store of ${registry.dir}'`);
  });
});

// A DVC remote on S3 (`endpointurl` in .dvc/config), against the S3 server `.ci/run` starts
// (scripts/swift-s3-localhost.sh). Skipped with the reason outside CI when no server answers.
const S3_ENDPOINT = process.env.MLBUILD_TEST_S3_ENDPOINT ?? 'http://127.0.0.1:8080';
const S3_ENV = {
  AWS_ACCESS_KEY_ID: process.env.MLBUILD_TEST_S3_ACCESS_KEY ?? 'test:tester',
  AWS_SECRET_ACCESS_KEY: process.env.MLBUILD_TEST_S3_SECRET_KEY ?? 'testing',
  AWS_REGION: 'us-east-1',
};
const s3Down = await fetch(S3_ENDPOINT, { signal: AbortSignal.timeout(3000) }).then(
  () => undefined,
  (e: Error) => e.message,
);
if (s3Down && process.env.CI !== 'true') console.warn(`dvc-project.test.ts: S3 test skipped: no S3 server at ${S3_ENDPOINT} (${s3Down})`);

describe.skipIf(s3Down !== undefined && process.env.CI !== 'true')('a DVC remote on S3 with endpointurl', () => {
  it('pushes the tracked data and outs in DVC 3 layout, and a fresh clone pulls them md5-verified', async () => {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    const sdk = await import('@aws-sdk/client-s3');
    const client = new sdk.S3Client({ endpoint: S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: S3_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: S3_ENV.AWS_SECRET_ACCESS_KEY } });
    const bucket = `mlbuild-dvc-${crypto.randomBytes(4).toString('hex')}`;
    await client.send(new sdk.CreateBucketCommand({ Bucket: bucket }));
    const { origin } = upstream();
    const p = cloneOf(origin);
    expect((await p.run(['pull'])).code).toBe(0);
    p.write({ '.dvc/config.local': `[core]\n    remote = s3\n['remote "s3"']\n    url = s3://${bucket}/dvcstore\n    endpointurl = ${S3_ENDPOINT}\n` });
    expect((await p.repro([], { env: S3_ENV })).code).toBe(0);
    let r = await p.run(['push'], { env: S3_ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const listed = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: 'dvcstore/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key);
    expect(keys).toContain(`dvcstore/files/md5/${md5(DATA).slice(0, 2)}/${md5(DATA).slice(2)}`);
    // The DVC 2 pointer's directory: DVC 2's layout.
    expect(keys).toContain(`dvcstore/${md5(listing(RAW)).slice(0, 2)}/${md5(listing(RAW)).slice(2)}.dir`);

    const q = cloneOf(origin);
    fs.copyFileSync(p.path('mlbuild.lock'), q.path('mlbuild.lock'));
    q.write({ '.dvc/config.local': p.read('.dvc/config.local') });
    r = await q.run(['pull'], { env: S3_ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(q.read('data/data.xml')).toBe(DATA);
    expect(Object.values((await q.repro([], { env: S3_ENV })).outcomes)).toEqual(['fresh', 'fresh', 'fresh', 'fresh']);
  });
});

describe('a fresh clone of an mlbuild-built project after push', () => {
  it('names the raw input the lockfile records, and pull brings it with the outs', async () => {
    const origin = projects.make({
      'pipeline.yaml': 'stages:\n  clean:\n    cmd: tr a-z A-Z < data/raw.csv > clean.csv\n    deps: [data/raw.csv]\n    outs: [clean.csv]\n',
      '.gitignore': '/data/\n',
      'data/raw.csv': 'a,b\n1,2\n',
    });
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-inputs-remote-'));
    origin.write({ '.mlbuild/config.yaml': `remote:\n  shared:\n    url: ${store}\ncore:\n  remote: shared\n` });
    expect((await origin.repro()).code).toBe(0);
    let r = await origin.run(['push']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    origin.commitAll('built');

    const p = cloneOf(origin);
    r = await p.run(['status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("data/raw.csv (needed by clean): recorded in mlbuild.lock by stage 'clean': get it with `mlbuild pull`");
    r = await p.run(['repro']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: dep 'data/raw.csv' of stage 'clean' is missing: the data is not in the workspace");
    r = await p.run(['pull']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(p.read('data/raw.csv')).toBe('a,b\n1,2\n');
    expect((await p.repro()).outcomes).toEqual({ clean: 'fresh' });

    // An edited input is the user's work: pull leaves it alone.
    p.write({ 'data/raw.csv': 'mine\n' });
    expect((await p.run(['pull'])).code).toBe(0);
    expect(p.read('data/raw.csv')).toBe('mine\n');
  });
});
