/**
 * Binding to XGBoost compiled to WebAssembly (npm `ml-xgboost`: XGBoost 0.7x built with
 * emscripten; single-threaded, so deterministic). The package's own wrapper passes the training
 * matrix through emscripten's 5 MB stack and crashes beyond ~1M cells, so this calls the exported C
 * functions directly with heap buffers. Its C shim builds matrices with missing = -1: absent
 * features are passed as -1, which XGBoost stores sparsely and routes by its learned default
 * direction, as it does for CSR input elsewhere.
 */

interface EmscriptenModule {
  isReady: Promise<EmscriptenModule>;
  cwrap(name: string, ret: string | null, args: string[]): (...a: (number | string)[]) => number;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPF32: Float32Array;
  HEAPU8: Uint8Array;
}

export const MISSING = -1;

export interface XgbApi {
  /** X: rows x cols, row-major, MISSING for absent values. Returns a model handle. */
  train(X: Float32Array, y: Float32Array, rows: number, cols: number, params: Readonly<Record<string, string>>, rounds: number): number;
  predict(model: number, X: Float32Array, rows: number, cols: number): Float64Array;
  save(model: number): Uint8Array;
  load(bytes: Uint8Array): number;
  free(model: number): void;
}

let api: Promise<XgbApi> | undefined;

export function loadXgboost(): Promise<XgbApi> {
  api ??= init();
  return api;
}

async function init(): Promise<XgbApi> {
  // Emscripten's loader (CommonJS) reads xgboost.wasm beside its __dirname: the package's folder
  // when run from source, the bundle's folder (where the bundle stage copies it) when bundled.
  const warn = console.warn;
  // Emscripten's streaming compile does not understand file paths and warns before falling back.
  console.warn = (...a: unknown[]) => {
    if (!/wasm streaming compile failed|falling back to ArrayBuffer/.test(String(a[0]))) warn(...a);
  };
  let m: EmscriptenModule;
  try {
    m = await ((await import('ml-xgboost/dist/wasm/xgboost.js')).default as EmscriptenModule).isReady;
  } finally {
    console.warn = warn;
  }
  const create = m.cwrap('create_model', 'number', ['number', 'number', 'number', 'number']);
  const setParam = m.cwrap('set_param', null, ['number', 'string', 'string']);
  const trainIters = m.cwrap('train_full_model', null, ['number', 'number']);
  const predictOne = m.cwrap('predict_one', 'number', ['number', 'number', 'number', 'number']);
  const saveModel = m.cwrap('save_model', 'number', ['number']);
  const fileContent = m.cwrap('get_file_content', null, ['number', 'number']);
  const loadModel = m.cwrap('load_model', 'number', ['number', 'number']);
  const freeModel = m.cwrap('free_memory_model', null, ['number']);

  const copyIn = (a: Float32Array | Uint8Array): number => {
    const ptr = m._malloc(a.byteLength);
    if (ptr === 0) throw new Error(`XGBoost WASM heap: cannot allocate ${a.byteLength} bytes`);
    m.HEAPU8.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), ptr);
    return ptr;
  };

  return {
    train(X, y, rows, cols, params, rounds) {
      if (X.length !== rows * cols || y.length !== rows) throw new Error('xgboost.train: matrix and label sizes disagree');
      const px = copyIn(X);
      const py = copyIn(y);
      const model = create(px, py, rows, cols);
      m._free(px);
      m._free(py);
      for (const [k, v] of Object.entries(params)) setParam(model, k, v);
      trainIters(model, rounds);
      return model;
    },
    predict(model, X, rows, cols) {
      const out = new Float64Array(rows);
      const row = m._malloc(cols * 4);
      const res = m._malloc(4);
      try {
        for (let i = 0; i < rows; i++) {
          // HEAPF32 is re-read each time: the heap may have grown (and been replaced) meanwhile.
          m.HEAPF32.set(X.subarray(i * cols, (i + 1) * cols), row / 4);
          predictOne(model, row, cols, res);
          out[i] = m.HEAPF32[res / 4] as number;
        }
      } finally {
        m._free(row);
        m._free(res);
      }
      return out;
    },
    save(model) {
      const size = saveModel(model);
      if (size < 0) throw new Error('XGBoost could not serialise the model');
      const ptr = m._malloc(size);
      fileContent(ptr, size);
      const bytes = m.HEAPU8.slice(ptr, ptr + size);
      m._free(ptr);
      return bytes;
    },
    load(bytes) {
      const ptr = copyIn(bytes);
      const model = loadModel(ptr, bytes.length);
      m._free(ptr);
      if (model === 0) throw new Error('XGBoost could not load the model');
      return model;
    },
    free: (model) => void freeModel(model),
  };
}
