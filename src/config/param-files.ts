/**
 * Params files other than the project's own params (`params.yaml`, `params/`): the custom files a
 * stage names with DVC's `params: [{custom.yaml: [a.b]}]` or `{custom.yaml: null}` (the whole
 * file), and the files listed under the top-level `params:`. DVC reads YAML 1.2, JSON and TOML 1.0
 * params files, and Python files; mlbuild reads them by extension (`.yaml`/`.yml`, `.json`,
 * `.toml`, `.py`). A Python file is read as DVC reads it (dvc/utils/serialize/_py.py): with
 * Python's own `ast` (`python3` on PATH), never executed: module-level assignments of literals,
 * class attributes as a nested map under the class name, and `self.x = literal` in `__init__`;
 * any other statement or expression is skipped.
 *
 * A value from such a file is tracked under the key `<file>:<path>` (`custom.yaml:a.b`) in the
 * lockfile, in status reasons and in `params diff`, so it never collides with a key of the project
 * params. Pure parsing is `parseParamsText`; `ParamFiles` reads and memoises files for one load,
 * with `-S custom.yaml:a.b=value` applied; `writeFileOverrides` writes those back (YAML keeps its
 * comments and layout; JSON and TOML are re-serialised; Python files are never written).
 */
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import type { Diagnostic } from '../report/diagnostic.js';
import type { FileOverride } from './params.js';
import { applyEdits, writeAtomic } from './params-write.js';
import { type Result, err, ok } from '../util/result.js';
import { parseLenientJson } from '../metrics/lenient-json.js';
import { isPlainObject, setIn, type Tree } from './tree.js';

export const PARAM_FILE_EXTENSIONS = ['.yaml', '.yml', '.json', '.toml', '.py'] as const;

/** Reads a Python params file's text into a tree, or says why it cannot (injected for tests). */
export type PythonParamsReader = (text: string, file: string) => Result<unknown, string>;

// DVC's rules for Python params (dvc/utils/serialize/_py.py), printed as JSON; sets and tuples become lists.
const PY_READER = `
import ast, json, sys
def name(t, self_only):
    if hasattr(t, "id") and not self_only: return t.id
    if hasattr(t, "attr") and getattr(t.value, "id", None) == "self": return t.attr
    raise AttributeError
def assign(a, self_only):
    if isinstance(a, ast.AnnAssign): n = name(a.target, self_only)
    elif len(a.targets) == 1: n = name(a.targets[0], self_only)
    else: raise AttributeError
    v = a.value
    if isinstance(v, ast.Dict): return n, {ast.literal_eval(k): ast.literal_eval(x) for k, x in zip(v.keys, v.values)}
    if isinstance(v, (ast.List, ast.Set, ast.Tuple)): return n, [ast.literal_eval(x) for x in v.elts]
    return n, ast.literal_eval(v)
def tree(node, self_only=False):
    out = {}
    for b in node.body:
        try:
            if isinstance(b, (ast.Assign, ast.AnnAssign)):
                k, v = assign(b, self_only); out[k] = v
            elif isinstance(b, ast.ClassDef): out[b.name] = tree(b)
            elif isinstance(b, ast.FunctionDef) and b.name == "__init__": out.update(tree(b, True))
        except (ValueError, AttributeError, TypeError, SyntaxError):
            continue
    return out
try:
    doc = tree(ast.parse(sys.stdin.read(), filename=sys.argv[1]))
except SyntaxError as e:
    print(f"line {e.lineno}: {e.msg}", file=sys.stderr); sys.exit(3)
print(json.dumps(doc, default=lambda o: list(o) if isinstance(o, (set, frozenset, bytes)) else str(o)))
`;

/** Runs `python3` on PY_READER: Python's parser, never the file's code. */
export const readPythonParams: PythonParamsReader = (text, file) => {
  const r = spawnSync('python3', ['-c', PY_READER, file], { input: text, encoding: 'utf8', timeout: 30_000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    return err(code === 'ENOENT' ? 'reading a Python params file needs python3 on PATH' : `python3 failed: ${r.error.message}`);
  }
  if (r.status !== 0) return err(r.status === 3 ? `cannot parse: ${r.stderr.trim()}` : `python3 failed: ${r.stderr.trim().split('\n').pop() ?? ''}`);
  try {
    return { ok: true, value: parseLenientJson(r.stdout) };
  } catch (e) {
    return err(`cannot read python3's output: ${String(e)}`);
  }
};

export { FILE_KEY_SEP, fileParamKey, isProjectParamsFile, paramDepValue } from './param-keys.js';

/** TOML tables come back without a prototype and dates as objects: make plain JSON-like data. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === 'object') {
    if (typeof (v as { toISOString?: unknown }).toISOString === 'function') return (v as { toISOString: () => string }).toISOString();
    const out: Tree = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}

/** Parses a params file's text by its extension; the error is one line for the user. */
export function parseParamsText(text: string, file: string, python: PythonParamsReader = readPythonParams): Result<Tree, string> {
  const ext = path.extname(file).toLowerCase();
  let doc: unknown;
  try {
    if (ext === '.yaml' || ext === '.yml') doc = parseYaml(text) as unknown;
    else if (ext === '.json') doc = JSON.parse(text) as unknown;
    else if (ext === '.toml') doc = parseToml(text);
    else if (ext === '.py') {
      const r = python(text, file);
      if (!r.ok) return r;
      doc = r.value;
    }
    else return err(`params files must end in ${PARAM_FILE_EXTENSIONS.join(', ')}`);
  } catch (e) {
    return err(`cannot parse: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return ok({});
  const tree = plain(doc);
  return isPlainObject(tree) ? ok(tree) : err('must hold a map of parameters at the top level');
}

/** Reads custom params files once each during one load; project-relative POSIX paths. */
export class ParamFiles {
  private readonly read = new Map<string, Result<Tree, string>>();

  constructor(
    private readonly root: string,
    /** `-S file:key=value` overrides, applied to the file's tree as it is read. */
    private readonly overrides: readonly FileOverride[] = [],
    private readonly python: PythonParamsReader = readPythonParams,
  ) {}

  get(file: string): Result<Tree, string> {
    let r = this.read.get(file);
    if (!r) {
      r = this.load(file);
      this.read.set(file, r);
    }
    return r;
  }

  private load(file: string): Result<Tree, string> {
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.root, ...file.split('/')), 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return err(code === 'ENOENT' ? 'not found' : `cannot read: ${code ?? String(e)}`);
    }
    const r = parseParamsText(text, file, this.python);
    if (!r.ok) return r;
    let tree = r.value;
    for (const o of this.overrides) if (o.file === file) tree = setIn(tree, o.segs, o.value);
    return ok(tree);
  }

  /** The trees of the files that were read successfully, by path. */
  trees(): Record<string, Tree> {
    const out: Record<string, Tree> = {};
    for (const [f, r] of [...this.read].sort((a, b) => (a[0] < b[0] ? -1 : 1))) if (r.ok) out[f] = r.value;
    return out;
  }

  /** Absolute paths of every file looked at (for the resolved-pipeline cache). */
  files(): string[] {
    return [...this.read.keys()].map((f) => path.join(this.root, ...f.split('/')));
  }
}

/** A file's text with `-S file:key=value` overrides set, by format; the error is for the user. */
function withOverrides(text: string, file: string, list: readonly FileOverride[]): Result<string, string> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return ok(applyEdits(text, list.map((o) => ({ kind: 'set' as const, segs: o.segs, value: o.value }))));
  const parsed = parseParamsText(text, file);
  if (!parsed.ok) return parsed;
  let tree = parsed.value;
  for (const o of list) tree = setIn(tree, o.segs, o.value);
  if (ext === '.json') {
    const indent = /^[{[]\s*\n([ \t]+)/.exec(text)?.[1] ?? '  ';
    return ok(JSON.stringify(tree, null, indent) + (text.endsWith('\n') ? '\n' : ''));
  }
  if (ext === '.toml') return ok(stringifyToml(tree) + '\n');
  return err(`-S cannot write ${ext} params files; edit ${file} by hand`);
}

/** Writes `-S file:key=value` overrides into their files (atomically); a diagnostic when one cannot be. */
export async function writeFileOverrides(root: string, overrides: readonly FileOverride[], displayCwd: string): Promise<Diagnostic | undefined> {
  const files = [...new Set(overrides.map((o) => o.file))];
  for (const file of files) {
    const abs = path.join(root, ...file.split('/'));
    const shown = path.relative(displayCwd, abs) || file;
    let text: string;
    try {
      text = fs.readFileSync(abs, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return { severity: 'error', code: 'bad-override', message: `-S ${overrides.find((o) => o.file === file)!.raw}: ${shown} ${code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? String(e)})`}`, hint: `create ${shown}, or fix the file name before ':'` };
    }
    const next = withOverrides(text, file, overrides.filter((o) => o.file === file));
    if (!next.ok) return { severity: 'error', code: 'bad-override', message: `-S into ${shown}: ${next.error}`, hint: `fix ${shown}` };
    if (next.value === text) continue;
    try {
      await writeAtomic(abs, next.value);
    } catch (e) {
      return { severity: 'error', code: 'write-failed', message: `cannot write the -S overrides into ${shown}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, hint: 'check the file permissions' };
    }
  }
  return undefined;
}
