/**
 * How a verify report reads: plain lines for people and CI logs, and the stable `--json` document
 * (`version: 1`, documented in docs/ci.md). Pure: report in, text out.
 */
import { formatReason } from '../run/reason.js';
import type { OutDifference, Verdict } from './compare.js';
import type { PlacedInput } from './inputs.js';
import type { VerifyReport } from './verify.js';

const short = (sha: string): string => sha.slice(0, 7);

function inputLine(i: PlacedInput): string | undefined {
  if (i.source === 'git') return undefined;
  const how = i.source === 'cache' ? 'restored from the cache by its locked hash' : i.locked ? 'copied from the workspace (its hash matches the lockfile)' : 'copied from the workspace (no lock entry records it)';
  return `  input ${i.path}: not in git, ${how}`;
}

function outLines(o: OutDifference): string[] {
  const f = o.first;
  if (!f) return [`    ${o.path}: locked ${o.locked}, rebuilt ${o.rebuilt}${o.note ? ` (${o.note})` : ''}`];
  const detail =
    f.kind === 'changed'
      ? `locked ${f.locked}, rebuilt ${f.rebuilt}`
      : f.kind === 'missing'
        ? `in the lock (${f.locked}), not made by the rebuild`
        : `made by the rebuild (${f.rebuilt}), not in the lock`;
  const where = f.path === o.path ? `${o.path}: ${detail}` : `${o.path}: first difference ${f.path}: ${detail} (directory: locked ${o.locked}, rebuilt ${o.rebuilt})`;
  return [`    ${where}`];
}

function verdictLines(name: string, v: Verdict): string[] {
  switch (v.kind) {
    case 'reproduced':
      return [`${name}: reproduced`];
    case 'frozen':
      return [`${name}: frozen, not rebuilt`];
    case 'differs':
      return [`${name}: NOT REPRODUCED`, ...v.outs.flatMap(outLines)];
    case 'stale':
      return [`${name}: stale: ${v.reasons.map(formatReason).join('; ')}`];
    case 'upstream-differs':
      return [`${name}: not checked: its inputs come from ${v.stages.join(', ')}, which did not reproduce`];
    case 'failed':
      return [`${name}: ${v.message}`];
  }
}

export function renderVerifyText(r: VerifyReport): { out: string; err: string } {
  const out: string[] = [];
  const err: string[] = [];
  out.push(`Verified HEAD ${short(r.head)}: rebuilt from scratch in a clean worktree, run-cache off`);
  if (r.uncommitted.length > 0) {
    err.push(`note: ${r.uncommitted.length} tracked file${r.uncommitted.length === 1 ? ' has' : 's have'} uncommitted changes (${r.uncommitted.slice(0, 3).join(', ')}${r.uncommitted.length > 3 ? ', ...' : ''}); verify checks HEAD only`);
  }
  if (!r.lockCommitted) err.push('note: HEAD has no mlbuild.lock: run `mlbuild repro` and commit mlbuild.lock');
  for (const i of r.inputs) {
    const l = inputLine(i);
    if (l) out.push(l);
  }
  for (const s of r.stages) out.push(...verdictLines(s.stage, s.verdict));
  const by = (k: Verdict['kind']): string[] => r.stages.filter((s) => s.verdict.kind === k).map((s) => s.stage);
  const [differs, stale, upstream, failed] = [by('differs'), by('stale'), by('upstream-differs'), by('failed')];
  if (r.interrupted) out.push('Interrupted: the rebuild did not finish');
  else if (r.ok) {
    const frozen = by('frozen').length;
    const done = r.stages.length - frozen;
    out.push(`OK: ${frozen === 0 ? 'all ' : ''}${done} stage${done === 1 ? '' : 's'} reproduced${frozen > 0 ? `, ${frozen} frozen (not rebuilt)` : ''}`);
  }
  else {
    const parts: string[] = [];
    if (differs.length) parts.push(`did not reproduce: ${differs.join(', ')}`);
    if (stale.length) parts.push(`stale lock entries: ${stale.join(', ')}`);
    if (failed.length) parts.push(`failed to rebuild: ${failed.join(', ')}`);
    if (upstream.length) parts.push(`not checked: ${upstream.join(', ')}`);
    out.push(`FAILED: ${parts.join('; ')}`);
  }
  if (stale.length > 0) {
    err.push(
      "note: a stale stage means HEAD's mlbuild.lock does not describe HEAD, so its outs cannot be checked: verify is only meaningful once " +
        '`mlbuild status --check` passes (run `mlbuild repro` and commit mlbuild.lock)',
    );
  }
  if (failed.length > 0 && !r.worktree) err.push('note: the rebuild\'s stage logs went with its worktree: rerun with --keep to read them');
  if (r.savedToCache.length > 0) err.push(`stored the outs of ${r.savedToCache.length} reproduced stage${r.savedToCache.length === 1 ? '' : 's'} in the cache`);
  if (r.worktree) err.push(`kept the worktree at ${r.worktree} (remove it with \`git worktree remove --force ${r.worktree}\`)`);
  return { out: out.join('\n') + '\n', err: err.length > 0 ? err.join('\n') + '\n' : '' };
}

function verdictJson(v: Verdict): Record<string, unknown> {
  switch (v.kind) {
    case 'reproduced':
    case 'frozen':
      return { verdict: v.kind };
    case 'differs':
      return {
        verdict: v.kind,
        outs: v.outs.map((o) => ({
          path: o.path,
          locked: o.locked,
          rebuilt: o.rebuilt,
          ...(o.first ? { first_difference: o.first } : {}),
          ...(o.note ? { note: o.note } : {}),
        })),
      };
    case 'stale':
      return { verdict: v.kind, reasons: v.reasons.map(formatReason), reason_codes: v.reasons.map((x) => x.kind) };
    case 'upstream-differs':
      return { verdict: v.kind, stages: v.stages };
    case 'failed':
      return { verdict: v.kind, message: v.message };
  }
}

export function verifyJson(r: VerifyReport): unknown {
  return {
    version: 1,
    ok: r.ok,
    interrupted: r.interrupted,
    head: r.head,
    lock_committed: r.lockCommitted,
    uncommitted: r.uncommitted,
    ...(r.worktree ? { worktree: r.worktree } : {}),
    saved_to_cache: r.savedToCache,
    inputs: r.inputs.map((i) => ({ path: i.path, source: i.source, ...(i.locked ? { locked: i.locked } : {}) })),
    stages: r.stages.map((s) => ({ name: s.stage, ...verdictJson(s.verdict) })),
  };
}
