/**
 * The plots page: one self-contained HTML file with every chart, rendered by vega-embed from the
 * vega, vega-lite and vega-embed builds inlined into the page, so it opens with no network (its
 * Content-Security-Policy forbids any fetch, so a regression shows as an error, not a silent
 * download). `renderPage` is pure; `loadVendorScripts` reads the builds from the installed
 * packages, and is only called when a page is written (never on the CLI's start-up path).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { BuiltPlot } from './spec.js';

/** A plot file that could not be read or drawn at a revision, reported by name and reason. */
export interface PlotProblem {
  readonly plot: string;
  readonly file?: string;
  readonly rev?: string;
  readonly reason: string;
}

/** An image plot: the file as it is at each revision where it could be read, shown side by side. */
export interface ImagePlot {
  readonly id: string;
  readonly title: string;
  readonly revisions: readonly { readonly rev: string; readonly file: string; readonly mime: string; readonly size: number; readonly src: string }[];
}

export interface Page {
  readonly revisions: readonly string[];
  readonly plots: readonly BuiltPlot[];
  readonly images: readonly ImagePlot[];
  readonly problems: readonly PlotProblem[];
}

/** A `data:` URI for an image's bytes (the page's Content-Security-Policy allows only those). */
export const dataUri = (mime: string, bytes: Buffer): string => `data:${mime};base64,${bytes.toString('base64')}`;

/** The UMD builds, in load order; each defines a global (vega, vegaLite, vegaEmbed). */
const VENDOR = [
  ['vega', 'vega.min.js'],
  ['vega-lite', 'vega-lite.min.js'],
  ['vega-embed', 'vega-embed.min.js'],
] as const;

/** The inlined scripts, read from the installed packages (each package's main module sits in its build/ folder). */
export function loadVendorScripts(): string[] {
  const require = createRequire(import.meta.url);
  return VENDOR.map(([pkg, file]) => fs.readFileSync(path.join(path.dirname(require.resolve(pkg)), file), 'utf8'));
}

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Script text safe inside <script>: no closing tag, and no source-map comment (devtools would fetch it). */
export const inlineScript = (js: string): string => js.replace(/<\/script/gi, '<\\/script').replace(/^\/\/# sourceMappingURL=.*$/gm, '');

/** JSON safe inside <script type="application/json">. */
export const inlineJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

export const CSP = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:";

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px;margin:0 0 4px}.revs{color:#555;margin:0 0 16px}
.problems{background:#fff4e5;border:1px solid #f0b429;padding:8px 12px;margin:0 0 16px}
.problems li{font-family:ui-monospace,monospace;font-size:13px}
section{margin:0 0 32px}h2{font-size:15px;margin:0 0 8px;font-family:ui-monospace,monospace}
.images{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
figure{margin:0;max-width:520px}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-family:ui-monospace,monospace;font-size:12px;color:#555}`;

// Renders each chart, then sets data-rendered (or data-failed) on <body>: a signal a browser test can wait on.
const RUNNER = `(function () {
  var specs = JSON.parse(document.getElementById('mlbuild-specs').textContent);
  window.mlbuildViews = [];
  Promise.all(specs.map(function (spec, i) {
    return vegaEmbed('#plot-' + i, spec, { actions: false, renderer: 'svg' }).then(function (r) { window.mlbuildViews[i] = r.view; });
  })).then(function () { document.body.dataset.rendered = String(specs.length); },
    function (e) { document.body.dataset.failed = String(e); console.error(e); });
})();`;

/** `plots/roc.json at HEAD~1: not in HEAD~1`. */
export function problemText(p: PlotProblem): string {
  return [p.file ?? p.plot, p.rev !== undefined ? `at ${p.rev}` : undefined].filter(Boolean).join(' ') + `: ${p.reason}`;
}

/** The whole page; `scripts` are the vendor builds (loadVendorScripts). */
export function renderPage(page: Page, scripts: readonly string[]): string {
  const sections = page.plots
    .map((p, i) => `<section><h2>${escapeHtml(p.id)}</h2><div id="plot-${i}" class="plot" data-plot="${escapeHtml(p.id)}"></div></section>`)
    .join('\n');
  const images = page.images
    .map((im) => {
      const figures = im.revisions
        .map((r) => `<figure><img src="${r.src}" alt="${escapeHtml(`${im.id} at ${r.rev}`)}"><figcaption>${escapeHtml(r.rev)}</figcaption></figure>`)
        .join('');
      return `<section><h2>${escapeHtml(im.title)}</h2><div class="images" data-image="${escapeHtml(im.id)}">${figures}</div></section>`;
    })
    .join('\n');
  const problems =
    page.problems.length === 0
      ? ''
      : `<div class="problems"><strong>Not shown:</strong><ul>${page.problems.map((p) => `<li>${escapeHtml(problemText(p))}</li>`).join('')}</ul></div>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>mlbuild plots</title>
<style>${STYLE}</style>
${scripts.map((s) => `<script>${inlineScript(s)}</script>`).join('\n')}
</head>
<body>
<h1>Plots</h1>
<p class="revs">${page.revisions.map(escapeHtml).join(' · ')}</p>
${problems}
${sections}
${images}
<script type="application/json" id="mlbuild-specs">${inlineJson(page.plots.map((p) => p.spec))}</script>
<script>${RUNNER}</script>
</body>
</html>
`;
}
