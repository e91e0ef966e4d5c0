/**
 * The ui's HTTP server (Fastify): the read-only JSON API over a Dashboard, server-sent events for
 * the live run, and the bundled page (dist/ui, built by scripts/build.mjs) as static files. Only GET
 * routes exist, so nothing a client sends can write to the project or run a command. Bound to
 * loopback, it also refuses requests whose Host header is not a loopback name, so a web page
 * elsewhere cannot read the API through DNS rebinding.
 */
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Dashboard, Answer } from './dashboard.js';
import type { LiveEvent } from './live-run.js';
import { toJson } from '../metrics/lenient-json.js';

export interface UiServerOptions {
  readonly dashboard: Dashboard;
  /** The folder holding index.html and the bundles. */
  readonly staticDir: string;
  /** Accept only loopback Host headers (the server is bound to 127.0.0.1). */
  readonly loopbackOnly: boolean;
  /** How often the live run's files are polled (ms). */
  readonly pollMs?: number;
}

const CSP = "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const LOOPBACK_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/i;

function send<T>(reply: FastifyReply, a: Answer<T>): FastifyReply {
  // NaN/Infinity (Python's metrics) as the strings `exp show --json` writes, not JSON.stringify's null.
  if (a.ok) return reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').send(toJson(a.value, 0));
  return reply.code(a.error.status).send({ error: a.error.message });
}

const intParam = (v: unknown, dflt: number, max: number): number | undefined => {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 && n <= max ? n : undefined;
};

export async function buildUiServer(opts: UiServerOptions): Promise<FastifyInstance> {
  const { default: Fastify } = await import('fastify');
  const { default: fastifyStatic } = await import('@fastify/static');
  const app = Fastify({ logger: false });
  const d = opts.dashboard;

  if (opts.loopbackOnly) {
    app.addHook('onRequest', async (req, reply) => {
      if (!LOOPBACK_HOST.test(req.headers.host ?? '')) await reply.code(403).send({ error: `host '${req.headers.host ?? ''}' refused: this server answers loopback names only` });
    });
  }

  // The page may load nothing from elsewhere: a regression that reaches for a CDN fails loudly.
  // (Vega compiles chart expressions with Function, hence 'unsafe-eval'.)
  app.addHook('onSend', async (_req, reply) => {
    reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
  });

  await app.register(fastifyStatic, { root: path.resolve(opts.staticDir), prefix: '/', index: ['index.html'], cacheControl: false, wildcard: true });

  // Once the first view has its data, read ahead for the others (never before: it would slow the first view).
  let warmed = false;
  app.get('/api/pipeline', async (_req, reply) => {
    const answer = await d.pipeline();
    if (!warmed) {
      warmed = true;
      reply.raw.once('finish', () => void d.warmUp());
    }
    return send(reply, answer);
  });
  app.get('/api/live', async (_req, reply) => reply.header('cache-control', 'no-store').send(d.liveState()));
  app.get<{ Params: { stage: string } }>('/api/logs/:stage', async (req, reply) => send(reply, await d.log(req.params.stage)));
  app.get('/api/experiments', async (_req, reply) => send(reply, await d.experiments()));
  app.get('/api/revisions', async (_req, reply) => send(reply, await d.revisions()));
  app.get<{ Querystring: { branch?: string; limit?: string; file?: string } }>('/api/metrics/history', async (req, reply) => {
    const limit = intParam(req.query.limit, 200, 5000);
    if (limit === undefined) return reply.code(400).send({ error: `limit must be a whole number from 1 to 5000 (got '${req.query.limit}')` });
    return send(reply, await d.metricsHistory(req.query.branch || undefined, limit, req.query.file));
  });
  app.get<{ Querystring: { revs?: string } }>('/api/plots', async (req, reply) => {
    const revs = (req.query.revs ?? '').split(',').map((r) => r.trim()).filter((r) => r !== '');
    return send(reply, await d.plots(revs));
  });
  app.get('/api/models', async (_req, reply) => send(reply, await d.models()));

  // Server-sent events: `live` (the run's snapshot and progress), `pipeline` (the DAG, re-assessed
  // whenever the run changes), `log` (new output of a running stage). The first message says hello
  // with the current state, so a client knows it is subscribed before anything happens.
  app.get('/api/events', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    const write = (event: string, data: unknown): void => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    write('hello', d.liveState());
    let assessing = false;
    let again = false;
    const reassess = async (): Promise<void> => {
      if (assessing) {
        again = true;
        return;
      }
      assessing = true;
      do {
        again = false;
        const view = await d.pipeline().catch(() => undefined);
        if (view?.ok && !res.destroyed) write('pipeline', view.value);
        if (!res.destroyed) write('live', d.liveState());
      } while (again && !res.destroyed);
      assessing = false;
    };
    const onEvent = (e: LiveEvent): void => {
      if (e.type === 'log') write('log', { stage: e.stage, text: e.text, end: e.end });
      else void reassess();
    };
    const unsubscribe = d.live.subscribe(onEvent);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    heartbeat.unref();
    req.raw.on('close', () => {
      unsubscribe();
      clearInterval(heartbeat);
    });
  });

  d.live.start(opts.pollMs ?? 200);
  app.addHook('onClose', async () => d.live.stop());
  return app;
}
