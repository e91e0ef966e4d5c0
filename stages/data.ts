/**
 * Stage `data`: fetch the dataset named by params `data` (a bundled dataset's pinned files, from a
 * local copy or downloaded, SHA-256 checked; or the user's own TSV files named by plain paths),
 * parse it strictly, clean the text, drop leaking duplicates, and write data/prepared/.
 *
 *   node build/stages/data.js --out data/prepared
 */
import { basename, join } from 'node:path';
import { fetchFile, sha256 } from './lib/datasets.js';
import { ensureDir, writeJson, writeJsonl } from './lib/files.js';
import { dataParams, isUserFile, PARTS, type Part } from './lib/params.js';
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
      const user = isUserFile(spec);
      const file = user ? spec.path : spec.file;
      const source = (user ? undefined : spec.source) ?? basename(file).replace(/\.[^.]*$/, '');
      // A user's file may or may not start with a header line; `data.header` describes the bundled files.
      const rows = parseLabelledTsv(decodeUtf8(fetched.bytes, fetched.origin), fetched.origin, { header: user ? 'auto' : p.header, clean: cleanText });
      for (const r of rows) parts[part].push({ id: `${source}:${r.line}`, text: r.text, label: r.label });
      files.push({ part, file, sha256: user ? sha256(fetched.bytes) : spec.sha256, rows: rows.length });
    }
  }
  // The dataset's name, or the user's files when they replace some of its parts.
  const userFiles = PARTS.flatMap((part) => p.parts[part].filter(isUserFile).map((f) => basename(f.path)));
  const pinnedUsed = PARTS.some((part) => p.parts[part].some((f) => !isUserFile(f)));
  const dataset = userFiles.length === 0 ? p.name : [...new Set(userFiles), ...(pinnedUsed ? [p.name] : [])].join(' + ');
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
    dataset,
    files,
    parts: { train: count(parts.train), dev: count(parts.dev), test: count(parts.test) },
    dedupe: p.dedupe ? { removed_from_train: removed } : false,
  });
  ctx.log(`data: ${dataset}: train ${parts.train.length}, dev ${parts.dev.length}, test ${parts.test.length} rows -> ${out}`);
}

if (isEntryPoint(import.meta.url)) runStage('data', main);
