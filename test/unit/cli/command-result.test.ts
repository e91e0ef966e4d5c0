/** The one place that turns a command's diagnostics into an exit code. */
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../../src/cli/context.js';
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
  it('warnings do not decide it', () => {
    expect(exitCodeFor([d('remote-unavailable', 'warning'), d('usage')])).toBe(2);
  });
});
