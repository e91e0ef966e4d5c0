/**
 * Scoring texts with a model directory, for samples that carry no served scores (a TSV of new
 * traffic, the reference data). Reads the self-contained logistic-regression artefact the showcase
 * publishes (models/selected: model.json + features.tsv) with stages/lib/saved-model.ts, the same
 * arithmetic the pipeline used. Other flavours are refused with a message saying so.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadSavedLogReg, scoreText } from '../../stages/lib/saved-model.js';
import { SampleError } from './sample.js';

export interface Scorer {
  /** What the model is, for the report (e.g. `logreg (models/selected)`). */
  readonly describe: string;
  score(text: string): number;
}

export function loadScorer(given: string, abs: string): Scorer {
  const meta = path.join(abs, 'model.json');
  if (!existsSync(meta)) throw new SampleError(`${given}: not a model directory (no model.json); pass --model models/selected or a registered model's folder`);
  let flavour: unknown;
  try {
    flavour = (JSON.parse(readFileSync(meta, 'utf8')) as { model?: unknown }).model;
  } catch (e) {
    throw new SampleError(`${path.join(given, 'model.json')}: not valid JSON (${(e as Error).message})`);
  }
  if (flavour !== 'logreg') {
    throw new SampleError(`${given}: a ${JSON.stringify(flavour)} model; the monitor scores logreg models itself; for other flavours monitor a request log of mlbuild serve, whose records carry the served scores`);
  }
  const m = loadSavedLogReg(abs);
  return { describe: `logreg (${given})`, score: (t) => scoreText(m, t) };
}
