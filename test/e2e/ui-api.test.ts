/**
 * `mlbuild ui`'s JSON API through the built CLI on a real git history: every endpoint answers what
 * the CLI says (status --json, exp show --json, metrics at each commit, plots diff --json), bad
 * input gets a 4xx with the reason, paths outside the project and foreign Host headers are
 * refused, and nothing in the project changes while it serves. Also a dvc.yaml project.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBuilt, useProjects } from './rig.js';
import { accAt, getJson, psiAt, makeFixture, startUi, type Fixture, type UiServer } from './ui-rig.js';

const projects = useProjects();

function withHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { host } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** Every file under the project except .git and .mlcache, with its bytes. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const abs = path.join(d, e.name);
      if (e.name === '.git' || e.name === '.mlcache') continue;
      if (e.isDirectory()) walk(abs);
      else out.set(path.relative(dir, abs), fs.readFileSync(abs, 'latin1'));
    }
  };
  walk(dir);
  return out;
}

describe('mlbuild ui: the JSON API', () => {
  let fx: Fixture;
  let ui: UiServer;
  let before: Map<string, string>;
  let refsBefore: string;

  beforeAll(async () => {
    cliBuilt();
    fx = await makeFixture();
    before = snapshot(fx.p.dir);
    refsBefore = fx.p.git('for-each-ref');
    ui = await startUi(fx.p);
  }, 120_000);

  afterAll(async () => {
    if (ui) expect(await ui.stop()).toBe(0);
    fx?.p.cleanup();
  });

  it('GET /api/pipeline: the DAG with status --json reasons, expected times and last runs', async () => {
    const { status, body } = await getJson<{
      up_to_date: boolean;
      stages: { name: string; state: string; reasons: string[]; reason_codes: string[]; upstream: string[]; expected_s: number | null; expected_cost: { cpu_s: number | null; gpu_s: number } | null; last_run: { ok: boolean } | null }[];
      stale_expected: { stages: number; cpu_s: number; gpu_s: number };
    }>(`${ui.url}/api/pipeline`);
    expect(status).toBe(200);
    const cli = JSON.parse((await fx.p.run(['status', '--json'])).stdout) as { stages: { name: string; reasons: string[]; reason_codes: string[] }[] };
    expect(body.stages.map((s) => [s.name, s.reasons, s.reason_codes])).toEqual(cli.stages.map((s) => [s.name, s.reasons, s.reason_codes]));
    const prepare = body.stages.find((s) => s.name === 'prepare')!;
    expect(prepare.state).toBe('stale');
    expect(prepare.reasons).toEqual(['changed deps: src/raw.txt']);
    expect(prepare.expected_s).toBeGreaterThan(0);
    expect(prepare.last_run?.ok).toBe(true);
    expect(body.stages.find((s) => s.name === 'train')!.upstream).toEqual(['prepare']);
    expect(body.up_to_date).toBe(false);
    expect(body.stale_expected.stages).toBe(2);
    // The expected cost is that of each stage's last successful run in the run history.
    const runs = fx.p
      .read('.mlcache/runs.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { stage: string; ok: boolean; cpu_s: number | null; gpu_s: number });
    const lastOk = (stage: string) => runs.filter((r) => r.stage === stage && r.ok).at(-1)!;
    expect(prepare.expected_cost).toEqual({ cpu_s: lastOk('prepare').cpu_s, gpu_s: 0 });
    expect(body.stale_expected.cpu_s).toBeCloseTo((lastOk('prepare').cpu_s ?? 0) + (lastOk('train').cpu_s ?? 0), 3);
    expect(body.stale_expected.gpu_s).toBe(0);
  });

  it('GET /api/experiments: the rows of exp show --json, every param and metric column', async () => {
    const { status, body } = await getJson<{ experiments: { name: string; params: Record<string, unknown>; metrics: Record<string, Record<string, number>> }[]; params: string[]; metrics: string[] }>(`${ui.url}/api/experiments`);
    expect(status).toBe(200);
    const cli = JSON.parse((await fx.p.run(['exp', 'show', '--json'])).stdout) as { experiments: unknown[] };
    expect(body.experiments).toEqual(cli.experiments);
    expect(body.experiments.map((e) => e.name)).toEqual(['workspace', 'main', 'hi', 'lo']);
    expect(body.experiments.find((e) => e.name === 'hi')!.metrics['metrics/train.json']!.acc).toBeCloseTo(accAt(5) + 0.4, 6);
    expect(body.params).toEqual(['lr']);
    expect(body.metrics).toEqual(['metrics/train.json:acc', 'metrics/train.json:loss', 'reports/drift.json:psi']);
  });

  it('GET /api/metrics/history: each metric at each of the five commits, newest first; limit, file and branch checked', async () => {
    const { status, body } = await getJson<{ commits: { sha: string; subject: string }[]; metrics: string[]; points: { sha: string; metric: string; value: number }[] }>(`${ui.url}/api/metrics/history?branch=main`);
    expect(status).toBe(200);
    expect(body.commits.map((c) => c.subject)).toEqual(['c5', 'c4', 'c3', 'c2', 'c1']);
    const acc = body.points.filter((p) => p.metric === 'metrics/train.json:acc');
    expect(acc.map((p) => [p.sha, p.value])).toEqual([...fx.commits].reverse().map((sha, i) => [sha, accAt(5 - i)]));

    const two = await getJson<{ commits: unknown[] }>(`${ui.url}/api/metrics/history?branch=main&limit=2`);
    expect(two.body.commits).toHaveLength(2);
    const onlyFile = await getJson<{ metrics: string[] }>(`${ui.url}/api/metrics/history?file=metrics/train.json`);
    expect(onlyFile.body.metrics).toEqual(['metrics/train.json:acc', 'metrics/train.json:loss']);

    expect(await getJson(`${ui.url}/api/metrics/history?limit=0`)).toEqual({ status: 400, body: { error: "limit must be a whole number from 1 to 5000 (got '0')" } });
    expect(await getJson(`${ui.url}/api/metrics/history?branch=nope`)).toEqual({ status: 404, body: { error: "unknown branch or revision 'nope'" } });
    expect(await getJson(`${ui.url}/api/metrics/history?file=params.yaml`)).toEqual({ status: 404, body: { error: "'params.yaml' is not a metrics file of pipeline.yaml" } });
  });

  it('refuses paths outside the project', async () => {
    for (const file of ['../outside.json', '/etc/passwd', 'metrics/../../x.json']) {
      const r = await getJson<{ error: string }>(`${ui.url}/api/metrics/history?file=${encodeURIComponent(file)}`);
      expect(r).toEqual({ status: 403, body: { error: `'${file}' is outside the project` } });
    }
    const res = await fetch(`${ui.url}/%2e%2e/%2e%2e/etc/passwd`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('root:');
  });

  it('GET /api/plots: plots diff --json for the chosen revisions; an unknown revision is a 404', async () => {
    const { status, body } = await getJson<{ revisions: string[]; plots: { id: string; datapoints: { rev: string; y: number }[] }[] }>(`${ui.url}/api/plots?revs=${fx.commits[0]},main`);
    expect(status).toBe(200);
    const cli = JSON.parse((await fx.p.run(['plots', 'diff', fx.commits[0]!, 'main', '--json'])).stdout) as { revisions: string[]; plots: unknown[] };
    expect(body.revisions).toEqual(cli.revisions);
    expect(body.plots).toEqual(cli.plots);
    const roc = body.plots.find((p) => p.id === 'plots/roc.json')!;
    expect(roc.datapoints.filter((d) => d.rev === 'main').map((d) => d.y)).toEqual([0, accAt(5), 1]);
    const dflt = await getJson<{ revisions: string[] }>(`${ui.url}/api/plots`);
    expect(dflt.body.revisions).toEqual(['HEAD', 'workspace']);
    const bad = await getJson<{ error: string }>(`${ui.url}/api/plots?revs=nope`);
    expect(bad.status).toBe(404);
    expect(bad.body.error).toContain("unknown revision 'nope'");
  });

  it('GET /api/models: versions and stages from the GTO tags, each with the metrics of its commit; drift over commits', async () => {
    const { status, body } = await getJson<{
      models: { name: string; versions: { version: string; sha: string; stages: string[] }[]; stages: Record<string, string>; metrics: Record<string, Record<string, number>> }[];
      drift: { metrics: string[]; points: { sha: string; value: number }[] } | null;
    }>(`${ui.url}/api/models`);
    expect(status).toBe(200);
    expect(body.models.map((m) => m.name)).toEqual(['clf']);
    const clf = body.models[0]!;
    expect(clf.versions.map((v) => [v.version, v.sha, v.stages])).toEqual([
      ['v1.1.0', fx.commits[4], ['staging']],
      ['v1.0.0', fx.commits[2], ['prod']],
    ]);
    expect(clf.stages).toEqual({ prod: 'v1.0.0', staging: 'v1.1.0' });
    expect(clf.metrics['v1.0.0']!['metrics/train.json:acc']).toBe(accAt(3));
    // The drift report (a declared metrics file named for drift) at each commit, newest first.
    expect(body.drift?.metrics).toEqual(['reports/drift.json:psi']);
    expect(body.drift?.points.map((p) => [p.sha, p.value])).toEqual([...fx.commits].reverse().map((sha, i) => [sha, psiAt(5 - i)]));
  });

  it('GET /api/revisions, /api/live and /api/logs/:stage', async () => {
    const revs = await getJson<{ current: string; branches: string[]; tags: string[] }>(`${ui.url}/api/revisions`);
    expect(revs.body.current).toBe('main');
    expect(revs.body.branches).toEqual(['main']);
    expect([...revs.body.tags].sort()).toEqual(['clf#prod#1', 'clf#staging#1', 'clf@v1.0.0', 'clf@v1.1.0']);
    const live = await getJson<{ active: boolean; running: unknown[]; progress: unknown }>(`${ui.url}/api/live`);
    expect(live.body).toMatchObject({ active: false, running: [], progress: null });
    const log = await getJson<{ text: string; truncated: boolean }>(`${ui.url}/api/logs/train`);
    expect(log.status).toBe(200);
    expect(log.body.text).toContain('training on 51 bytes, lr 0.1');
    expect(await getJson(`${ui.url}/api/logs/nope`)).toEqual({ status: 404, body: { error: "no stage 'nope' in pipeline.yaml" } });
  });

  it('GET /api/events: server-sent events, opened with a hello carrying the live state', async () => {
    const res = await fetch(`${ui.url}/api/events`);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toMatch(/^event: hello\ndata: \{"active":false/);
    await reader.cancel();
  });

  it('serves the bundled page with no reference to another host', async () => {
    const res = await fetch(`${ui.url}/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/app.js">');
    expect(html).not.toMatch(/https?:\/\//);
    expect((await fetch(`${ui.url}/app.js`)).status).toBe(200);
  });

  it('only reads: no write verbs, loopback Host names only, and the project is unchanged', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) expect((await fetch(`${ui.url}/api/pipeline`, { method })).status).toBe(404);
    // fetch() will not send another Host header: http.get does.
    expect(await withHost(`${ui.url}/api/pipeline`, 'attacker.example')).toEqual({ status: 403, body: "{\"error\":\"host 'attacker.example' refused: this server answers loopback names only\"}" });
    expect((await withHost(`${ui.url}/api/live`, 'localhost:1234')).status).toBe(200);
    expect(snapshot(fx.p.dir)).toEqual(before);
    expect(fx.p.git('for-each-ref')).toBe(refsBefore);
  });
});

describe('mlbuild ui: other projects and bad usage', () => {
  it('serves a DVC project (-f dvc.yaml)', { timeout: 120_000 }, async () => {
    const fx = await makeFixture('dvc.yaml');
    projects.push(fx.p);
    const ui = await startUi(fx.p, ['-f', 'dvc.yaml']);
    try {
      const { body } = await getJson<{ pipeline_file: string; stages: { name: string; state: string; reasons: string[] }[] }>(`${ui.url}/api/pipeline`);
      expect(body.pipeline_file).toBe('dvc.yaml');
      expect(body.stages.map((s) => [s.name, s.state, s.reasons])).toEqual([
        ['prepare', 'stale', ['changed deps: src/raw.txt']],
        ['train', 'stale', ['upstream stale: prepare']],
      ]);
      const h = await getJson<{ points: unknown[] }>(`${ui.url}/api/metrics/history`);
      expect(h.body.points).toHaveLength(15);
    } finally {
      expect(await ui.stop()).toBe(0);
    }
  });

  it('a stage whose last run failed is failed, with its exit code and log', { timeout: 60_000 }, async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages:\n  check:\n    cmd: echo checking && test -f ok.txt && cp ok.txt out.txt\n    outs: [out.txt]\n' });
    expect((await p.run(['repro'])).code).toBe(1);
    const ui = await startUi(p);
    try {
      const { body } = await getJson<{ stages: { name: string; state: string; reasons: string[]; last_run: { ok: boolean; exit_code: number } }[] }>(`${ui.url}/api/pipeline`);
      expect(body.stages).toMatchObject([{ name: 'check', state: 'failed', reasons: ['new'], last_run: { ok: false, exit_code: 1 } }]);
      expect((await getJson<{ text: string }>(`${ui.url}/api/logs/check`)).body.text).toBe('checking\n');
    } finally {
      expect(await ui.stop()).toBe(0);
    }
  });

  it("drift: monitor's default report (monitor/drift.json) is found at each commit even when the pipeline does not declare it", { timeout: 60_000 }, async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages:\n  noop:\n    cmd: echo ok\n' });
    const report = (psi: number) => JSON.stringify({ version: 1, drift: psi > 0.2, checks: { psi: { value: psi, threshold: 0.2, drift: psi > 0.2 } } }) + '\n';
    const shas: string[] = [];
    for (const psi of [0.05, 0.3]) {
      p.write({ 'monitor/drift.json': report(psi) });
      p.commitAll(`monitor ${psi}`);
      shas.push(p.git('rev-parse', 'HEAD').trim());
    }
    const ui = await startUi(p);
    try {
      const { body } = await getJson<{ models: unknown[]; drift: { metrics: string[]; points: { sha: string; metric: string; value: number }[] } | null }>(`${ui.url}/api/models`);
      expect(body.models).toEqual([]);
      expect(body.drift?.metrics).toEqual(['monitor/drift.json:checks.psi.threshold', 'monitor/drift.json:checks.psi.value', 'monitor/drift.json:version']);
      expect(body.drift?.points.filter((x) => x.metric === 'monitor/drift.json:checks.psi.value').map((x) => [x.sha, x.value])).toEqual([
        [shas[1], 0.3],
        [shas[0], 0.05],
      ]);
    } finally {
      expect(await ui.stop()).toBe(0);
    }
  });

  it('a bad --port is a usage error; a port in use says so', async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages: {}\n' });
    const bad = await p.run(['ui', '--port', '70000']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--port must be a whole number from 0 to 65535 (got 70000)');
    const ui = await startUi(p);
    try {
      const port = new URL(ui.url).port;
      const busy = await p.run(['ui', '--port', port]);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toContain(`port ${port} on 127.0.0.1 is in use`);
    } finally {
      await ui.stop();
    }
  });
});
