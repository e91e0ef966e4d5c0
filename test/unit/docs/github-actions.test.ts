/** docs/github-actions.yml is copied by users as is: it must parse, and every script in it must. */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

const FILE = path.resolve(import.meta.dirname, '../../../docs/github-actions.yml');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  if?: string;
  permissions?: Record<string, string>;
  steps: Step[];
}

function workflow(): { on: Record<string, unknown>; jobs: Record<string, Job> } {
  const doc = parseDocument(fs.readFileSync(FILE, 'utf8'), { strict: true, uniqueKeys: true });
  expect(doc.errors.map((e) => e.message)).toEqual([]);
  return doc.toJS() as { on: Record<string, unknown>; jobs: Record<string, Job> };
}

const runs = (job: Job): string => job.steps.map((s) => s.run ?? '').join('\n');
const uses = (job: Job): string[] => job.steps.flatMap((s) => (s.uses ? [s.uses.split('@')[0]!] : []));

describe('docs/github-actions.yml', () => {
  it('runs on push, pull requests, a schedule and by hand', () => {
    const w = workflow();
    expect(Object.keys(w.on).sort()).toEqual(['pull_request', 'push', 'schedule', 'workflow_dispatch']);
    expect((w.on.schedule as { cron: string }[])[0]!.cron).toMatch(/^(\S+ ){4}\S+$/);
  });

  it('checks the lockfile on push/PR, verifies on the schedule, and comments the metrics diff on PRs', () => {
    const { jobs } = workflow();
    expect(Object.keys(jobs).sort()).toEqual(['metrics', 'status', 'verify']);
    expect(runs(jobs.status!)).toContain('mlbuild status --check --allow-missing');
    expect(jobs.status!.if).toContain('push');
    expect(runs(jobs.verify!)).toContain('mlbuild verify');
    expect(jobs.verify!.if).toContain('schedule');
    expect(runs(jobs.metrics!)).toMatch(/mlbuild metrics diff \S+ --md/);
    expect(jobs.metrics!.if).toBe("github.event_name == 'pull_request'");
    expect(uses(jobs.metrics!)).toContain('actions/github-script');
    expect(jobs.metrics!.permissions).toMatchObject({ 'pull-requests': 'write' });
    // status needs no cache (--allow-missing); the others share the key the verify job saves under.
    expect(uses(jobs.status!).some((u) => u.startsWith('actions/cache'))).toBe(false);
    const cached = [jobs.verify!, jobs.metrics!];
    for (const job of cached) expect(uses(job).some((u) => u.startsWith('actions/cache'))).toBe(true);
    const keys = cached.map((j) => j.steps.find((s) => s.uses?.startsWith('actions/cache'))!.with!.key);
    expect(new Set(keys).size).toBe(1);
  });

  it('holds shell scripts bash can parse', () => {
    for (const [name, job] of Object.entries(workflow().jobs)) {
      for (const step of job.steps) {
        if (!step.run) continue;
        const r = spawnSync('bash', ['-n'], { input: step.run, encoding: 'utf8' });
        expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      }
    }
  });
});
