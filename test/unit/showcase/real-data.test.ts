// The real datasets through the data stage's own code path: pinned hashes match, counts match the
// READMEs, and the format traps (quotes, U+0085, trailing spaces, header) are handled.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dedupeTrain } from '../../../stages/lib/dedupe.js';
import { fetchFile } from '../../../stages/lib/datasets.js';
import { dataParams, isUserFile, PARTS, type Part } from '../../../stages/lib/params.js';
import type { PreparedRow } from '../../../stages/lib/prepared.js';
import { cleanText } from '../../../stages/lib/text.js';
import { decodeUtf8, parseLabelledTsv } from '../../../stages/lib/tsv.js';
import { composeParams, dataDir, repoRoot } from './helpers.js';

async function load(dataset: string): Promise<Record<Part, PreparedRow[]>> {
  const p = dataParams(composeParams({ data: dataset }));
  const parts: Record<Part, PreparedRow[]> = { train: [], dev: [], test: [] };
  for (const part of PARTS) {
    for (const spec of p.parts[part]) {
      const f = await fetchFile(spec, p, { MLBUILD_DATA_DIR: dataDir }, repoRoot);
      for (const r of parseLabelledTsv(decodeUtf8(f.bytes, f.origin), f.origin, { header: p.header, clean: cleanText })) {
        parts[part].push({ id: `${isUserFile(spec) ? spec.path : spec.file}:${r.line}`, text: r.text, label: r.label });
      }
    }
  }
  return parts;
}

describe('real data', () => {
  it(`is present at ${dataDir} (set MLBUILD_DATA_DIR to run these tests elsewhere)`, () => {
    expect(existsSync(dataDir)).toBe(true);
  });

  it('UCI: 3 x 1000 rows, 500/500 per source, C1 characters repaired, quotes kept', async () => {
    const { train, dev, test } = await load('uci');
    expect(train).toHaveLength(3000);
    expect(dev).toHaveLength(0);
    expect(test).toHaveLength(0);
    for (const src of ['amazon', 'imdb', 'yelp']) {
      const rows = train.filter((r) => r.id.startsWith(src));
      expect(rows).toHaveLength(1000);
      expect(rows.filter((r) => r.label === 1)).toHaveLength(500);
    }
    expect(train.some((r) => /[\u0080-\u009f]/.test(r.text))).toBe(false);
    expect(train.filter((r) => r.id.startsWith('imdb') && r.text.includes('"')).length).toBe(43);
    expect(train.every((r) => r.text === r.text.trim())).toBe(true);
    const { kept, removed } = dedupeTrain({ train, dev, test });
    expect(kept.length).toBe(3000 - removed.duplicate!);
    expect(removed.conflicting_labels).toBe(0);
  });

  it('SST-2: 67,349 / 872 / 1,821 labelled rows, header skipped, trailing spaces stripped', async () => {
    const { train, dev, test } = await load('sst2');
    expect([train.length, dev.length, test.length]).toEqual([67349, 872, 1821]);
    expect(dev.filter((r) => r.label === 1)).toHaveLength(444);
    expect(test.filter((r) => r.label === 1)).toHaveLength(909);
    expect(train[0]).toMatchObject({ text: 'hide new secretions from the parental units', label: 0 });
    const { removed } = dedupeTrain({ train, dev, test });
    expect(removed.in_dev_or_test).toBe(2); // "what 's next ?" and "no . ."
  });
});
