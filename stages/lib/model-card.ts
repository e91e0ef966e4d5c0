/**
 * The model card shipped with the selected model (models/selected/MODEL_CARD.md). It carries no
 * date or host name: the same inputs must give the same bytes, and provenance is the data hashes
 * and params, which the lockfile ties to a git revision.
 */
import { fixed, interval, pct, table } from './markdown.js';
import type { Choice, SummaryInput, TestMetrics } from './summary.js';

export interface CardInput {
  readonly model: string;
  readonly metric: string;
  readonly candidates: Readonly<Record<string, number | null>>;
  readonly test: TestMetrics;
  readonly choice: Choice;
  readonly split: SummaryInput['split'];
  readonly dataMeta: SummaryInput['dataMeta'] & { files: { part: string; file: string; sha256: string; rows: number }[] };
  readonly seed: number;
}

const NEURAL_FILES = [
  '- `model.json`: settings and weight shapes; `weights.bin`: float32 weights in that order; `vocab.txt`: token per id (from 2).',
  '- Load with the learner (`learnerFor(...).load(dir, data)`), or start another fit from it with `model.checkpoint`.',
];

const FILES: Readonly<Record<string, readonly string[]>> = {
  cnn: NEURAL_FILES,
  transformer: NEURAL_FILES,
  logreg: [
    '- `model.json`: settings and intercept; `features.tsv`: n-gram, vectoriser weight, coefficient.',
    '- Score text with `loadSavedLogReg` / `scoreText` (stages/lib/saved-model.ts); no feature files needed.',
  ],
  xgboost: [
    '- `model.xgb`: the XGBoost booster (binary format of XGBoost 0.7x, as saved by ml-xgboost).',
    '- `features.tsv`: n-gram, TF-IDF weight, and whether chi2 selected it as a tree input (missing = -1).',
  ],
};

export function renderModelCard(c: CardInput): string {
  const where = c.split.test_source === 'none' ? `pooled out-of-fold predictions (${c.test.n} rows)` : `the ${c.split.test_source} test set (${c.test.n} rows)`;
  const lines = [
    `# Model card: ${c.model}`,
    '',
    `Selected by **${c.metric}** among: ${Object.entries(c.candidates).map(([m, v]) => `${m} (${fixed(v, 4)})`).join(', ')}.`,
    '',
    '## What it does',
    '',
    'Binary sentiment of a short English review sentence: P(positive) in [0, 1]; positive when >= 0.5.',
    `Hyperparameters: ${Object.entries(c.choice.hyper).map(([k, v]) => `${k} = ${v}`).join(', ')}; ` +
      `${c.choice.refit ? 'refitted' : 'trained'} on ${c.choice.fit_rows} rows.`,
    '',
    '## Data',
    '',
    `Dataset \`${c.dataMeta.dataset}\`, split by strategy \`${c.split.strategy}\` (${c.split.splitter}), seed ${c.seed}.`,
    '',
    table(['part', 'file', 'rows', 'SHA-256'], c.dataMeta.files.map((f) => [f.part, f.file, f.rows, `\`${f.sha256}\``])),
    '',
    '## Evaluation',
    '',
    `On ${where}:`,
    '',
    table(
      ['accuracy', '95 % CI', 'F1', '95 % CI', 'precision', 'recall', 'ROC AUC'],
      [[pct(c.test.accuracy), interval(c.test.accuracy_ci), pct(c.test.f1), interval(c.test.f1_ci), pct(c.test.precision), pct(c.test.recall), fixed(c.test.roc_auc)]],
    ),
    '',
    '## Intended use and limits',
    '',
    '- Trained on short English review text (products, restaurants, films). Other domains, languages, long',
    '  documents, sarcasm and new slang or emoji unseen in training will score worse: monitor vocabulary drift.',
    ...(c.model === 'cnn' || c.model === 'transformer'
      ? ['- Reads at most the first max_len tokens; embeddings learned from this data only (no pretraining), so rare words are weak.']
      : ['- Bag of n-grams: word order beyond bigrams is ignored ("not bad at all" relies on the bigram "not bad").']),
    '- Check the dataset licence before commercial use (UCI: CC BY 4.0; SST-2: not stated upstream).',
    '',
    '## Files',
    '',
    ...(FILES[c.model] ?? ['- `model.json`: settings; see stages/lib/learner-' + c.model + '.ts for the format.']),
  ];
  return `${lines.join('\n')}\n`;
}
