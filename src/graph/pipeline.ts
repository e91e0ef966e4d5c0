/**
 * The Pipeline: stages linked by path ownership. A stage depends on the stage whose out is the same
 * path as, lies inside, or contains one of its deps. Building it checks, before anything runs:
 * duplicate and overlapping outs and cycles (every stage of the cycle named). A dep that no stage
 * makes and that does not exist is no error here but a state, `missing` (a fresh clone before
 * `pull`): the pipeline lists them, and status and repro say where to get each one. It does not
 * hash, plan targets or look at the lockfile.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Stage } from '../model/stage.js';
import type { StageName } from '../util/brand.js';
import type { Diagnostic, SourceLocation } from '../report/diagnostic.js';
import { type Result, ok, err } from '../util/result.js';

export interface Pipeline {
  readonly stages: ReadonlyMap<StageName, Stage>;
  /** Stages in file order. */
  readonly order: readonly StageName[];
  upstream(s: StageName): readonly StageName[];
  downstream(s: StageName): readonly StageName[];
  /** The stage whose out is, contains or lies inside `p` (project-relative), if any. */
  producersOf(p: string): StageName[];
  /** Deps that no stage makes and that are not there, in stage order. */
  readonly missing: readonly MissingInput[];
}

export interface MissingInput {
  readonly path: string;
  readonly stage: StageName;
  readonly loc?: SourceLocation;
}

interface OutOwner {
  readonly path: string;
  readonly stage: Stage;
  readonly index: number;
}

const isInside = (child: string, parent: string): boolean => parent === '' || child.startsWith(parent + '/');

/** Sorted index of out paths, answering "which outs are equal to, above or below this path". */
class OutIndex {
  private readonly sorted: OutOwner[];
  private readonly byPath = new Map<string, OutOwner[]>();

  constructor(owners: OutOwner[]) {
    this.sorted = [...owners].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const o of owners) {
      const list = this.byPath.get(o.path);
      if (list) list.push(o);
      else this.byPath.set(o.path, [o]);
    }
  }

  exact(p: string): readonly OutOwner[] {
    return this.byPath.get(p) ?? [];
  }

  /** Outs that are strict ancestors of p (pushed onto `into`). */
  above(p: string, into: OutOwner[] = []): OutOwner[] {
    for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
      const owners = this.byPath.get(p.slice(0, i));
      if (owners) into.push(...owners);
    }
    return into;
  }

  /** Outs strictly inside p (pushed onto `into`). */
  below(p: string, into: OutOwner[] = []): OutOwner[] {
    const prefix = p + '/';
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]!.path < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.sorted.length && this.sorted[i]!.path.startsWith(prefix); i++) into.push(this.sorted[i]!);
    return into;
  }

  /** Outs equal to, above or below p; one array, since this runs once per dep of every stage. */
  related(p: string): OutOwner[] {
    const found: OutOwner[] = [];
    const same = this.byPath.get(p);
    if (same) found.push(...same);
    this.above(p, found);
    return this.below(p, found);
  }
}

export interface BuildPipelineOptions {
  /** Absolute project root, to check that unproduced deps exist. */
  readonly root: string;
  /** Injected for tests; defaults to fs.existsSync. */
  readonly exists?: (absPath: string) => boolean;
}

export function buildPipeline(stageList: readonly Stage[], opts: BuildPipelineOptions): Result<Pipeline, Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const exists = opts.exists ?? ((p: string) => fs.existsSync(p));
  const stages = new Map<StageName, Stage>();
  for (const s of stageList) stages.set(s.name, s);

  const owners: OutOwner[] = [];
  stageList.forEach((stage) => stage.outs.forEach((o, index) => owners.push({ path: o.path, stage, index })));
  const index = new OutIndex(owners);

  // Duplicate and overlapping outs: report each pair once, at the later declaration.
  const position = new Map(owners.map((o, i) => [o, i]));
  for (const o of owners) {
    const earlierSame = index.exact(o.path).filter((x) => position.get(x)! < position.get(o)!);
    for (const other of [...earlierSame, ...index.above(o.path)]) {
      const same = other.path === o.path;
      const loc = o.stage.outs[o.index]!.loc;
      const otherLoc = other.stage.outs[other.index]!.loc;
      diagnostics.push({
        severity: 'error',
        code: same ? 'duplicate-out' : 'overlapping-out',
        message: same
          ? `out '${o.path}' of stage '${o.stage.name}' is also an out of stage '${other.stage.name}'`
          : `out '${o.path}' of stage '${o.stage.name}' lies inside out '${other.path}' of stage '${other.stage.name}'`,
        ...(loc ? { location: loc } : {}),
        ...(otherLoc ? { related: [{ message: `'${other.path}' declared here`, location: otherLoc }] } : {}),
        hint: same
          ? 'each path must be produced by exactly one stage; rename one of the outs'
          : 'outs must not overlap; declare the inner path as a dep, or split the directory',
      });
    }
  }

  const missing: MissingInput[] = [];
  const up = new Map<StageName, StageName[]>();
  const down = new Map<StageName, StageName[]>();
  for (const s of stageList) {
    up.set(s.name, []);
    down.set(s.name, []);
  }
  for (const stage of stageList) {
    const ups = new Set<StageName>();
    for (const dep of stage.deps) {
      const producers = path.isAbsolute(dep.path) ? [] : index.related(dep.path);
      if (producers.length === 0) {
        const abs = path.isAbsolute(dep.path) ? dep.path : path.join(opts.root, dep.path);
        if (!exists(abs)) missing.push({ path: dep.path, stage: stage.name, ...(dep.loc ? { loc: dep.loc } : {}) });
      }
      for (const p of producers) ups.add(p.stage.name);
    }
    for (const u of ups) {
      up.get(stage.name)!.push(u);
      down.get(u)!.push(stage.name);
    }
  }

  diagnostics.push(...findCycles(stageList, up));
  if (diagnostics.length > 0) return err(diagnostics);

  const order = stageList.map((s) => s.name);
  return ok({
    stages,
    order,
    upstream: (s) => up.get(s) ?? [],
    downstream: (s) => down.get(s) ?? [],
    producersOf: (p) => [...new Set(index.related(p).map((o) => o.stage.name))],
    missing,
  });
}

/** Tarjan's SCC: every strongly connected component of size > 1 (or a self-loop) is a cycle. */
function findCycles(stageList: readonly Stage[], up: ReadonlyMap<StageName, StageName[]>): Diagnostic[] {
  const indexOf = new Map<StageName, number>();
  const low = new Map<StageName, number>();
  const onStack = new Set<StageName>();
  const stack: StageName[] = [];
  const cycles: StageName[][] = [];
  let counter = 0;

  // Iterative to survive 10k-stage chains without blowing the JS stack.
  for (const root of stageList) {
    if (indexOf.has(root.name)) continue;
    const work: { node: StageName; next: number }[] = [{ node: root.name, next: 0 }];
    indexOf.set(root.name, counter);
    low.set(root.name, counter++);
    stack.push(root.name);
    onStack.add(root.name);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = up.get(frame.node) ?? [];
      if (frame.next < edges.length) {
        const w = edges[frame.next++]!;
        if (!indexOf.has(w)) {
          indexOf.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, next: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, indexOf.get(w)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === indexOf.get(frame.node)) {
        const comp: StageName[] = [];
        let w: StageName;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== frame.node);
        const selfLoop = comp.length === 1 && (up.get(comp[0]!) ?? []).includes(comp[0]!);
        if (comp.length > 1 || selfLoop) cycles.push(comp);
      }
    }
  }

  const byName = new Map(stageList.map((s) => [s.name, s]));
  const fileOrder = new Map(stageList.map((s, i) => [s.name, i]));
  return cycles.map((comp) => {
    const start = [...comp].sort((a, b) => fileOrder.get(a)! - fileOrder.get(b)!)[0]!;
    const names = cyclePath(start, new Set(comp), up);
    const first = byName.get(start)!;
    return {
      severity: 'error' as const,
      code: 'cycle',
      message:
        names.length === 1
          ? `stage '${names[0]}' depends on its own out`
          : `dependency cycle: ${names.map((n) => `'${n}'`).join(' depends on ')} depends on '${names[0]}'`,
      ...(first.loc ? { location: first.loc } : {}),
      hint: 'a stage cannot (even indirectly) depend on its own outs; remove one of the deps in the cycle',
    };
  });
}

/** Shortest path start -> ... -> start along "depends on" edges inside one component (BFS). */
function cyclePath(start: StageName, comp: ReadonlySet<StageName>, up: ReadonlyMap<StageName, StageName[]>): StageName[] {
  const prev = new Map<StageName, StageName>();
  const queue: StageName[] = [start];
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i]!;
    for (const u of up.get(n) ?? []) {
      if (!comp.has(u)) continue;
      if (u === start) {
        const pathBack: StageName[] = [n];
        for (let c = n; c !== start; ) {
          c = prev.get(c)!;
          pathBack.push(c);
        }
        return pathBack.reverse();
      }
      if (!prev.has(u)) {
        prev.set(u, n);
        queue.push(u);
      }
    }
  }
  return [start];
}

export { isInside };
