import { describe, expect, it } from 'vitest';
import { cleanText, ngrams, repairC1, tokenize } from '../../../stages/lib/text.js';

describe('cleanText', () => {
  it('repairs C1 controls as the Windows-1252 characters they were (imdb_labelled.txt)', () => {
    expect(repairC1('a \u0096 b \u0097 c\u0085')).toBe('a – b — c…');
    expect(repairC1('\u0081')).toBe(' '); // undefined in cp1252
  });

  it('normalises whitespace (incl. NBSP and NEL) and trims, keeping quotes', () => {
    expect(cleanText('  A "great"\u00a0phone \u2028 really  ')).toBe('A "great" phone really');
    expect(cleanText('e\u0301')).toBe('é'); // NFC
  });
});

describe('tokenize', () => {
  it('lower-cases and splits clitics like the Penn Treebank, so raw and SST-2 text agree', () => {
    expect(tokenize("Don't buy it, it's BAD")).toEqual(['do', "n't", 'buy', 'it', 'it', "'s", 'bad']);
    expect(tokenize("do n't buy it , it 's bad")).toEqual(tokenize("Don't buy it, it's BAD"));
    expect(tokenize("I can't, we've, they'll, I'm")).toEqual(['i', 'ca', "n't", 'we', "'ve", 'they', "'ll", 'i', "'m"]);
    expect(tokenize('It’s great')).toEqual(['it', "'s", 'great']); // curly apostrophe
  });

  it('drops quotes and most punctuation but keeps sentiment marks', () => {
    expect(tokenize('"Great" phone!!!!! Really?')).toEqual(['great', 'phone', '!!!', 'really', '?']);
    expect(tokenize("'quoted' words")).toEqual(['quoted', 'words']);
    expect(tokenize('It was… ok... fine')).toEqual(['it', 'was', '...', 'ok', '...', 'fine']);
    expect(tokenize('Loved it :) but :-( sad 😀')).toEqual(['loved', 'it', ':)', 'but', ':-(', 'sad', '😀']);
  });

  it('is unicode-aware: accents, hyphens, numbers, full-width forms', () => {
    expect(tokenize('CAFÉ naïve well-made 3.5 stars ＧＯＯＤ')).toEqual(['café', 'naïve', 'well-made', '3.5', 'stars', 'good']);
  });

  it('strips C1 and other control characters that survived cleaning', () => {
    expect(tokenize('bad\u0085movie\u0007ever')).toEqual(['bad', 'movie', 'ever']);
  });

  it('is deterministic and total (empty and punctuation-only text)', () => {
    expect(tokenize('')).toEqual([]);
    expect(tokenize(' , . ; ')).toEqual([]);
  });
});

describe('ngrams', () => {
  it('adds bigrams after the unigrams', () => {
    expect(ngrams(['not', 'very', 'good'], 2)).toEqual(['not', 'very', 'good', 'not very', 'very good']);
    expect(ngrams(['a'], 2)).toEqual(['a']);
    expect(ngrams(['a', 'b', 'c'], 1)).toEqual(['a', 'b', 'c']);
  });
});
