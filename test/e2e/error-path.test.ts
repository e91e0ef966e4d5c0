/**
 * Contract section 6 through the one error path (cli/context.ts runCommand): each command that
 * stops on bad input prints located diagnostics with the fix on stderr and exits by their codes,
 * and writes nothing. One case per command whose refusal had no test of its full message.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useProjects } from './rig.js';

const projects = useProjects();

const METRICS_PIPE = 'stages:\n  m:\n    cmd: echo\n    metrics: [good.json, bad.json]\n';
const BAD_JSON = '{\n  "acc": 0.9,\n  "loss": \n}\n';

describe('metrics with a malformed metrics file', () => {
  it('names file:line:col with the fix as a warning, shows the other files and exits 0 (as DVC)', async () => {
    const p = projects.make({ 'pipeline.yaml': METRICS_PIPE, 'good.json': '{"acc": 0.9}\n', 'bad.json': BAD_JSON });
    const r = await p.run(['metrics', 'show']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/good\.json\s+acc\s+0\.9/);
    expect(r.stdout).not.toContain('bad.json');
    expect(r.stderr).toBe(
      "bad.json:4:1: warning: cannot parse bad.json at workspace: Unexpected token '}'\n" +
        '  4 | }\n' +
        '    | ^\n' +
        '  hint: fix bad.json (a metrics file is JSON, YAML or TOML: a map of numbers, nested maps or lists); it is left out until then\n',
    );
  });

  it('a file committed broken is named at its revision, with a fix for a later commit; YAML is located too', async () => {
    const p = projects.make({ 'pipeline.yaml': METRICS_PIPE.replace('bad.json', 'bad.yaml'), 'good.json': '{"acc": 0.9}\n', 'bad.yaml': 'a: [1\nb: 2\n' });
    p.commitAll('broken metrics');
    p.write({ 'bad.yaml': 'a: 1\n' });
    const r = await p.run(['metrics', 'diff']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('bad.yaml:2:1: warning: cannot parse bad.yaml at HEAD: Flow sequence in block collection must be sufficiently indented and end with a ]\n  2 | b: 2\n');
    expect(r.stderr).toContain('  hint: the file as committed at HEAD is not valid: fix it in a later commit');
  });
});

describe('model and serve with an unknown model', () => {
  it('model show: exit 2 naming the known models and the command that lists them', async () => {
    const p = projects.make({ 'README.md': 'x\n' });
    p.commitAll('x');
    const r = await p.run(['model', 'show', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: no model 'nope' in the registry (known: none)\n  hint: see `mlbuild model list`\n");
    expect(r.stdout).toBe('');
  });

  it('serve: exit 2 before listening, with both ways to name a model', async () => {
    const p = projects.make({ 'README.md': 'x\n' });
    p.commitAll('x');
    const r = await p.run(['serve', 'nope', '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "error: no model 'nope' in the registry (known: none)\n  hint: see `mlbuild model list`; or serve a model directory written by the select stage, or a registered version (mlbuild model list)\n",
    );
    expect(r.stdout).not.toContain('serving');
  });
});

describe('add and push with a bad path', () => {
  it('add: every bad path is named with its fix (exit 2) and nothing is tracked', async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages: {}\n', 'data/ok.txt': 'fine\n' });
    const r = await p.run(['add', 'data/ok.txt', 'nothing.txt', '../elsewhere']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: 'nothing.txt' does not exist\n  hint: put the data there first, or fix the path\n");
    expect(r.stderr).toMatch(/error: '\.\.\/elsewhere' lies outside the project \(.+\)\n {2}hint: add data inside the project folder\n/);
    expect(r.stderr).toContain('\n2 errors\n');
    // Nothing is added when one path is wrong.
    expect(p.exists('data/ok.txt.dvc')).toBe(false);
    expect(r.stdout).toBe('');
  });

  it('push: a target that names no stage or tracked data is refused (exit 2, did you mean) and nothing is uploaded', async () => {
    const remote = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-errpath-remote-'));
    try {
      const p = projects.make({ 'pipeline.yaml': 'stages:\n  train:\n    cmd: echo model > model.txt\n    outs: [model.txt]\n' });
      expect((await p.repro()).code).toBe(0);
      expect((await p.run(['remote', 'add', '-d', 'store', remote])).code).toBe(0);
      const r = await p.run(['push', 'trian']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        "error: 'trian' names no stage, stage group or data tracked by a .dvc file\n  hint: did you mean 'train'? name a stage (`mlbuild dag` lists them), a .dvc file or the data it tracks\n",
      );
      expect(fs.readdirSync(remote)).toEqual([]);
      const json = await p.run(['push', 'trian', '--json']);
      expect(json.code).toBe(2);
      expect(JSON.parse(json.stdout)).toMatchObject({ version: 1, command: 'push', ok: false, diagnostics: [{ code: 'unknown-target' }] });
      expect((await p.run(['push', 'train'])).code).toBe(0);
      expect(fs.readdirSync(remote)).not.toEqual([]);
    } finally {
      fs.rmSync(remote, { recursive: true, force: true });
    }
  });
});

describe('remote, ui and merge-driver refusals', () => {
  it('remote default with an unknown name: exit 2 and how to add it; the config is not created', async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages: {}\n' });
    const r = await p.run(['remote', 'default', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: no remote named 'nope' in .mlbuild/config.yaml (not created yet)\n  hint: add it with 'mlbuild remote add nope URL'\n");
    expect(p.exists('.mlbuild/config.yaml')).toBe(false);
  });

  it('ui with a port out of range: exit 2 with an example', async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages: {}\n' });
    const r = await p.run(['ui', '--port', '70000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: --port must be a whole number from 0 to 65535 (got 70000)\n  hint: e.g. --port 8080, or --port 0 for any free port\n');
  });

  it('merge-driver with unreadable sides names each (exit 2) and how git calls it', async () => {
    const p = projects.make({});
    const r = await p.run(['merge-driver', 'gone-base', 'gone-ours', 'gone-theirs', 'mlbuild.lock']);
    expect(r.code).toBe(2);
    for (const side of ['gone-base', 'gone-ours', 'gone-theirs']) expect(r.stderr).toContain(`error: cannot read '${side}': ENOENT`);
    expect(r.stderr).toContain('  hint: git runs the driver as `mlbuild merge-driver %O %A %B %P`: pass the three files git names\n');
    expect(r.stderr).toContain('\n3 errors\n');
  });
});

describe('monitor with a bad setting in a params file', () => {
  it('locates the value (file:line:col) in the file that sets it; the same value given with -S points at the override', async () => {
    const p = projects.make({
      'pipeline.yaml': 'stages: {}\n',
      'params/base.yaml': 'defaults:\n  - monitor: strict\nseed: 1\n',
      'params/monitor/strict.yaml': 'score:\n  psi: -1\n',
    });
    const r = await p.run(['monitor', '--reference', 'ref.tsv', '--current', 'cur.tsv']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'params/monitor/strict.yaml:2:8: error: params monitor.score.psi: must be a number >= 0 and <= 100, got -1\n' +
        '  2 |   psi: -1\n' +
        '    |        ^^\n' +
        '  hint: fix it there; docs/lifecycle.md lists the monitor: settings\n',
    );
    const cli = await p.run(['monitor', '--reference', 'ref.tsv', '--current', 'cur.tsv', '-S', 'monitor.score.psi=-2']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toBe('error: params monitor.score.psi: must be a number >= 0 and <= 100, got -2\n  hint: fix the -S override; docs/lifecycle.md lists the monitor: settings\n');
  });
});
