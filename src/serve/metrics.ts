/**
 * The server's Prometheus metrics (prom-client), named by Prometheus' rules: the `mlbuild_` prefix,
 * base units (`_seconds`), `_total` on counters, labels for model, version, endpoint and status:
 *
 *   mlbuild_requests_total{model,version,endpoint,status}       counter
 *   mlbuild_request_duration_seconds{model,version,endpoint}    histogram
 *   mlbuild_prediction_score{model,version}                     histogram of P(positive), 0..1
 *   mlbuild_predictions_total{model,version,label}              counter, one per input text
 *   mlbuild_requests_in_flight                                  gauge
 *   mlbuild_requests_rejected_total{reason}                     counter (overloaded, too_large, invalid)
 *   mlbuild_model_info{model,version,role}                      gauge, 1 per model served
 *
 * plus prom-client's default process metrics. Rejected requests carry model/version "" (no model
 * was chosen). It does not serve HTTP.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'mlbuild_requests_total', help: 'HTTP requests answered, by model, version, endpoint and status code', labelNames: ['model', 'version', 'endpoint', 'status'] as const, registers: [this.registry] });
  readonly duration = new Histogram({
    name: 'mlbuild_request_duration_seconds',
    help: 'Time from request received to response sent',
    labelNames: ['model', 'version', 'endpoint'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly score = new Histogram({ name: 'mlbuild_prediction_score', help: 'Predicted probability of the positive class', labelNames: ['model', 'version'] as const, buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], registers: [this.registry] });
  readonly predictions = new Counter({ name: 'mlbuild_predictions_total', help: 'Texts scored, by predicted label', labelNames: ['model', 'version', 'label'] as const, registers: [this.registry] });
  readonly inFlight = new Gauge({ name: 'mlbuild_requests_in_flight', help: 'Requests received and not yet answered', registers: [this.registry] });
  readonly rejected = new Counter({ name: 'mlbuild_requests_rejected_total', help: 'Requests refused before prediction', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly modelInfo = new Gauge({ name: 'mlbuild_model_info', help: 'Models served now (value 1), by role', labelNames: ['model', 'version', 'role'] as const, registers: [this.registry] });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  setServing(slots: readonly { name: string; version: string; role: 'primary' | 'canary' }[]): void {
    this.modelInfo.reset();
    for (const s of slots) this.modelInfo.set({ model: s.name, version: s.version, role: s.role }, 1);
  }
}
