/** The one place that turns a command's diagnostics into an exit code. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeFor, finishCommand, runCommand, runTerminalCommand } from '../../../src/cli/context.js';
import type { Terminal } from '../../../src/report/terminal.js';
import { err, ok } from '../../../src/util/result.js';
import type { Diagnostic, DiagnosticCode } from '../../../src/report/diagnostic.js';

const d = (code: DiagnosticCode, severity: Diagnostic['severity'] = 'error'): Diagnostic => ({ severity, code, message: code });

describe('exitCodeFor', () => {
  it('bad input (a file, a flag) is 2', () => {
    expect(exitCodeFor([d('yaml-syntax')])).toBe(2);
    expect(exitCodeFor([d('unknown-remote'), d('usage')])).toBe(2);
    expect(exitCodeFor([d('yaml-alias-limit')])).toBe(2);
  });
  it('a failure met while working (remote down, corrupt object) is 1, even beside input errors', () => {
    expect(exitCodeFor([d('remote-unavailable')])).toBe(1);
    expect(exitCodeFor([d('usage'), d('corrupt-object')])).toBe(1);
  });
  it('verify outside git history is usage (2); a refused registry change, an unloadable model, uncommitted work in the way are failures (1)', () => {
    expect(exitCodeFor([d('verify-git')])).toBe(2);
    expect(exitCodeFor([d('registry')])).toBe(2);
    for (const c of ['registry-refused', 'model-load', 'uncommitted-changes', 'no-plot-data', 'not-built'] as const) expect(exitCodeFor([d(c)])).toBe(1);
  });
  it('warnings do not decide it', () => {
    expect(exitCodeFor([d('remote-unavailable', 'warning'), d('usage')])).toBe(2);
  });
});

/** A terminal that keeps what is written, so the test sees exactly what reaches stderr. */
const recording = (): Terminal & { outText: string; errText: string } => {
  const t = { outText: '', errText: '', isTTY: false, columns: 80, out: (s: string) => void (t.outText += s), err: (s: string) => void (t.errText += s) };
  return t;
};

describe('finishCommand / runTerminalCommand / runCommand', () => {
  it('a body that succeeded gives its own exit code (a check that found something: 1) and prints nothing', async () => {
    const term = recording();
    expect(finishCommand(term, ok(1))).toBe(1);
    expect(await runTerminalCommand(() => Promise.resolve(ok(0)), term)).toBe(0);
    expect(term.errText).toBe('');
  });

  it('prints the diagnostics of a failed body, located and with their hint, and exits by their codes', async () => {
    const term = recording();
    const usage: Diagnostic = { severity: 'error', code: 'usage', message: '--jobs must be a whole number >= 1 (got 0)', hint: 'e.g. -j 4' };
    expect(await runTerminalCommand(() => Promise.resolve(err([usage])), term)).toBe(2);
    expect(term.errText).toBe('error: --jobs must be a whole number >= 1 (got 0)\n  hint: e.g. -j 4\n');
    const located: Diagnostic = { ...usage, code: 'corrupt-object', message: 'bad object', location: { file: 'a.yaml', line: 2, col: 3, length: 1, sourceLine: 'x: yz' } };
    term.errText = '';
    expect(finishCommand(term, err([usage, located]))).toBe(1);
    expect(term.errText).toContain('a.yaml:2:3: error: bad object\n  2 | x: yz\n    |   ^\n');
    expect(term.errText).toContain('\n2 errors\n');
    expect(term.outText).toBe('');
  });

  it('runCommand without a pipeline file exits 2 naming it, and never runs the body', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-cmd-'));
    try {
      let ran = false;
      const term = recording();
      const code = await runCommand(
        { file: undefined, cwd: dir },
        () => {
          ran = true;
          return Promise.resolve(ok(0));
        },
        term,
      );
      expect(code).toBe(2);
      expect(ran).toBe(false);
      expect(term.errText).toMatch(/^error: no pipeline\.yaml or dvc\.yaml in .* or its parent folders\n {2}hint: create pipeline\.yaml/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
