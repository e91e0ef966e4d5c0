/**
 * The drift report as one self-contained HTML page: a table of every check (value, threshold,
 * status, or why it was skipped), the samples compared, and Vega-Lite charts (score distribution,
 * predicted classes, token lengths, new tokens, domain-classifier markers, AUC against its
 * permutation null), drawn by the vega builds inlined as on the plots page (plots/html.ts), under
 * the same Content-Security-Policy, so it opens offline. Pure: the vendor scripts are passed in.
 */
import { CSP, escapeHtml, inlineJson, inlineScript } from '../plots/html.js';
import type { ChartData, Check } from './drift-report.js';

type Spec = Record<string, unknown>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const SIDES = { domain: ['reference', 'current'], range: ['#4c78a8', '#f58518'] };

/** Grouped bars of reference vs current shares over a category field. */
function sideBySide(title: string, field: string, rows: readonly Record<string, unknown>[], xTitle: string): Spec {
  return {
    $schema: SCHEMA,
    title,
    width: 520,
    height: 220,
    data: { values: rows },
    transform: [{ fold: ['reference', 'current'], as: ['sample', 'share'] }],
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field, type: 'nominal', title: xTitle, sort: null },
      xOffset: { field: 'sample', sort: SIDES.domain },
      y: { field: 'share', type: 'quantitative', title: 'share of rows', axis: { format: '%' } },
      color: { field: 'sample', scale: SIDES, title: null },
    },
  };
}

export function chartSpecs(c: ChartData): { id: string; spec: Spec }[] {
  const specs: { id: string; spec: Spec }[] = [];
  if (c.scoreBins.length > 0) specs.push({ id: 'Score distribution (bins at reference deciles)', spec: sideBySide('P(positive), binned', 'bin', c.scoreBins, 'score bin') });
  if (c.classes.length > 0) specs.push({ id: 'Predicted class', spec: sideBySide('Predicted class mix', 'class', c.classes, 'class') });
  specs.push({
    id: 'Length in tokens',
    spec: {
      $schema: SCHEMA,
      title: 'Tokens per text',
      width: 520,
      height: 200,
      data: { values: c.tokenLengths },
      transform: [{ fold: ['reference', 'current'], as: ['sample', 'share'] }],
      mark: { type: 'line', interpolate: 'step-after', tooltip: true },
      encoding: {
        x: { field: 'tokens', type: 'quantitative', title: 'tokens (the last value: that many or more)' },
        y: { field: 'share', type: 'quantitative', title: 'share of rows', axis: { format: '%' } },
        color: { field: 'sample', scale: SIDES, title: null },
      },
    },
  });
  if (c.newTokens.length > 0) {
    specs.push({
      id: 'Top new tokens (not in the reference)',
      spec: {
        $schema: SCHEMA,
        width: 520,
        height: { step: 16 },
        data: { values: c.newTokens },
        mark: { type: 'bar', tooltip: true, color: '#f58518' },
        encoding: { y: { field: 'token', type: 'nominal', sort: '-x', title: null }, x: { field: 'count', type: 'quantitative', title: 'occurrences in the current sample' } },
      },
    });
  }
  if (c.markers.length > 0) {
    specs.push({
      id: 'What tells the samples apart (domain classifier weights)',
      spec: {
        $schema: SCHEMA,
        width: 520,
        height: { step: 14 },
        data: { values: c.markers },
        mark: { type: 'bar', tooltip: true },
        encoding: {
          y: { field: 'token', type: 'nominal', sort: '-x', title: null },
          x: { field: 'weight', type: 'quantitative', title: 'weight (> 0: marks current, < 0: marks reference)' },
          color: { field: 'side', scale: SIDES, title: null },
        },
      },
    });
  }
  if (c.auc !== null) {
    const rules = [{ what: 'observed AUC', x: c.auc }, ...(c.aucThreshold === null ? [] : [{ what: 'threshold', x: c.aucThreshold }])];
    const layers: Spec[] = [
      {
        data: { values: rules },
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: { x: { field: 'x', type: 'quantitative', title: 'cross-validated ROC AUC', scale: { domain: [0.3, 1] } }, color: { field: 'what', type: 'nominal', title: null } },
      },
    ];
    if (c.nullAucs.length > 0) {
      layers.unshift({
        data: { values: c.nullAucs.map((a) => ({ auc: a })) },
        mark: { type: 'bar', color: '#bbb' },
        encoding: { x: { field: 'auc', type: 'quantitative', bin: { step: 0.01 } }, y: { aggregate: 'count', type: 'quantitative', title: 'permutations' } },
      });
    }
    specs.push({ id: c.nullAucs.length > 0 ? 'Domain classifier AUC against its permutation null' : 'Domain classifier AUC', spec: { $schema: SCHEMA, width: 520, height: 160, layer: layers } });
  }
  return specs;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:20px;margin:0 0 4px}.verdict{font-size:16px;margin:8px 0 16px;padding:8px 12px}
.drift{background:#fde8e8;border:1px solid #e02424}.ok{background:#e7f6ec;border:1px solid #31a354}
table{border-collapse:collapse;margin:0 0 24px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;font-size:13px}
td.num{font-family:ui-monospace,monospace;text-align:right}tr.crossed td{background:#fdf2f2}
section{margin:0 0 32px}h2{font-size:15px;margin:0 0 8px}`;

const RUNNER = `(function () {
  var specs = JSON.parse(document.getElementById('mlbuild-specs').textContent);
  Promise.all(specs.map(function (spec, i) { return vegaEmbed('#chart-' + i, spec, { actions: false, renderer: 'svg' }); }))
    .then(function () { document.body.dataset.rendered = String(specs.length); },
      function (e) { document.body.dataset.failed = String(e); console.error(e); });
})();`;

export interface PageInput {
  readonly report: Record<string, unknown>;
  readonly charts: ChartData;
}

const fmt = (x: unknown): string => (typeof x === 'number' ? String(x) : x === null || x === undefined ? '' : escapeHtml(JSON.stringify(x)));

export function renderMonitorPage(input: PageInput, scripts: readonly string[]): string {
  const r = input.report as {
    drift: boolean;
    alerts: string[];
    checks: Record<string, Check>;
    skipped: Record<string, string>;
    samples: Record<string, { source: string; kind: string; rows: number; scored: boolean; labelled: number; served?: Record<string, number> }>;
  };
  const rows = Object.entries(r.checks)
    .map(([name, c]) => `<tr class="${c.drift ? 'crossed' : ''}"><td>${escapeHtml(name)}</td><td class="num">${fmt(c.value)}</td><td>${c.crosses === 'above' ? '&gt;' : '&lt;'} ${fmt(c.threshold)}</td><td>${c.drift ? '<strong>DRIFT</strong>' : 'ok'}</td></tr>`)
    .concat(Object.entries(r.skipped).map(([name, why]) => `<tr><td>${escapeHtml(name)}</td><td></td><td></td><td>skipped: ${escapeHtml(why)}</td></tr>`))
    .join('\n');
  const samples = Object.entries(r.samples)
    .map(([side, s]) => {
      const served = s.served ? Object.entries(s.served).map(([k, n]) => `${escapeHtml(k)}: ${n}`).join(', ') : '';
      return `<tr><td>${side}</td><td>${escapeHtml(s.source)}</td><td>${s.kind}</td><td class="num">${s.rows}</td><td>${s.scored ? 'yes' : 'no'}</td><td class="num">${s.labelled}</td><td>${served}</td></tr>`;
    })
    .join('\n');
  const specs = chartSpecs(input.charts);
  const verdict = r.drift ? `Drift: ${r.alerts.map(escapeHtml).join(', ')}` : 'No check crossed its threshold';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>mlbuild monitor: ${r.drift ? 'drift' : 'no drift'}</title>
<style>${STYLE}</style>
${scripts.map((s) => `<script>${inlineScript(s)}</script>`).join('\n')}
</head>
<body>
<h1>Drift report</h1>
<div class="verdict ${r.drift ? 'drift' : 'ok'}" id="verdict">${verdict}</div>
<table><tr><th>sample</th><th>source</th><th>kind</th><th>rows</th><th>scored</th><th>labelled</th><th>served</th></tr>
${samples}
</table>
<table id="checks"><tr><th>check</th><th>value</th><th>threshold</th><th>status</th></tr>
${rows}
</table>
${specs.map((s, i) => `<section><h2>${escapeHtml(s.id)}</h2><div id="chart-${i}" class="chart"></div></section>`).join('\n')}
<script type="application/json" id="mlbuild-specs">${inlineJson(specs.map((s) => s.spec))}</script>
<script type="application/json" id="mlbuild-report">${inlineJson(input.report)}</script>
<script>${RUNNER}</script>
</body>
</html>
`;
}
