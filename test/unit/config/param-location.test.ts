/** locateParam: the file and line whose value of a dotted key wins, in params.ts's precedence. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { locateParam } from '../../../src/config/param-location.js';

let root: string;
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function write(files: Record<string, string>): void {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-paramloc-'));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
}

describe('locateParam', () => {
  it('prefers base.yaml over an option file over params.yaml, and points at the value', () => {
    write({ 'params.yaml': 'train:\n  lr: 1\n', 'params/base.yaml': 'defaults: [{train: fast}]\n', 'params/train/fast.yaml': 'lr: 2\n' });
    const files = ['params.yaml', 'params/base.yaml', 'params/train/fast.yaml'];
    expect(locateParam(root, root, files, ['train', 'lr'])).toMatchObject({ file: 'params/train/fast.yaml', line: 1, col: 5, sourceLine: 'lr: 2' });
    fs.writeFileSync(path.join(root, 'params/base.yaml'), 'defaults: [{train: fast}]\ntrain:\n  lr: 3\n');
    expect(locateParam(root, root, files, ['train', 'lr'])).toMatchObject({ file: 'params/base.yaml', line: 3, col: 7 });
    expect(locateParam(root, root, ['params.yaml'], ['train', 'lr'])).toMatchObject({ file: 'params.yaml', line: 2 });
  });

  it('finds a key under a list of options (group.option.key), a map by its first line, and nothing for a key no file sets', () => {
    write({ 'params/base.yaml': 'defaults: [{model: [a, b]}]\n', 'params/model/b.yaml': 'depth:\n  max: 3\n' });
    const files = ['params/base.yaml', 'params/model/b.yaml'];
    expect(locateParam(root, root, files, ['model', 'b', 'depth', 'max'])).toMatchObject({ file: 'params/model/b.yaml', line: 2 });
    expect(locateParam(root, root, files, ['model', 'b', 'depth'])).toMatchObject({ line: 2, length: 1 });
    expect(locateParam(root, root, files, ['model', 'a', 'depth'])).toBeUndefined();
  });
});
