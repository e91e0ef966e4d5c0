/**
 * TensorFlow.js for the neural models, loaded on demand (logreg/xgboost stages never pay for it):
 * `@tensorflow/tfjs` (its Node bundle also registers the gradients, which tfjs-core alone does not)
 * on one of these backends, chosen by `model.backend`:
 *  - `tensorflow`: `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node` when one is installed
 *    (optional: their install downloads libtensorflow, which fails on hosts that cannot reach it);
 *  - `wasm`: `@tensorflow/tfjs-backend-wasm` (XNNPACK SIMD matMul, single-threaded under Node: its
 *    threaded build needs web workers), about 5x the CPU backend on these models (measured, see
 *    docs/showcase-results.md) and deterministic;
 *  - `cpu`: the pure-JS backend, which runs anywhere Node does.
 * `auto` takes the first of these that loads. A native package is all of TensorFlow.js with its
 * backend registered, so when `auto` or `tensorflow` finds one, that package is the TensorFlow.js
 * used (never a second copy beside it); else the stage's own (bundled) `@tensorflow/tfjs`. Its
 * WASM binaries are read beside the running bundle (the bundle stage copies them there), else
 * from the package. Kernels the text models need are fixed here:
 *  - UnsortedSegmentSum (the gradient of an embedding lookup) is missing on WASM, and on CPU loops
 *    over every segment (every vocabulary entry) with a full mask: O(vocab x tokens x dim). Both
 *    get a direct scatter-add, O(tokens x dim).
 *  - The gradient of GatherV2 transposes the whole [vocab, dim] table twice around that sum; for
 *    the axis-0 lookups an embedding does, its gradient is replaced by the scatter-add alone.
 *  - Conv2DBackpropFilter is missing on WASM and slow on CPU: the CNN computes convolutions as
 *    matMuls (learner-cnn.ts), whose gradients are matMuls.
 */
import type * as TF from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Tf = typeof TF;

export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

/** The native TensorFlow packages, best first (`npm install @tensorflow/tfjs-node-gpu` for CUDA). */
export const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/** Imports a package by name at run time (never bundled): how the optional native packages are found. */
export type Importer = (specifier: string) => Promise<unknown>;
const importAtRunTime: Importer = (specifier) => import(specifier);

let loaded: Promise<Tf> | undefined;
/** The native package in use, for backendLabel. */
let nativePackage: string | undefined;
const available = new Map<string, Promise<boolean>>();

/** The first native package that loads, as TensorFlow.js; undefined when none is installed (or libtensorflow is missing). */
async function importNative(importer: Importer): Promise<Tf | undefined> {
  for (const pkg of NATIVE_PACKAGES) {
    try {
      const mod = (await importer(pkg)) as Tf & { default?: Tf };
      nativePackage = pkg;
      // A CommonJS package imported from ESM: its exports may sit on `default`.
      return typeof mod.setBackend === 'function' ? mod : (mod.default as Tf);
    } catch {
      // not installed (or libtensorflow missing): try the next one
    }
  }
  return undefined;
}

/**
 * TensorFlow.js switched to `choice` (or, for `auto`, the fastest backend that loads); tf.getBackend()
 * names it. The first call decides which TensorFlow.js the process uses.
 */
export async function loadTf(choice: BackendChoice = 'auto', importer: Importer = importAtRunTime): Promise<Tf> {
  // Assigned before any await: concurrent first calls share one initialisation.
  loaded ??= (async () => init(choice === 'auto' || choice === 'tensorflow' ? await importNative(importer) : undefined))();
  const tf = await loaded;
  const order: readonly string[] = choice === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [choice];
  for (const name of order) {
    if (!(await backendAvailable(tf, name, importer))) continue;
    if (tf.getBackend() !== name && !(await tf.setBackend(name))) continue;
    return tf;
  }
  throw new Error(`TensorFlow.js backend ${choice} is not available here${choice === 'tensorflow' ? ': install @tensorflow/tfjs-node (or -node-gpu)' : ''}`);
}

/** Imports (once) what registers `name`; false when its package is not installed or does not load. */
function backendAvailable(tf: Tf, name: string, importer: Importer): Promise<boolean> {
  let p = available.get(name);
  if (!p) {
    p = registerBackend(tf, name, importer).then(
      () => tf.findBackendFactory(name) !== null,
      () => false,
    );
    available.set(name, p);
  }
  return p;
}

async function registerBackend(tf: Tf, name: string, importer: Importer): Promise<void> {
  if (name === 'cpu') return;
  if (name === 'tensorflow') {
    // Registered already when init took a native package; a process that chose cpu or wasm first
    // imports one now (its backend registers in TensorFlow.js's global engine).
    if (tf.findBackendFactory('tensorflow') === null && (await importNative(importer)) === undefined) throw new Error('no tfjs-node');
    return;
  }
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(`${wasmDir()}/`);
    registerSegmentSum(tf, 'wasm', (backend, t) => (backend as WasmBackend).typedArrayFromHeap(t), (backend, shape, dtype, fill) => {
      const out = (backend as WasmBackend).makeOutput(shape, dtype);
      const values = (backend as WasmBackend).typedArrayFromHeap(out) as Float32Array;
      values.fill(0); // the heap is not zeroed
      fill(values);
      return out;
    });
    return;
  }
  throw new Error(`unknown backend ${name}`);
}

/** Where the .wasm files are: beside the running bundle when the bundle stage put them there, else the package's dist/. */
function wasmDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  if (existsSync(join(here, 'tfjs-backend-wasm.wasm'))) return here;
  return join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
}

interface CpuBackend {
  readSync(dataId: unknown): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TF.TensorInfo;
}

interface WasmBackend {
  typedArrayFromHeap(t: TF.TensorInfo): ArrayLike<number>;
  makeOutput(shape: number[], dtype: string): TF.TensorInfo;
}

/** Registers a scatter-add UnsortedSegmentSum on `backendName`, given how to read an input and make the output there. */
function registerSegmentSum(
  tf: Tf,
  backendName: string,
  read: (backend: unknown, t: TF.TensorInfo) => ArrayLike<number>,
  output: (backend: unknown, shape: number[], dtype: string, fill: (values: Float32Array) => void) => TF.TensorInfo,
): void {
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: TF.TensorInfo; segmentIds: TF.TensorInfo };
      const numSegments = (attrs as { numSegments: number }).numSegments;
      const rest = x.shape.slice(segmentIds.shape.length);
      const inner = rest.reduce((a, b) => a * b, 1);
      return output(backend, [numSegments, ...rest], x.dtype, (values) => {
        // Inputs are read after the output is allocated: on WASM an allocation may grow the heap,
        // which detaches views taken before it.
        const xs = read(backend, x);
        const ids = read(backend, segmentIds);
        for (let i = 0; i < ids.length; i++) {
          const s = ids[i] as number;
          if (s < 0 || s >= numSegments) continue; // as TensorFlow: out-of-range ids are dropped
          const src = i * inner;
          const dst = s * inner;
          for (let k = 0; k < inner; k++) values[dst + k]! += xs[src + k] as number;
        }
      });
    },
  });
}

async function init(native: Tf | undefined): Promise<Tf> {
  const tf = native ?? ((await import('@tensorflow/tfjs')) as Tf);
  tf.enableProdMode(); // silences the "install tfjs-node" banner and debug checks
  // The CPU backend's own UnsortedSegmentSum is replaced (unregistering an absent kernel would throw).
  tf.unregisterKernel('UnsortedSegmentSum', 'cpu');
  registerSegmentSum(tf, 'cpu', (backend, t) => (backend as CpuBackend).readSync(t.dataId), (backend, shape, dtype, fill) => {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    fill(values);
    return (backend as CpuBackend).makeTensorInfo(shape, dtype, values);
  });
  tf.registerGradient({
    kernelName: 'GatherV2',
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, saved, attrs) => {
      const [x, indices] = saved as [TF.Tensor, TF.Tensor];
      const { axis, batchDims } = attrs as { axis: number; batchDims: number };
      if (axis !== 0 || batchDims !== 0 || indices.rank !== 1) throw new Error('GatherV2 gradient: only axis-0 lookups with 1-D indices are supported');
      return { x: () => tf.unsortedSegmentSum(dy as TF.Tensor, indices as TF.Tensor1D, x.shape[0] as number), indices: () => tf.zerosLike(indices) };
    },
  });
  return tf;
}

/**
 * What runs the models, for logs: e.g. "TensorFlow.js 4.22.0 on wasm (SIMD, 1 thread)", or
 * "... on tensorflow (@tensorflow/tfjs-node-gpu)".
 */
export function backendLabel(tf: Tf): string {
  const name = tf.getBackend();
  const detail =
    name === 'wasm' ? ` (${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD'}, 1 thread)` : name === 'tensorflow' && nativePackage ? ` (${nativePackage})` : '';
  return `TensorFlow.js ${tf.version.tfjs} on ${name}${detail}`;
}
