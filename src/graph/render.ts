/**
 * Renders the stage graph for `mlbuild dag`: ASCII (stages in dependency order, each with what it
 * depends on), Mermaid, Graphviz dot, and JSON. Pure: takes a plan and the pipeline, returns text.
 */
import type { Pipeline } from './pipeline.js';
import type { Plan } from './plan.js';

export type DagFormat = 'ascii' | 'mermaid' | 'dot' | 'json';

const quoteDot = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export function renderDag(pipeline: Pipeline, plan: Plan, format: DagFormat): string {
  const edges = plan.stages.flatMap((s) => (plan.upstream.get(s) ?? []).map((u) => [u, s] as const));
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
            edges: edges.map(([from, to]) => ({ from, to })),
          },
          null,
          2,
        ) + '\n'
      );
    case 'dot':
      return ['strict digraph {', ...plan.stages.map((s) => `  ${quoteDot(s)};`), ...edges.map(([a, b]) => `  ${quoteDot(a)} -> ${quoteDot(b)};`), '}', ''].join('\n');
    case 'mermaid': {
      const id = new Map(plan.stages.map((s, i) => [s, `node${i + 1}`]));
      const label = (s: string): string => s.replace(/"/g, '#quot;');
      return ['flowchart TD', ...plan.stages.map((s) => `\t${id.get(s)}["${label(s)}"]`), ...edges.map(([a, b]) => `\t${id.get(a)}-->${id.get(b)}`), ''].join('\n');
    }
    case 'ascii': {
      if (plan.stages.length === 0) return 'No stages.\n';
      // Depth = longest path from a source, so each line's upstream appears above it.
      const depth = new Map<string, number>();
      for (const s of plan.stages) depth.set(s, Math.max(-1, ...(plan.upstream.get(s) ?? []).map((u) => depth.get(u)!)) + 1);
      const lines: string[] = [];
      for (const s of plan.stages) {
        const ups = plan.upstream.get(s) ?? [];
        const indent = '  '.repeat(depth.get(s)!);
        lines.push(`${indent}${depth.get(s)! > 0 ? '└─ ' : '● '}${s}${ups.length > 0 ? `  ← ${ups.join(', ')}` : ''}`);
      }
      return lines.join('\n') + '\n';
    }
  }
}
