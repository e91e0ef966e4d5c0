import http from 'node:http';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { useProjects } from './rig.js';
import { publishVersion, startServer, type Server } from './lifecycle-fixture.js';
import { readRequestLog } from '../../src/serve/request-log.js';
import { bucketOf } from '../../src/serve/router.js';
import { trainModel, uciRows } from '../serve-fixture.js';

const projects = useProjects();
let servers: Server[] = [];
afterEach(async () => {
  for (const s of servers) await s.stop();
  servers = [];
});
const serve = async (cwd: string, args: string[]): Promise<Server> => {
  const s = await startServer(cwd, args);
  servers.push(s);
  return s;
};

const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, headers: r.headers, json: (await r.json()) as Record<string, unknown> };
};

interface PromMetric {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string }[];
}

describe('mlbuild serve', () => {
  it('predicts one text and a batch, speaks KServe v2, rejects bad input clearly, never crashes, and exposes Prometheus metrics', async () => {
    const p = projects.make();
    await trainModel(p.path('model'), 'logreg', [...uciRows('amazon', 300), ...uciRows('yelp', 300)]);
    const s = await serve(p.dir, ['model', '--max-body-bytes', '4000', '--max-batch', '8']);
    expect(s.output().stdout).toMatch(/^serving model@local \(logreg\) on http:\/\/127\.0\.0\.1:\d+\n/);

    const one = await post(`${s.url}/predict`, { text: 'Great phone, works perfectly, I love it!' }, { 'x-request-id': 'abc-1' });
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ request_id: 'abc-1', label: 1, label_name: 'positive', model: 'model', version: 'local' });
    expect(one.json.probability as number).toBeGreaterThan(0.5);

    const batch = await post(`${s.url}/predict`, { texts: ['Terrible, broke after a day. Waste of money.', 'Excellent value.', ''], request_id: 'b-1' });
    expect(batch.status).toBe(200);
    const preds = batch.json.predictions as { label: number; probability: number; version: string }[];
    expect(preds.map((x) => x.label).slice(0, 2)).toEqual([0, 1]);
    expect(preds.every((x) => x.version === 'local' && x.probability >= 0 && x.probability <= 1)).toBe(true);

    const v2 = await post(`${s.url}/v2/models/model/infer`, { id: 'v2-1', inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: ['Terrible, broke after a day. Waste of money.', 'Excellent value.'] }] });
    expect(v2.status).toBe(200);
    expect(v2.json).toMatchObject({ model_name: 'model', model_version: 'local', id: 'v2-1', outputs: [{ name: 'probability', datatype: 'FP64', shape: [2] }, { name: 'label', datatype: 'INT64', shape: [2], data: [0, 1] }] });
    expect(await (await fetch(`${s.url}/v2/health/live`)).json()).toEqual({ live: true });
    expect(await (await fetch(`${s.url}/v2/health/ready`)).json()).toEqual({ ready: true });
    expect(await (await fetch(`${s.url}/v2/models/model`)).json()).toEqual({
      name: 'model',
      versions: ['local'],
      platform: 'mlbuild-logreg',
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
      outputs: [
        { name: 'probability', datatype: 'FP64', shape: [-1] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
    });

    // Bad input: 400 with a message naming the problem; unknown model 404; too large 413.
    const bad = [
      [{}, /give either "text" \(a string\) or "texts"/],
      [{ text: 5 }, /body\/text must be string/],
      [{ text: 'a', texts: ['b'] }, /not both/],
      [{ texts: [] }, /body\/texts must NOT have fewer than 1 items/],
      [{ texts: Array(9).fill('x') }, /body\/texts must NOT have more than 8 items/],
      [{ text: 'a', extra: 1 }, /must NOT have additional properties/],
      ['{"text": "unterminated', /JSON/],
    ] as const;
    for (const [body, msg] of bad) {
      const r = await post(`${s.url}/predict`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error as string).toMatch(msg);
    }
    const shape = await post(`${s.url}/v2/models/model/infer`, { inputs: [{ name: 'text', shape: [3], datatype: 'BYTES', data: ['a'] }] });
    expect(shape.status).toBe(400);
    expect(shape.json.error).toBe('invalid request: input text has shape [3] (3 elements) but 1 data items');
    const wrongType = await post(`${s.url}/v2/models/model/infer`, { inputs: [{ name: 'text', shape: [1], datatype: 'FP32', data: [1] }] });
    expect(wrongType.status).toBe(400);
    expect((await post(`${s.url}/v2/models/nope/infer`, { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['a'] }] })).json.error).toBe('model nope is not served here (serving model@local)');
    const big = await post(`${s.url}/predict`, { text: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    expect(big.json.error).toMatch(/larger than 4000 bytes/);
    const weird = await post(`${s.url}/predict`, { text: '\u0000\ud800 🤖 \u202e' });
    expect(weird.status).toBe(200);

    const metricsText = await (await fetch(`${s.url}/metrics`)).text();
    const parsed = parsePrometheusTextFormat(metricsText) as PromMetric[];
    const m = (name: string) => parsed.find((x) => x.name === name);
    const requests = m('mlbuild_requests_total')!;
    expect(requests.type).toBe('COUNTER');
    const count = (status: string, endpoint: string) => requests.metrics.filter((x) => x.labels?.status === status && x.labels.endpoint === endpoint).reduce((a, x) => a + Number(x.value), 0);
    expect(count('200', '/predict')).toBe(3);
    expect(count('400', '/predict')).toBe(7);
    expect(count('413', '/predict')).toBe(1);
    expect(count('200', '/v2/models/:name/infer')).toBe(1);
    expect(requests.metrics.find((x) => x.labels?.status === '200' && x.labels.endpoint === '/predict')!.labels).toMatchObject({ model: 'model', version: 'local' });
    expect(m('mlbuild_request_duration_seconds')!.type).toBe('HISTOGRAM');
    const scores = m('mlbuild_prediction_score')!;
    expect(scores.type).toBe('HISTOGRAM');
    expect(Number(scores.metrics[0]!.buckets!['+Inf'])).toBe(1 + 3 + 2 + 1);
    expect(m('mlbuild_requests_in_flight')!.type).toBe('GAUGE');
    expect(m('mlbuild_model_info')!.metrics).toEqual([{ labels: { model: 'model', version: 'local', role: 'primary' }, value: '1' }]);
    for (const x of parsed) if (x.name.startsWith('mlbuild_') && x.type === 'COUNTER') expect(x.name).toMatch(/_total$/);

    expect(await s.stop()).toBe(0);
    servers = [];
    // The request log: one record per scored text, no raw text by default.
    const records = await readRequestLog(p.path('.mlcache/serve-logs'));
    expect(records).toHaveLength(7);
    expect(records[0]).toMatchObject({ v: 1, request_id: 'abc-1', index: 0, model: 'model', version: 'local', label: 1 });
    expect(records.slice(1, 4).map((r) => [r.request_id, r.index])).toEqual([['b-1', 0], ['b-1', 1], ['b-1', 2]]);
    expect(records.every((r) => r.text === undefined)).toBe(true);
  }, 120_000);

  it('refuses with 503 beyond --max-queue requests in flight, while health and metrics still answer', async () => {
    const p = projects.make();
    await trainModel(p.path('model'), 'logreg', uciRows('amazon', 200));
    const s = await serve(p.dir, ['model', '--max-queue', '1', '--no-log']);
    const { hostname, port } = new URL(s.url);
    // A request whose body is still arriving holds the one slot.
    const held = http.request({ hostname, port, method: 'POST', path: '/predict', headers: { 'content-type': 'application/json', 'content-length': '20' } });
    const heldDone = new Promise<number>((resolve) => held.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0))));
    held.write('{"text": "go');
    for (;;) {
      const t = await (await fetch(`${s.url}/metrics`)).text();
      if (/^mlbuild_requests_in_flight 1$/m.test(t)) break;
    }
    const busy = await post(`${s.url}/predict`, { text: 'hello' });
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('1');
    expect(busy.json.error).toMatch(/1 requests in flight \(limit 1\)/);
    expect((await fetch(`${s.url}/v2/health/ready`)).status).toBe(200);
    held.end('od day"}');
    expect(await heldDone).toBe(200);
    expect((await post(`${s.url}/predict`, { text: 'hello' })).status).toBe(200);
  }, 60_000);

  it('splits traffic to a canary by sticky request id, and follows promotion and rollback under load with zero failed requests', async () => {
    const p = projects.make();
    await publishVersion(p, { rows: 300, accuracy: 0.8, message: 'v1' });
    expect((await p.run(['model', 'register', 'sentiment', '--version', 'v1.0.0'])).code).toBe(0);
    expect((await p.run(['model', 'assign', 'sentiment', 'v1.0.0', '--stage', 'prod'])).code).toBe(0);
    await publishVersion(p, { rows: 100, accuracy: 0.82, C: 4, message: 'v1.1' });
    expect((await p.run(['model', 'register', 'sentiment', '--version', 'v1.1.0'])).code).toBe(0);

    const s = await serve(p.dir, ['sentiment#prod', '--canary', 'sentiment@v1.1.0:10%']);
    expect(s.output().stdout).toContain('serving sentiment@v1.0.0 (logreg), canary sentiment@v1.1.0 at 10% following sentiment#prod on');
    const ids = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
    const versions: string[] = [];
    for (let i = 0; i < ids.length; i += 50) {
      const answers = await Promise.all(ids.slice(i, i + 50).map((id) => post(`${s.url}/predict`, { text: 'not bad at all', request_id: id })));
      for (const a of answers) {
        expect(a.status).toBe(200);
        versions.push(a.json.version as string);
      }
    }
    const canary = versions.filter((v) => v === 'v1.1.0').length;
    expect(canary).toBe(ids.filter((id) => bucketOf(id) < 1000).length); // exactly the ids hashed to the canary share
    expect(canary / 1000).toBeGreaterThan(0.07);
    expect(canary / 1000).toBeLessThan(0.13);
    const again = await Promise.all(ids.slice(0, 100).map((id) => post(`${s.url}/predict`, { text: 'again', request_id: id })));
    expect(again.map((a) => a.json.version)).toEqual(versions.slice(0, 100));
    await s.stop();
    servers = [];

    // Promotion and rollback while 8 clients keep sending.
    const live = await serve(p.dir, ['sentiment#prod', '--no-log']);
    let stop = false;
    const seen: string[] = [];
    const failures: string[] = [];
    const client = async (k: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await post(`${live.url}/predict`, { texts: ['great', 'bad'], request_id: `c${k}-${i}` });
          if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.json)}`);
          else seen.push(r.json.version as string);
        } catch (e) {
          failures.push(String(e));
        }
      }
    };
    const waitFor = async (version: string, after: number) => {
      const deadline = Date.now() + 30_000;
      while (!seen.slice(after).includes(version)) {
        if (Date.now() > deadline) throw new Error(`never served ${version}: ${live.output().stdout}${live.output().stderr}`);
        await new Promise((r) => setImmediate(r));
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, k) => client(k)));
    await waitFor('v1.0.0', 0);
    expect((await p.run(['model', 'assign', 'sentiment', 'v1.1.0', '--stage', 'prod'])).code).toBe(0);
    await waitFor('v1.1.0', 0);
    const promotedAt = seen.lastIndexOf('v1.0.0');
    expect((await p.run(['model', 'assign', 'sentiment', 'v1.0.0', '--stage', 'prod'])).code).toBe(0);
    await waitFor('v1.0.0', seen.indexOf('v1.1.0'));
    stop = true;
    await load;
    expect(failures).toEqual([]);
    expect(seen.length).toBeGreaterThan(50);
    expect(promotedAt).toBeGreaterThanOrEqual(0);
    expect(live.output().stdout).toContain('primary: sentiment@v1.0.0 -> sentiment@v1.1.0');
    expect(live.output().stdout).toContain('primary: sentiment@v1.1.0 -> sentiment@v1.0.0');
  }, 180_000);
});
