#!/usr/bin/env node
// Drifted traffic for the monitoring demo and tests: labelled sentences (`sentence<TAB>label`, e.g.
// the UCI IMDb file) rewritten with internet slang and emoji, deterministically for a seed. The
// labels are kept, so the same file is also "newly labelled data" for retraining.
//
//   node scripts/drift-traffic.mjs --in imdb_labelled.txt --out traffic.tsv [--seed 7] [--rate 0.6]
//     [--from 0] [--count 1000]
//
// --rate: share of sentences given a slang tag and an emoji (word substitutions apply to all).
// --from/--count: which lines of the input to use (so traffic and labelled data can be disjoint).
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { mulberry32 as rng } from './lib/mulberry32.mjs';

const SUBSTITUTIONS = [
  [/\bvery\b/gi, 'hella'],
  [/\breally\b/gi, 'lowkey'],
  [/\bgreat\b/gi, 'lit'],
  [/\bgood\b/gi, 'fire'],
  [/\bamazing\b/gi, 'bussin'],
  [/\bexcellent\b/gi, 'goated'],
  [/\bawesome\b/gi, 'slaps'],
  [/\bbad\b/gi, 'mid'],
  [/\bterrible\b/gi, 'trash af'],
  [/\bawful\b/gi, 'cringe'],
  [/\bboring\b/gi, 'snoozefest'],
  [/\bhonestly\b/gi, 'ngl'],
  [/\bfunny\b/gi, 'lmao'],
  [/\bmovie\b/gi, 'flick'],
  [/\bfilm\b/gi, 'flick'],
  [/\bfriends\b/gi, 'fam'],
  [/\bI think\b/g, 'imo'],
];
const TAGS = ['fr fr', 'no cap', 'ngl', 'tbh', 'lol', 'smh', 'deadass', 'its giving', 'iykyk', 'periodt'];
const POSITIVE = ['😍', '🔥', '💯', '🙌', '😂', '✨'];
const NEGATIVE = ['💀', '🙄', '😤', '👎', '😬', '🤡'];


/** Rewrites one sentence; `label` picks the emoji's polarity. */
export function slangify(sentence, label, random, rate) {
  let s = sentence.trim();
  for (const [re, to] of SUBSTITUTIONS) s = s.replace(re, to);
  if (random() < rate) {
    const tag = TAGS[Math.floor(random() * TAGS.length)];
    const pool = label === 1 ? POSITIVE : NEGATIVE;
    const emoji = pool[Math.floor(random() * pool.length)];
    s = random() < 0.5 ? `${s.replace(/[.!]*$/, '')} ${tag} ${emoji}` : `${tag} ${s} ${emoji}${emoji}`;
  }
  return s;
}

/** Rewritten `sentence\tlabel` lines of a labelled TSV's text. */
export function driftTraffic(text, o = {}) {
  const random = rng(o.seed ?? 7);
  const rate = o.rate ?? 0.6;
  const lines = text.split('\n').filter((l) => l.includes('\t'));
  const picked = lines.slice(o.from ?? 0, (o.from ?? 0) + (o.count ?? lines.length));
  return picked.map((line) => {
    const tab = line.lastIndexOf('\t');
    const label = Number(line.slice(tab + 1).trim()) === 1 ? 1 : 0;
    // U+0085 and other C1 controls in the UCI files are cp1252 leftovers: keep them off the line.
    const sentence = line.slice(0, tab).replace(/[\u0080-\u009f]/g, ' ');
    return `${slangify(sentence, label, random, rate)}\t${label}`;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      in: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string', default: '7' },
      rate: { type: 'string', default: '0.6' },
      from: { type: 'string', default: '0' },
      count: { type: 'string' },
    },
  });
  if (!values.in || !values.out) {
    process.stderr.write('usage: drift-traffic.mjs --in LABELLED.tsv --out OUT.tsv [--seed N] [--rate 0.6] [--from N] [--count N]\n');
    process.exit(2);
  }
  const lines = driftTraffic(fs.readFileSync(values.in, 'utf8'), {
    seed: Number(values.seed),
    rate: Number(values.rate),
    from: Number(values.from),
    count: values.count === undefined ? undefined : Number(values.count),
  });
  fs.writeFileSync(values.out, lines.join('\n') + '\n');
  process.stderr.write(`${values.out}: ${lines.length} sentences\n`);
}
