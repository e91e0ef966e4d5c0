/**
 * Issue 12, item 5: adopting `dvc.lock`. DVC's run is simulated by running the stage commands by
 * hand and writing dvc.lock as DVC 3 does (md5 of files, md5 of the sorted JSON listing for
 * directories; one DVC 2 record without `hash: md5`, whose md5 is dos2unix'd, for a CRLF file).
 * A lock that matches reruns nothing and status says "adopted"; a param DVC ran with that has
 * changed since reruns that stage and what follows, and the first stage is still adopted. With
 * `core.write_dvc_lock: true`, repro keeps dvc.lock written beside mlbuild.lock.
 */
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { useProjects, type Project } from './rig.js';

const projects = useProjects();
vi.setConfig({ testTimeout: 60_000 });

const md5 = (b: string): string => crypto.createHash('md5').update(b).digest('hex');
const listing = (files: Record<string, string>): string =>
  '[' + Object.keys(files).sort().map((k) => `{"md5": "${md5(files[k]!)}", "relpath": "${k}"}`).join(', ') + ']';

const IN = 'line one\r\nline two\r\n';
const CMD = {
  split: `node -e "const fs=require('fs');fs.mkdirSync('parts',{recursive:true});const l=fs.readFileSync('in.txt','utf8').split('\\n');fs.writeFileSync('parts/1.txt',l[0]);fs.writeFileSync('parts/2.txt',l[1]);fs.appendFileSync('runs.log','split\\n')"`,
  scale: `node -e "const fs=require('fs');const f=require('yaml').parse(fs.readFileSync('params.yaml','utf8')).scale.factor;fs.writeFileSync('scaled.txt',String(fs.readFileSync('parts/1.txt','utf8').length*f));fs.appendFileSync('runs.log','scale\\n')"`,
  report: `node -e "const fs=require('fs');fs.writeFileSync('report.txt','scaled='+fs.readFileSync('scaled.txt','utf8'));fs.appendFileSync('runs.log','report\\n')"`,
};

function project(): Project {
  const p = projects.make({
    'dvc.yaml': `stages:
  split:
    cmd: ${JSON.stringify(CMD.split)}
    deps: [in.txt]
    outs: [parts]
  scale:
    cmd: ${JSON.stringify(CMD.scale)}
    deps: [parts]
    params: [scale.factor, {custom.yaml: [k]}]
    outs: [scaled.txt]
  report:
    cmd: ${JSON.stringify(CMD.report)}
    deps: [scaled.txt]
    outs: [report.txt]
`,
    'params.yaml': 'scale:\n  factor: 2\n',
    'custom.yaml': 'k: 5\n',
    'in.txt': IN,
    '.gitignore': '/runs.log\n/parts\n/scaled.txt\n/report.txt\n',
  });
  // node -e runs in the project: let it resolve `yaml` from this repository's node_modules.
  p.write({ 'node_modules/.keep': '' });
  spawnSync('ln', ['-s', `${process.cwd()}/node_modules/yaml`, p.path('node_modules/yaml')]);
  return p;
}

/** Runs the stages as DVC would have, and writes the dvc.lock DVC writes. */
function dvcRepro(p: Project, factorInLock = 2): void {
  for (const c of [CMD.split, CMD.scale, CMD.report]) {
    const r = spawnSync('sh', ['-c', c], { cwd: p.dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
  }
  const parts = { '1.txt': p.read('parts/1.txt'), '2.txt': p.read('parts/2.txt') };
  const partsMd5 = md5(listing(parts)) + '.dir';
  const q = (s: string): string => JSON.stringify(s);
  p.write({
    'dvc.lock': `schema: '2.0'
stages:
  split:
    cmd: ${q(CMD.split)}
    deps:
    - path: in.txt
      md5: ${md5(IN.replace(/\r\n/g, '\n'))}
      size: ${IN.length}
    outs:
    - path: parts
      hash: md5
      md5: ${partsMd5}
      size: ${parts['1.txt'].length + parts['2.txt'].length}
      nfiles: 2
  scale:
    cmd: ${q(CMD.scale)}
    deps:
    - path: parts
      hash: md5
      md5: ${partsMd5}
      size: 17
      nfiles: 2
    params:
      params.yaml:
        scale.factor: ${factorInLock}
      custom.yaml:
        k: 5
    outs:
    - path: scaled.txt
      hash: md5
      md5: ${md5(p.read('scaled.txt'))}
      size: 2
  report:
    cmd: ${q(CMD.report)}
    deps:
    - path: scaled.txt
      hash: md5
      md5: ${md5(p.read('scaled.txt'))}
      size: 2
    outs:
    - path: report.txt
      hash: md5
      md5: ${md5(p.read('report.txt'))}
      size: 9
`,
  });
}

describe('adopting dvc.lock', () => {
  it('a lock whose md5s match the workspace reruns nothing, and status says each stage was adopted', async () => {
    const p = project();
    dvcRepro(p);
    let r = await p.run(['status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      ['split', 'scale', 'report'].map((s) => `${s}: adopted from dvc.lock (its deps, params and outs match; \`mlbuild repro\` records it in mlbuild.lock)\n`).join('') + 'Data and pipelines are up to date.\n',
    );
    expect(JSON.parse((await p.run(['status', '--json'])).stdout).stages.map((s: { adopted: boolean }) => s.adopted)).toEqual([true, true, true]);
    const rep = await p.repro();
    expect(rep.outcomes).toEqual({ split: 'fresh', scale: 'fresh', report: 'fresh' });
    expect(rep.doc.stages.map((x) => x.message)).toEqual(['adopted from dvc.lock', 'adopted from dvc.lock', 'adopted from dvc.lock']);
    expect(p.read('runs.log')).toBe('split\nscale\nreport\n');
    // Recorded in mlbuild.lock: the next status has nothing to adopt.
    expect(Object.keys((parse(p.read('mlbuild.lock')) as { stages: object }).stages)).toEqual(['report', 'scale', 'split']);
    r = await p.run(['status']);
    expect(r.stdout).toBe('Data and pipelines are up to date.\n');
  });

  it('a stage whose recorded param differs reruns with what follows; the stage before it is still adopted', async () => {
    const p = project();
    dvcRepro(p);
    p.write({ 'params.yaml': 'scale:\n  factor: 3\n' });
    const s = await p.run(['status']);
    expect(s.stdout).toContain('split: adopted from dvc.lock');
    expect(s.stdout).toContain('scale:\n\tnew');
    const rep = await p.repro();
    expect(rep.outcomes).toEqual({ split: 'fresh', scale: 'succeeded', report: 'succeeded' });
    expect(p.read('runs.log')).toBe('split\nscale\nreport\nscale\nreport\n');
    expect(p.read('report.txt')).toBe(`scaled=${'line one\r'.length * 3}`);
  });

  it('a param from another file that changed since DVC ran is not adopted', async () => {
    const p = project();
    dvcRepro(p);
    p.write({ 'custom.yaml': 'k: 6\n' });
    const rep = await p.repro();
    expect(rep.outcomes).toEqual({ split: 'fresh', scale: 'succeeded', report: 'fresh' });
  });

  it('a stage whose out no longer matches its md5 is not adopted', async () => {
    const p = project();
    dvcRepro(p);
    p.write({ 'report.txt': 'edited by hand' });
    const rep = await p.repro();
    expect(rep.outcomes).toEqual({ split: 'fresh', scale: 'fresh', report: 'succeeded' });
  });

  it('core.write_dvc_lock keeps dvc.lock written beside mlbuild.lock, in the form DVC writes', async () => {
    const p = project();
    p.write({ '.mlbuild/config.yaml': 'core:\n  write_dvc_lock: true\n' });
    expect((await p.repro()).code).toBe(0);
    const lock = parse(p.read('dvc.lock')) as { schema: string; stages: Record<string, { cmd: string; deps?: { path: string; hash: string; md5: string }[]; params?: object; outs: { path: string; md5: string; nfiles?: number }[] }> };
    expect(lock.schema).toBe('2.0');
    expect(Object.keys(lock.stages)).toEqual(['split', 'scale', 'report']);
    expect(lock.stages.split!.deps).toEqual([{ path: 'in.txt', hash: 'md5', md5: md5(IN), size: IN.length }]);
    const parts = { '1.txt': p.read('parts/1.txt'), '2.txt': p.read('parts/2.txt') };
    expect(lock.stages.split!.outs).toEqual([{ path: 'parts', hash: 'md5', md5: md5(listing(parts)) + '.dir', size: parts['1.txt'].length + parts['2.txt'].length, nfiles: 2 }]);
    expect(lock.stages.scale!.params).toEqual({ 'params.yaml': { 'scale.factor': 2 }, 'custom.yaml': { k: 5 } });
    expect(p.read('dvc.lock')).toMatch(/^schema: '2.0'\nstages:\n {2}split:\n {4}cmd: /);
    // And a clone that only has dvc.lock (no mlbuild.lock) adopts it.
    p.remove('mlbuild.lock');
    p.remove('.mlcache');
    const rep = await p.repro();
    expect(rep.outcomes).toEqual({ split: 'fresh', scale: 'fresh', report: 'fresh' });
  });
});
