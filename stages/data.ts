/**
 * Stage `data`: fetch the dataset named by params `data` (local copy or download, SHA-256 checked),
 * parse it strictly, clean the text, drop leaking duplicates, and write data/prepared/.
 *
 *   node dist/stages/data.js --out data/prepared
 */
import { basename, join } from 'node:path';
import { fetchFile } from './lib/datasets.js';
import { ensureDir, writeJson, writeJsonl } from './lib/files.js';
import { dataParams, PARTS, type Part } from './lib/params.js';
import type { PreparedRow } from './lib/prepared.js';
import { isEntryPoint, loadParams, pathArgs, runStage, type StageContext } from './lib/stage.js';
import { dedupeTrain } from './lib/dedupe.js';
import { cleanText } from './lib/text.js';
import { decodeUtf8, parseLabelledTsv } from './lib/tsv.js';

interface FileReport {
  part: Part;
  file: string;
  sha256: string;
  rows: number;
}

export async function main(ctx: StageContext): Promise<void> {
  const { out } = pathArgs(ctx, ['out']);
  const p = dataParams(loadParams(ctx.env));
  const parts: Record<Part, PreparedRow[]> = { train: [], dev: [], test: [] };
  const files: FileReport[] = [];
  for (const part of PARTS) {
    for (const spec of p.parts[part]) {
      const fetched = await fetchFile(spec, p, ctx.env, ctx.cwd);
      const source = spec.source ?? basename(spec.file).replace(/\.[^.]*$/, '');
      const rows = parseLabelledTsv(decodeUtf8(fetched.bytes, fetched.origin), fetched.origin, { header: p.header, clean: cleanText });
      for (const r of rows) parts[part].push({ id: `${source}:${r.line}`, text: r.text, label: r.label });
      files.push({ part, file: spec.file, sha256: spec.sha256, rows: rows.length });
    }
  }
  let removed: Record<string, number> = {};
  if (p.dedupe) ({ kept: parts.train, removed } = dedupeTrain(parts));

  ensureDir(out);
  for (const part of PARTS) writeJsonl(join(out, `${part}.jsonl`), parts[part]);
  const count = (rows: PreparedRow[]): Record<string, number> => ({
    rows: rows.length,
    negative: rows.filter((r) => r.label === 0).length,
    positive: rows.filter((r) => r.label === 1).length,
  });
  writeJson(join(out, 'meta.json'), {
    dataset: p.name,
    files,
    parts: { train: count(parts.train), dev: count(parts.dev), test: count(parts.test) },
    dedupe: p.dedupe ? { removed_from_train: removed } : false,
  });
  ctx.log(`data: ${p.name}: train ${parts.train.length}, dev ${parts.dev.length}, test ${parts.test.length} rows -> ${out}`);
}

if (isEntryPoint(import.meta.url)) runStage('data', main);
