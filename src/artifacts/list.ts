/**
 * The listing of `mlbuild artifacts`: the top-level `artifacts:` of the pipeline file (DVC's model
 * registry annotations: name, path, type, desc, labels, meta), each with the stage that produces
 * its path (an out equal to it or holding it), as a table, a Markdown table or JSON. Pure: takes
 * what config/ read, returns text. It does not register, tag or promote models (GTO's job).
 */
import type { Artifact } from '../config/top-level.js';
import type { Stage } from '../model/stage.js';
import { renderMarkdown, renderTable, type Format } from '../metrics/render.js';

export interface ArtifactRow extends Artifact {
  /** The stage whose out is, or contains, the artifact's path; undefined for data no stage makes. */
  readonly stage: string | undefined;
}

export function artifactRows(artifacts: readonly Artifact[], stages: Iterable<Stage>): ArtifactRow[] {
  const list = [...stages];
  return artifacts.map((a) => {
    const maker = list.find((s) => s.outs.some((o) => a.path === o.path || a.path.startsWith(`${o.path}/`)));
    return { ...a, stage: maker?.name };
  });
}

export const ARTIFACTS_JSON_VERSION = 1;

export function renderArtifacts(rows: readonly ArtifactRow[], format: Format): string {
  if (format === 'json') {
    const artifacts = rows.map((r) => ({
      name: r.name,
      path: r.path,
      type: r.type ?? null,
      desc: r.desc ?? null,
      labels: r.labels,
      meta: r.meta ?? null,
      stage: r.stage ?? null,
    }));
    return JSON.stringify({ version: ARTIFACTS_JSON_VERSION, artifacts }, null, 2) + '\n';
  }
  if (rows.length === 0) return '';
  const header = ['Name', 'Path', 'Type', 'Stage', 'Labels', 'Desc', 'Meta'];
  const cells = rows.map((r) => [
    r.name,
    r.path,
    r.type ?? '-',
    r.stage ?? '-',
    r.labels.length > 0 ? r.labels.join(', ') : '-',
    r.desc ?? '-',
    r.meta === undefined ? '-' : JSON.stringify(r.meta),
  ]);
  return format === 'md' ? renderMarkdown(header, cells) : renderTable(header, cells);
}
