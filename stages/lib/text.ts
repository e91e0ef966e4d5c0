/**
 * Text cleaning and tokenisation, shared by every model so they all see the same tokens.
 * Two steps, kept apart on purpose: `cleanText` repairs encoding damage once, in the data stage
 * (so prepared files are readable), and `tokenize` makes model tokens (lower-cased, clitics split
 * the Penn Treebank way so raw UCI text "don't" and SST-2's pre-tokenised "do n't" agree).
 */

/**
 * Windows-1252 characters for the C1 control code points U+0080..U+009F: text that was cp1252 but
 * got decoded as Latin-1 (imdb_labelled.txt has U+0085/U+0096/U+0097) becomes what the author typed.
 * Undefined cp1252 slots map to a space.
 */
const CP1252_C1 = '€ ‚ƒ„…†‡ˆ‰Š‹Œ Ž  ‘’“”•–—˜™š›œ žŸ';

export function repairC1(text: string): string {
  return text.replace(/[\u0080-\u009f]/g, (ch) => CP1252_C1[ch.charCodeAt(0) - 0x80] ?? ' ');
}

/** Data-stage cleaning: C1 repair, NFC, every whitespace run (tabs, NBSP, line separators) to one space, trimmed. */
export function cleanText(text: string): string {
  return repairC1(text).normalize('NFC').replace(/[\s\p{Cc}\p{Zs}]+/gu, ' ').trim();
}

const CLITIC_NT = /(\p{L})n['’]t(?![\p{L}\p{N}])/gu;
const CLITIC = /(\p{L})['’](s|re|ve|ll|d|m)(?![\p{L}\p{N}])/gu;

// Order matters: clitics and emoticons before words, and everything not listed here (quotes,
// commas, full stops, brackets) is dropped: it carries little sentiment and pollutes bigrams.
const TOKEN = new RegExp(
  [
    "n't(?![\\p{L}\\p{N}])",
    "'(?:s|re|ve|ll|d|m)(?![\\p{L}\\p{N}])",
    '[:;=][-^]?[()\\[\\]dpo/\\\\|*]+(?![\\p{L}\\p{N}])', // emoticons, after lower-casing: :) ;-( :d :p
    '\\p{N}+(?:[.,]\\p{N}+)*', // numbers: 3.5, 10,000
    "[\\p{L}\\p{M}\\p{N}]+(?:[-'][\\p{L}\\p{M}\\p{N}]+)*", // words, with inner hyphens/apostrophes
    '[!?]+',
    '\\.{2,}|…',
    '\\p{Extended_Pictographic}',
  ].join('|'),
  'gu',
);

/** Model tokens. Pure and locale-independent (toLowerCase, not toLocaleLowerCase). */
export function tokenize(text: string): string[] {
  const t = text
    .replace(/[\u0080-\u009f\p{Cc}]/gu, ' ') // C1/C0 controls that survived cleaning carry no meaning
    .normalize('NFKC') // folds ligatures, full-width forms, … -> ...
    .toLowerCase()
    .replace(/[‘’‚‛`´′]/g, "'")
    .replace(/[‐‑‒–—―]/g, '-')
    .replace(CLITIC_NT, '$1 n\'t')
    .replace(CLITIC, "$1 '$2");
  const out: string[] = [];
  for (const m of t.matchAll(TOKEN)) {
    let tok = m[0];
    if (tok[0] === '!' || tok[0] === '?') tok = tok.slice(0, 3); // "!!!!!" and "!!!" are one signal
    else if (tok === '…') tok = '...';
    else if (tok[0] === '.') tok = '...';
    out.push(tok);
  }
  return out;
}

/** n-grams of orders 1..maxN, joined by a space (tokens never contain one). */
export function ngrams(tokens: readonly string[], maxN: number): string[] {
  const out = tokens.slice();
  for (let n = 2; n <= maxN; n++) {
    for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(' '));
  }
  return out;
}
