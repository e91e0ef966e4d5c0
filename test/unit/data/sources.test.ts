/** Finding the pointer that tracks a path: beside it, beside a folder above it, or anywhere (`dvc add --file`). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataSources } from '../../../src/data/sources.js';

const ptr = (p: string): string => `outs:\n- md5: 1cb251ec0d568de6a929b520c4aed8d1\n  size: 4\n  hash: md5\n  path: ${p}\n`;

describe('DataSources', () => {
  it('finds pointers by name, by a folder above, and anywhere else; lists them all outside git too', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sources-'));
    fs.mkdirSync(path.join(root, 'data', 'deep'), { recursive: true });
    fs.mkdirSync(path.join(root, '.mlcache'));
    fs.writeFileSync(path.join(root, 'data', 'x.csv.dvc'), ptr('x.csv'));
    fs.writeFileSync(path.join(root, 'data', 'raw.dvc'), ptr('raw'));
    fs.writeFileSync(path.join(root, 'custom.dvc'), ptr('data/deep/y.bin'));
    fs.writeFileSync(path.join(root, '.mlcache', 'stray.dvc'), ptr('nope'));
    const s = new DataSources(root, root);
    expect((await s.pointerFor('data/x.csv'))?.file).toBe('data/x.csv.dvc');
    expect((await s.pointerFor('data/raw/a/b.txt'))?.file).toBe('data/raw.dvc');
    expect((await s.pointerFor('data/deep/y.bin'))?.file).toBe('custom.dvc');
    expect(await s.pointerFor('data/other')).toBeUndefined();
    expect((await s.all()).map((p) => p.file)).toEqual(['custom.dvc', 'data/raw.dvc', 'data/x.csv.dvc']);
    expect(s.diags).toEqual([]);
    fs.rmSync(root, { recursive: true });
  });
});
