/**
 * The HTTP API (Fastify 5, JSON-schema-validated bodies):
 *
 *   POST /predict                      {"text": "..."} or {"texts": [...]}, optional "request_id"
 *   POST /v2/models/{name}/infer       Open Inference Protocol (KServe v2) inference
 *   POST /v2/models/{name}/versions/{v}/infer
 *   GET  /v2  /v2/health/live  /v2/health/ready  /v2/models/{name}  /v2/models/{name}/ready
 *   GET  /metrics                      Prometheus text format (metrics.ts)
 *
 * Every answer names the model version that produced it. Errors are `{"error": "..."}` (the OIP
 * error shape): 400 for a body that fails validation (the message says which field and why), 404
 * for an unknown model, 413 for a body over the limit, 503 when more than `maxQueue` requests are
 * inference requests in flight (back-pressure: refused at once, with Retry-After, rather than
 * queued without bound; health and /metrics are never refused).
 * A failure inside a handler is a 500 for that request; the process never exits on input.
 * It does not load models, watch the registry or bind a port (commands/serve.ts does).
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ServeMetrics } from './metrics.js';
import type { Prediction } from './predictor.js';
import type { RequestLogWriter } from './request-log.js';
import type { Router, Slot } from './router.js';

export interface ServerOptions {
  readonly router: Router;
  readonly metrics: ServeMetrics;
  readonly log?: RequestLogWriter;
  readonly maxBatch: number;
  readonly maxBodyBytes: number;
  readonly maxQueue: number;
  /** Longest text accepted, in UTF-16 code units. */
  readonly maxChars?: number;
  readonly serverVersion: string;
}

interface Ctx {
  start: bigint;
  counted: boolean;
  model: string;
  version: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    mlb: Ctx;
  }
}

const labelName = (slot: Slot, label: 0 | 1): string => slot.model.manifest.labels[label] ?? String(label);

export function buildServer(o: ServerOptions): FastifyInstance {
  const maxChars = o.maxChars ?? 100_000;
  const app = Fastify({
    bodyLimit: o.maxBodyBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    logger: false,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  let inFlight = 0;

  app.decorateRequest('mlb', null as unknown as Ctx);
  app.addHook('onRequest', (req, reply, done) => {
    req.mlb = { start: process.hrtime.bigint(), counted: req.method === 'POST', model: '', version: '' };
    // Only inference is bounded: health checks and scrapes must get through an overload.
    if (!req.mlb.counted) return done();
    if (inFlight >= o.maxQueue) {
      req.mlb.counted = false;
      o.metrics.rejected.inc({ reason: 'overloaded' });
      void reply.status(503).header('retry-after', '1').send({ error: `server busy: ${inFlight} requests in flight (limit ${o.maxQueue}); retry shortly` });
      return;
    }
    inFlight++;
    o.metrics.inFlight.set(inFlight);
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    const c = req.mlb;
    if (c?.counted) {
      inFlight--;
      o.metrics.inFlight.set(inFlight);
    }
    const endpoint = req.routeOptions.url ?? 'unmatched';
    if (endpoint !== '/metrics') {
      o.metrics.requests.inc({ model: c?.model ?? '', version: c?.version ?? '', endpoint, status: String(reply.statusCode) });
      if (c) o.metrics.duration.observe({ model: c.model, version: c.version, endpoint }, Number(process.hrtime.bigint() - c.start) / 1e9);
    }
    done();
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status === 413) o.metrics.rejected.inc({ reason: 'too_large' });
    else if (status < 500) o.metrics.rejected.inc({ reason: 'invalid' });
    let message = err.message;
    if (status === 413) message = `request body larger than ${o.maxBodyBytes} bytes; send smaller batches (--max-body-bytes raises the limit)`;
    else if (err.validation) message = `invalid request: ${err.message}`;
    else if (status === 500) message = `internal error while serving request ${req.id}: ${err.message}`;
    void reply.status(status).send({ error: message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: `no route ${req.method} ${req.url}; see POST /predict, POST /v2/models/{name}/infer, GET /metrics` });
  });

  /** Scores `texts` with the slot the request id picks; logs and counts them. */
  const score = (req: FastifyRequest, requestId: string, texts: readonly string[], slot: Slot): Prediction[] => {
    req.mlb.model = slot.name;
    req.mlb.version = slot.version;
    const preds = slot.model.predict(texts);
    for (const p of preds) {
      o.metrics.score.observe({ model: slot.name, version: slot.version }, p.score);
      o.metrics.predictions.inc({ model: slot.name, version: slot.version, label: String(p.label) });
    }
    o.log?.append(requestId, slot.name, slot.version, texts.map((text, i) => ({ text, score: (preds[i] as Prediction).score, label: (preds[i] as Prediction).label })));
    return preds;
  };

  const text = { type: 'string', maxLength: maxChars };
  app.post<{ Body: { text?: string; texts?: string[]; request_id?: string } }>(
    '/predict',
    {
      schema: {
        body: {
          type: 'object',
          properties: { text, texts: { type: 'array', items: text, minItems: 1, maxItems: o.maxBatch }, request_id: { type: 'string', minLength: 1, maxLength: 256 } },
          additionalProperties: false,
        },
      },
    },
    (req, reply) => {
      const b = req.body;
      if ((b.text === undefined) === (b.texts === undefined)) {
        o.metrics.rejected.inc({ reason: 'invalid' });
        return reply.status(400).send({ error: 'invalid request: give either "text" (a string) or "texts" (a list of 1 to ' + o.maxBatch + ' strings), not both' });
      }
      const id = b.request_id ?? req.id;
      const slot = o.router.pick(id);
      const texts = b.texts ?? [b.text as string];
      const preds = score(req, id, texts, slot);
      const answer = (p: Prediction) => ({ label: p.label, label_name: labelName(slot, p.label), probability: p.score, model: slot.name, version: slot.version });
      return b.texts ? { request_id: id, model: slot.name, version: slot.version, predictions: preds.map(answer) } : { request_id: id, ...answer(preds[0] as Prediction) };
    },
  );

  // Open Inference Protocol (KServe v2), REST.
  const tensor = (name: string, datatype: string) => ({ name, datatype, shape: [-1] });
  const served = (name: string, version?: string): Slot | undefined => o.router.slots().find((s) => s.name === name && (version === undefined || s.version === version));
  const unknownModel = (reply: FastifyReply, name: string, version?: string) => {
    const known = o.router.slots().map((s) => `${s.name}@${s.version}`).join(', ');
    return reply.status(404).send({ error: `model ${name}${version ? `@${version}` : ''} is not served here (serving ${known})` });
  };
  app.get('/v2', () => ({ name: 'mlbuild', version: o.serverVersion, extensions: [] }));
  app.get('/v2/health/live', () => ({ live: true }));
  app.get('/v2/health/ready', () => ({ ready: true }));
  const metadata = (req: FastifyRequest<{ Params: { name: string; version?: string } }>, reply: FastifyReply) => {
    const s = served(req.params.name, req.params.version);
    if (!s) return unknownModel(reply, req.params.name, req.params.version);
    const versions = o.router.slots().filter((x) => x.name === s.name).map((x) => x.version);
    return { name: s.name, versions, platform: `mlbuild-${s.model.manifest.flavour}`, inputs: [tensor('text', 'BYTES')], outputs: [tensor('probability', 'FP64'), tensor('label', 'INT64')] };
  };
  app.get('/v2/models/:name', metadata);
  app.get('/v2/models/:name/versions/:version', metadata);
  const ready = (req: FastifyRequest<{ Params: { name: string; version?: string } }>, reply: FastifyReply) =>
    served(req.params.name, req.params.version) ? { name: req.params.name, ready: true } : unknownModel(reply, req.params.name, req.params.version);
  app.get('/v2/models/:name/ready', ready);
  app.get('/v2/models/:name/versions/:version/ready', ready);

  const inferSchema = {
    body: {
      type: 'object',
      required: ['inputs'],
      properties: {
        id: { type: 'string', maxLength: 256 },
        parameters: { type: 'object' },
        inputs: {
          type: 'array',
          minItems: 1,
          maxItems: 1,
          items: {
            type: 'object',
            required: ['name', 'shape', 'datatype', 'data'],
            properties: { name: { type: 'string' }, shape: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1, maxItems: 2 }, datatype: { const: 'BYTES' }, parameters: { type: 'object' }, data: { type: 'array', items: text, minItems: 1, maxItems: o.maxBatch } },
          },
        },
        outputs: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { enum: ['probability', 'label'] }, parameters: { type: 'object' } } } },
      },
    },
  };
  type InferBody = { id?: string; inputs: { name: string; shape: number[]; datatype: string; data: string[] }[]; outputs?: { name: string }[] };
  const infer = (req: FastifyRequest<{ Params: { name: string; version?: string }; Body: InferBody }>, reply: FastifyReply) => {
    const { name, version } = req.params;
    const input = req.body.inputs[0] as InferBody['inputs'][number];
    const n = input.shape.reduce((a, b) => a * b, 1);
    if (n !== input.data.length) {
      o.metrics.rejected.inc({ reason: 'invalid' });
      return reply.status(400).send({ error: `invalid request: input ${input.name} has shape [${input.shape.join(', ')}] (${n} elements) but ${input.data.length} data items` });
    }
    const id = req.body.id ?? req.id;
    // A version in the path pins it; otherwise the router decides (canary share included).
    const slot = version !== undefined ? served(name, version) : o.router.slots().some((s) => s.name === name) ? o.router.pick(id) : undefined;
    if (!slot || slot.name !== name) return unknownModel(reply, name, version);
    const preds = score(req, id, input.data, slot);
    const wanted = new Set((req.body.outputs ?? [{ name: 'probability' }, { name: 'label' }]).map((x) => x.name));
    const outputs = [];
    if (wanted.has('probability')) outputs.push({ name: 'probability', datatype: 'FP64', shape: [preds.length], data: preds.map((p) => p.score) });
    if (wanted.has('label')) outputs.push({ name: 'label', datatype: 'INT64', shape: [preds.length], data: preds.map((p) => p.label) });
    return { model_name: slot.name, model_version: slot.version, id, outputs };
  };
  app.post('/v2/models/:name/infer', { schema: inferSchema }, infer);
  app.post('/v2/models/:name/versions/:version/infer', { schema: inferSchema }, infer);

  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', o.metrics.registry.contentType);
    return o.metrics.registry.metrics();
  });
  return app;
}
