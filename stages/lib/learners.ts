/** The registry of models the pipeline can train, by `model.name`. */
import type { Learner } from './learner.js';
import { cnn } from './learner-cnn.js';
import { logreg } from './learner-logreg.js';
import { transformer } from './learner-transformer.js';
import { xgboost } from './learner-xgboost.js';
import { str } from './params.js';
import { ConfigError, type ParamTree } from './stage.js';

export type { Dataset, Fitted, Hyper, Learner } from './learner.js';
export { hyperLabel } from './learner.js';

const LEARNERS: Readonly<Record<string, Learner>> = { logreg, xgboost, cnn, transformer };

export function learnerFor(tree: ParamTree): Learner {
  const name = str(tree, 'model.name');
  const l = LEARNERS[name];
  if (!l) throw new ConfigError(`params: model.name = ${name} has no learner; known: ${Object.keys(LEARNERS).join(', ')}`);
  return l;
}
