/**
 * TensorFlow.js for the neural models, loaded on demand (logreg/xgboost stages never pay for it):
 * `@tensorflow/tfjs` (its Node bundle also registers the gradients, which tfjs-core alone does not)
 * on the pure-JS CPU backend, which runs anywhere Node does and is deterministic (single-threaded
 * float32). Two of that backend's kernels are unusable for text models and are
 * avoided or replaced here:
 *  - UnsortedSegmentSum (the gradient of an embedding lookup) loops over every segment, i.e. every
 *    vocabulary entry, with a full mask each time: O(vocab x tokens x dim). Replaced below by a
 *    direct scatter-add, O(tokens x dim).
 *  - The gradient of GatherV2 transposes the whole [vocab, dim] table twice around that sum; for
 *    the axis-0 lookups an embedding does, its gradient is replaced by the scatter-add alone.
 *  - Conv2DBackpropFilter (and slice/concat, which im2col would need) are slow; the CNN computes a
 *    width-w convolution as the sum of w matMuls of shifted embedding lookups (learner-cnn.ts),
 *    whose gradients are matMuls and the scatter-add above.
 * `@tensorflow/tfjs-node` would be much faster but its install downloads libtensorflow.
 */
import type * as TF from '@tensorflow/tfjs';

export type Tf = typeof TF;

let loaded: Promise<Tf> | undefined;

export function loadTf(): Promise<Tf> {
  loaded ??= init();
  return loaded;
}

interface CpuBackend {
  readSync(dataId: unknown): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TF.TensorInfo;
}

async function init(): Promise<Tf> {
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  await tf.setBackend('cpu');
  tf.enableProdMode(); // silences the "install tfjs-node" banner and debug checks
  tf.unregisterKernel('UnsortedSegmentSum', 'cpu');
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: TF.TensorInfo; segmentIds: TF.TensorInfo };
      const numSegments = (attrs as { numSegments: number }).numSegments;
      const cpu = backend as unknown as CpuBackend;
      const xs = cpu.readSync(x.dataId);
      const ids = cpu.readSync(segmentIds.dataId);
      const inner = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
      const out = new Float32Array(numSegments * inner);
      for (let i = 0; i < ids.length; i++) {
        const s = ids[i] as number;
        if (s < 0 || s >= numSegments) continue; // as TensorFlow: out-of-range ids are dropped
        const src = i * inner;
        const dst = s * inner;
        for (let k = 0; k < inner; k++) out[dst + k]! += xs[src + k] as number;
      }
      return cpu.makeTensorInfo([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype, out);
    },
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
