import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { declaredPlots } from '../../../src/plots/definition.js';
import { parseYamlText } from '../../../src/config/pipeline-file.js';
import { formatDiagnostics, type Diagnostic } from '../../../src/report/diagnostic.js';
import { loadErr, loadOk, project } from '../config/helpers.js';

/** Loads the pipeline through the real config loader, then reads its declared plots. */
async function plotsOf(pipeline: string): Promise<{ defs: ReturnType<typeof declaredPlots>; diags: string }> {
  const root = await project({ 'pipeline.yaml': pipeline });
  const loaded = await loadOk(root);
  const file = parseYamlText(path.join(root, 'pipeline.yaml'), 'pipeline.yaml', pipeline, true);
  if (!file.ok) throw new Error(formatDiagnostics(file.error));
  const diags: Diagnostic[] = [];
  const defs = declaredPlots(loaded.stages, file.value, diags);
  return { defs, diags: formatDiagnostics(diags) };
}

const STAGE = `stages:
  evaluate:
    cmd: node eval.js
    plots:
      - plots/roc.json: {x: fpr, y: tpr, title: ROC, x_label: FPR, y_label: TPR}
      - plots/confusion.json: {template: confusion, x: actual, y: predicted}
      - plots/loss.csv
      - plots/cached.json: {cache: true, y: [a, b]}
`;

describe('declaredPlots', () => {
  it('reads stage plots with their options, linear by default', async () => {
    const { defs, diags } = await plotsOf(STAGE);
    expect(diags).toBe('');
    expect(defs).toEqual([
      expect.objectContaining({ id: 'plots/roc.json', template: 'linear', title: 'ROC', xLabel: 'FPR', yLabel: 'TPR', sources: [{ file: 'plots/roc.json', cache: false, x: 'fpr', y: ['tpr'] }] }),
      expect.objectContaining({ id: 'plots/confusion.json', template: 'confusion', sources: [{ file: 'plots/confusion.json', cache: false, x: 'actual', y: ['predicted'] }] }),
      expect.objectContaining({ id: 'plots/loss.csv', template: 'linear', sources: [{ file: 'plots/loss.csv', cache: false, y: [] }] }),
      expect.objectContaining({ id: 'plots/cached.json', sources: [{ file: 'plots/cached.json', cache: true, y: ['a', 'b'] }] }),
    ]);
  });

  it("reads DVC's top-level plots: a path, a path with options (replacing the stage's), and a named plot over several files", async () => {
    const { defs, diags } = await plotsOf(
      STAGE +
        `plots:
  - plots/loss.csv
  - plots/roc.json:
      template: scatter
      x: fpr
      y: tpr
  - extra/acc.tsv: {y: acc}
  - Precision-recall:
      x: {eval/train.json: r, eval/test.json: recall}
      y:
        eval/train.json: p
        eval/test.json: [precision]
      template: smooth
      title: PR
`,
    );
    expect(diags).toBe('');
    expect(defs.map((d) => [d.id, d.template])).toEqual([
      ['plots/roc.json', 'scatter'],
      ['plots/confusion.json', 'confusion'],
      ['plots/loss.csv', 'linear'],
      ['plots/cached.json', 'linear'],
      ['extra/acc.tsv', 'linear'],
      ['Precision-recall', 'smooth'],
    ]);
    expect(defs[0]!.title).toBeUndefined();
    expect(defs.at(-1)).toMatchObject({
      title: 'PR',
      sources: [
        { file: 'eval/train.json', cache: false, x: 'r', y: ['p'] },
        { file: 'eval/test.json', cache: false, x: 'recall', y: ['precision'] },
      ],
    });
  });

  it('points at an unknown template and a malformed top-level entry, when the pipeline loads', async () => {
    const diags = await loadErr(await project({ 'pipeline.yaml':
      `stages:
  evaluate:
    cmd: node eval.js
    plots:
      - plots/roc.json: {template: lineer}
plots:
  - [a, b]
  - p.json: {colour: red}
`,
    }));
    expect(diags).toContain("error: unknown plot template 'lineer' for plot 'plots/roc.json'");
    expect(diags).toContain("did you mean 'linear'?");
    expect(diags).toMatch(/pipeline\.yaml:5:9/);
    expect(diags).toContain("each entry of the top-level 'plots' must be a path or a one-key map");
    expect(diags).toMatch(/pipeline\.yaml:7:5/);
    expect(diags).toContain("unknown key 'colour' in top-level plot 'p.json'");
  });

  it('declares nothing without plots', async () => {
    expect((await plotsOf('stages:\n  a:\n    cmd: echo\n')).defs).toEqual([]);
  });
});

describe("the showcase's plots", () => {
  it('declares the ROC curve and the confusion matrix each evaluate@<model> stage writes', async () => {
    const root = path.resolve(import.meta.dirname, '../../..');
    const text = fs.readFileSync(path.join(root, 'pipeline.yaml'), 'utf8');
    const file = parseYamlText(path.join(root, 'pipeline.yaml'), 'pipeline.yaml', text, true);
    if (!file.ok) throw new Error(formatDiagnostics(file.error));
    const diags: Diagnostic[] = [];
    const defs = declaredPlots((await loadOk(root)).stages, file.value, diags);
    expect(formatDiagnostics(diags)).toBe('');
    expect(defs.map((d) => [d.id, d.template, d.sources[0]!.x, d.sources[0]!.y])).toEqual([
      // The default run trains one model (params/base.yaml: - model: [logreg]).
      ['plots/logreg/roc.json', 'linear', 'fpr', ['tpr']],
      ['plots/logreg/confusion.json', 'confusion', 'actual', ['predicted']],
    ]);
  });
});
