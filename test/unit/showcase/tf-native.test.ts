// backend: auto with a native TensorFlow package installed. The real @tensorflow/tfjs-node-gpu cannot
// be installed here (its install downloads libtensorflow), so the importer stands in for the module
// resolver: it serves TensorFlow.js with a `tensorflow` backend registered, as the package does.
// In its own file: the first loadTf of a process decides which TensorFlow.js it uses.
import { describe, expect, it } from 'vitest';
import { backendLabel, loadTf, type Importer, type Tf } from '../../../stages/lib/tf.js';

describe('backend: auto with @tensorflow/tfjs-node-gpu installed', () => {
  it('uses the GPU package before tfjs-node and WASM, and the label says which package runs', async () => {
    const asked: string[] = [];
    let served: Tf | undefined;
    const importer: Importer = async (specifier) => {
      asked.push(specifier);
      if (specifier !== '@tensorflow/tfjs-node-gpu') throw new Error(`Cannot find package '${specifier}'`);
      const tf = (await import('@tensorflow/tfjs')) as Tf;
      const cpu = tf.findBackendFactory('cpu')!;
      tf.registerBackend('tensorflow', cpu, 1);
      served = tf;
      return { default: tf }; // CommonJS, as the package is
    };
    const tf = await loadTf('auto', importer);
    expect(asked).toEqual(['@tensorflow/tfjs-node-gpu']);
    expect(tf).toBe(served); // the package's own TensorFlow.js, not a second copy
    expect(tf.getBackend()).toBe('tensorflow');
    expect(backendLabel(tf)).toBe(`TensorFlow.js ${tf.version.tfjs} on tensorflow (@tensorflow/tfjs-node-gpu)`);
  });
});
