/**
 * Renders the stage graph for `mlbuild dag`: ASCII (stages in dependency order, each with what it
 * depends on), Mermaid, Graphviz dot, and JSON. Data that `.dvc` pointers track are nodes too
 * (named by their pointer file, as `dvc dag` shows them), with an edge to each stage that reads
 * them. Pure: takes a plan, the pipeline and the data nodes, returns text.
 */
import type { Pipeline } from './pipeline.js';
import type { Plan } from './plan.js';

/** A pointer-tracked data source and the planned stages that read it. */
export interface DataNode {
  readonly pointer: string;
  readonly path: string;
  readonly md5?: string;
  readonly stages: readonly string[];
}

const within = (a: string, b: string): boolean => a === b || a.startsWith(b + '/') || b.startsWith(a + '/');

/** The data nodes of `pointers` for `plan`: each with the planned stages whose deps meet its path. */
export function dataNodes(pipeline: Pipeline, plan: Plan, pointers: readonly { file: string; path: string; md5?: string }[], all: boolean): DataNode[] {
  return pointers
    .map((p) => ({
      pointer: p.file,
      path: p.path,
      ...(p.md5 ? { md5: p.md5 } : {}),
      stages: plan.stages.filter((s) => pipeline.stages.get(s)!.deps.some((d) => within(d.path, p.path))),
    }))
    .filter((n) => all || n.stages.length > 0);
}

export type DagFormat = 'ascii' | 'mermaid' | 'dot' | 'json';

const quoteDot = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export function renderDag(pipeline: Pipeline, plan: Plan, format: DagFormat, data: readonly DataNode[] = []): string {
  const stageEdges = plan.stages.flatMap((s) => (plan.upstream.get(s) ?? []).map((u) => [u, s] as const));
  const edges = [...data.flatMap((d) => d.stages.map((s) => [d.pointer, s] as const)), ...stageEdges];
  const nodes = [...data.map((d) => d.pointer), ...plan.stages];
  switch (format) {
    case 'json':
      return (
        JSON.stringify(
          {
            version: 1,
            stages: plan.stages.map((name) => {
              const s = pipeline.stages.get(name)!;
              return {
                name,
                group: s.group,
                cmd: s.cmd.length === 1 ? s.cmd[0] : s.cmd,
                deps: s.deps.map((d) => d.path),
                outs: s.outs.map((o) => o.path),
                upstream: plan.upstream.get(name) ?? [],
                frozen: s.frozen,
              };
            }),
            data: data.map((d) => ({ pointer: d.pointer, path: d.path, md5: d.md5 ?? null, stages: d.stages })),
            edges: edges.map(([from, to]) => ({ from, to })),
          },
          null,
          2,
        ) + '\n'
      );
    case 'dot':
      return ['strict digraph {', ...nodes.map((s) => `  ${quoteDot(s)};`), ...edges.map(([a, b]) => `  ${quoteDot(a)} -> ${quoteDot(b)};`), '}', ''].join('\n');
    case 'mermaid': {
      const id = new Map(nodes.map((s, i) => [s, `node${i + 1}`]));
      const label = (s: string): string => s.replace(/"/g, '#quot;');
      return ['flowchart TD', ...nodes.map((s) => `\t${id.get(s)}["${label(s)}"]`), ...edges.map(([a, b]) => `\t${id.get(a)}-->${id.get(b)}`), ''].join('\n');
    }
    case 'ascii': {
      if (plan.stages.length === 0 && data.length === 0) return 'No stages.\n';
      const dataLines = data.map((d) => `◆ ${d.pointer}${d.stages.length > 0 ? `  → ${d.stages.join(', ')}` : ''}`);
      // Depth = longest path from a source, so each line's upstream appears above it.
      const depth = new Map<string, number>();
      for (const s of plan.stages) depth.set(s, Math.max(-1, ...(plan.upstream.get(s) ?? []).map((u) => depth.get(u)!)) + 1);
      const lines: string[] = [];
      for (const s of plan.stages) {
        const ups = plan.upstream.get(s) ?? [];
        const indent = '  '.repeat(depth.get(s)!);
        lines.push(`${indent}${depth.get(s)! > 0 ? '└─ ' : '● '}${s}${ups.length > 0 ? `  ← ${ups.join(', ')}` : ''}`);
      }
      return [...dataLines, ...lines].join('\n') + '\n';
    }
  }
}
