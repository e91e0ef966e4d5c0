import { describe, expect, it } from 'vitest';
import { parseFast, splitGlobalFile } from '../../../src/cli/fast-args.js';

describe('parseFast', () => {
  it('parses repro flags as yargs would', () => {
    expect(parseFast(['repro', 'train', '-f', '-k', '-j', '4', '--gpus', '0,1', '--gpu-slots', '2', '-S', 'a=1', '-S', 'model=cnn', '--no-run-cache', '--json'])).toEqual({
      command: 'repro',
      args: {
        targets: ['train'],
        force: true,
        singleItem: false,
        downstream: false,
        dry: false,
        keepGoing: true,
        explain: false,
        jobs: 4,
        gpus: '0,1',
        gpuSlots: 2,
        runCache: false,
        executor: undefined,
        json: true,
        overrides: ['a=1', 'model=cnn'],
      },
    });
    expect(parseFast(['status', '--check', 'a', 'b'])).toEqual({ command: 'status', args: { targets: ['a', 'b'], json: false, check: true, allowMissing: false } });
    expect(parseFast(['status', '--allow-missing'])).toEqual({ command: 'status', args: { targets: [], json: false, check: false, allowMissing: true } });
  });

  it('leaves help, unknown flags, bad numbers and other commands to yargs', () => {
    expect(parseFast(['repro', '--help'])).toBeUndefined();
    expect(parseFast(['repro', '--frobnicate'])).toBeUndefined();
    expect(parseFast(['repro', '-j', 'many'])).toBeUndefined();
    expect(parseFast(['repro', '--executor', 'k8s'])).toBeUndefined();
    expect(parseFast(['repro', '--executor', 'slurm'])).toMatchObject({ command: 'repro', args: { executor: 'slurm' } });
    expect(parseFast(['dag'])).toBeUndefined();
    expect(parseFast([])).toBeUndefined();
  });
});

describe('splitGlobalFile', () => {
  it('takes -f before the command as the pipeline file, and leaves repro -f as force', () => {
    expect(splitGlobalFile(['-f', 'dvc.yaml', 'repro', '-f', 'train'])).toEqual({ file: 'dvc.yaml', rest: ['repro', '-f', 'train'] });
    expect(splitGlobalFile(['status', '--file', 'x.yaml'])).toEqual({ file: 'x.yaml', rest: ['status'] });
    expect(splitGlobalFile(['--file=y.yaml', 'dag'])).toEqual({ file: 'y.yaml', rest: ['dag'] });
  });
});
