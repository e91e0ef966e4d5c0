/**
 * Issue 13: the torture script's quick mode (random SIGKILL / SIGINT over a generated pipeline,
 * then recovery checks: lock parses, every object matches its hash, outs equal a clean build,
 * nothing outside outs touched, no temp files left). The long mode is `node scripts/torture.mjs`.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, cliBuilt } from './rig.js';

describe('torture (quick)', () => {
  it('every stop recovers: valid lock, verified cache, correct outs, no leftovers', () => {
    cliBuilt();
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'torture.mjs'), '--quick', '--seed', '3'], { encoding: 'utf8', timeout: 170_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const counts = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; kills: number; ints: number; recoveries: number; objectsVerified: number };
    expect(counts.ok).toBe(true);
    expect(counts.kills + counts.ints).toBe(12);
    expect(counts.recoveries).toBe(12);
    expect(counts.objectsVerified).toBeGreaterThan(0);
  }, 180_000);
});
