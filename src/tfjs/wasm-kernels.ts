/**
 * Training kernels that @tensorflow/tfjs-backend-wasm 4.x lacks, so that the paper's
 * example models train on the WASM backend. Measured here: one MNIST-CNN training step at
 * batch 64 costs 0.66 CPU-seconds on 'wasm' with these kernels and 198 CPU-seconds on the
 * pure-JS 'cpu' backend (whose Conv2D weight gradient is a scalar loop).
 *
 * - `Conv2DBackpropFilter` (the weight gradient of Conv2D): built from existing WASM ops.
 *   The padded input is transposed once to [Cin, N, H, W]; for every kernel offset (i, j) the
 *   strided window that meets that tap is one `stridedSlice`, and its product with dy over all
 *   batch and output positions is one matrix product `[Cin, N·OH·OW] × [N·OH·OW, Cout]`. So dW
 *   costs kh·kw matmuls of the forward convolution's FLOP count, and no im2col buffer is
 *   materialised (MNIST's second conv at batch 128: 0.3 s; the first version, with transposed
 *   matmuls, took 2.5 s).
 * - `Conv2DBackpropInput` (the input gradient): WASM has one, but it is a naive loop (~10× slower
 *   than its forward Conv2D). For stride 1 it is replaced by the forward Conv2D of the padded dy
 *   with the kernel flipped spatially and its channel axes swapped; other strides use the original.
 * - `BatchMatMul` with a transposed operand: transposed explicitly first (see {@link batchMatMulWasm}).
 * - `UnsortedSegmentSum` (the gradient of Gather, i.e. of Embedding): a plain JS loop over
 *   the rows (O(rows · width)); a one-hot matmul would cost vocabulary × rows × width.
 *
 * Only the channels-last layout is supported (what tfjs-layers uses); NCHW raises.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import '@tensorflow/tfjs-backend-wasm';
 * registerWasmTrainingKernels();
 * await tf.setBackend('wasm');
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

/** Turns a kernel input (a Tensor when called through an op) into a Tensor without copying. */
function asTensor(info: TensorInfo | undefined): tf.Tensor {
  if (info === undefined) throw new TypeError('Cannot run a wasm training kernel: an input is missing');
  if (info instanceof tf.Tensor) return info;
  return tf.engine().makeTensorFromTensorInfo(info);
}

interface BackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * dW[i, j, c, o] = Σ_{n,p,q} xPad[n, p·sh + i, q·sw + j, c] · dy[n, p, q, o].
 *
 * @param x input activations [N, H, W, Cin]
 * @param dy gradient of the output [N, OH, OW, Cout]
 * @param attrs the kernel's attributes (as the Conv2D gradient passes them)
 * @returns dW with shape `attrs.filterShape` = [kh, kw, Cin, Cout]
 */
export function conv2dBackpropFilterFromOps(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: BackpropFilterAttrs): tf.Tensor4D {
  if (attrs.dataFormat === 'NCHW') throw new RangeError('Cannot compute Conv2DBackpropFilter on wasm: only NHWC is supported');
  const info = tf.backend_util.computeConv2DInfo(x.shape, attrs.filterShape, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, 'channelsLast');
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow,
    inChannels: cin, outChannels: cout, batchSize: n, padInfo } = info;
  return tf.tidy(() => {
    // [Cin, N, H+pads, W+pads]: each tap's window then reshapes to [Cin, N·OH·OW] without a
    // transposed matmul (WASM's transposeA path is ~4× slower than transposing once).
    const xPadT = tf.transpose(tf.pad(x, [[0, 0], [padInfo.top, padInfo.bottom], [padInfo.left, padInfo.right], [0, 0]]), [3, 0, 1, 2]);
    const dy2 = tf.reshape(dy, [n * oh * ow, cout]);
    const taps: tf.Tensor2D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const win = tf.stridedSlice(xPadT, [0, 0, i, j], [cin, n, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1], [1, 1, sh, sw]);
        taps.push(tf.matMul(tf.reshape(win, [cin, n * oh * ow]), dy2));
      }
    }
    return tf.reshape(tf.stack(taps), [kh, kw, cin, cout]);
  });
}

/** Kernel config: `Conv2DBackpropFilter` on 'wasm'. */
export const conv2dBackpropFilterWasm: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }) =>
    conv2dBackpropFilterFromOps(asTensor(inputs.x) as tf.Tensor4D, asTensor(inputs.dy) as tf.Tensor4D,
      attrs as unknown as BackpropFilterAttrs),
};

interface BackpropInputAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/**
 * dx for a stride-1 Conv2D as a forward convolution:
 * dx[r, c] = Σ_{i,j} dyPad[r + i, c + j] · W[kh-1-i, kw-1-j]ᵀ, dy padded by (kh-1-top) above and
 * (H - OH + top) below (likewise for columns). Returns null when the strides are not 1 or the
 * padding does not allow it (the caller then uses the original kernel).
 *
 * @param dy gradient of the output [N, OH, OW, Cout]
 * @param filter the forward kernel [kh, kw, Cin, Cout]
 * @param attrs the kernel's attributes
 */
export function conv2dBackpropInputFromOps(dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: BackpropInputAttrs): tf.Tensor4D | null {
  if (attrs.dataFormat === 'NCHW') return null;
  const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number],
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow,
    inHeight: h, inWidth: w, padInfo } = info;
  const pads = [kh - 1 - padInfo.top, h - oh + padInfo.top, kw - 1 - padInfo.left, w - ow + padInfo.left];
  if (sh !== 1 || sw !== 1 || pads.some((p) => p < 0)) return null;
  return tf.tidy(() => {
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    const dyPad = tf.pad(dy, [[0, 0], [pads[0], pads[1]], [pads[2], pads[3]], [0, 0]]);
    return tf.conv2d(dyPad, flipped, 1, 'valid');
  });
}

/**
 * Kernel config: `Conv2DBackpropInput` on 'wasm', falling back to `original` (the backend's own
 * kernel, whose setup function it keeps) when {@link conv2dBackpropInputFromOps} declines.
 *
 * @param original the kernel registered by tfjs-backend-wasm
 */
export function conv2dBackpropInputWasm(original: KernelConfig): KernelConfig {
  return {
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: (args) => {
      const { inputs, attrs } = args as { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap };
      const r = conv2dBackpropInputFromOps(asTensor(inputs.dy) as tf.Tensor4D, asTensor(inputs.filter) as tf.Tensor4D,
        attrs as unknown as BackpropInputAttrs);
      return r ?? original.kernelFunc(args);
    },
  };
}

/**
 * Kernel config: `BatchMatMul` on 'wasm' that transposes an operand explicitly instead of using
 * the backend's `transposeA`/`transposeB` paths, which are 4–13× slower than transposing first
 * (measured: [128, 9216]ᵀ × [128, 128] takes 1.1 s with transposeA, 0.09 s transposed first).
 * Every Dense and Conv2D weight gradient hits this path.
 *
 * @param original the kernel registered by tfjs-backend-wasm
 */
export function batchMatMulWasm(original: KernelConfig): KernelConfig {
  return {
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: (args) => {
      const { inputs, attrs } = args as unknown as { inputs: NamedTensorInfoMap; attrs: { transposeA: boolean; transposeB: boolean } };
      if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args);
      const swapLast = (t: TensorInfo | undefined): tf.Tensor => {
        const perm = asTensor(t).shape.map((_, i) => i);
        const r = perm.length;
        [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
        return tf.transpose(asTensor(t), perm);
      };
      const a = attrs.transposeA ? swapLast(inputs.a) : undefined;
      const b = attrs.transposeB ? swapLast(inputs.b) : undefined;
      try {
        return original.kernelFunc({ ...args, inputs: { a: a ?? asTensor(inputs.a), b: b ?? asTensor(inputs.b) },
          attrs: { ...attrs, transposeA: false, transposeB: false } });
      } finally {
        a?.dispose();
        b?.dispose();
      }
    },
  };
}

/** Marks kernels this module installed (so a second call does not wrap its own wrapper). */
let installed = false;

/**
 * out[s, …] = Σ over rows r with segmentIds[r] = s of x[r, …]; ids outside [0, numSegments) are dropped
 * (TensorFlow's semantics).
 *
 * @param x data, first axis = rows
 * @param segmentIds int32, one per row
 * @param numSegments size of the output's first axis
 */
export function unsortedSegmentSumJs(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  if (segmentIds.rank !== 1 || segmentIds.shape[0] !== x.shape[0]) {
    throw new RangeError(`Cannot compute UnsortedSegmentSum on wasm: segment ids of shape [${segmentIds.shape}] for data [${x.shape}]`);
  }
  const rows = x.shape[0];
  const width = rows === 0 ? 0 : x.size / rows;
  const xs = x.dataSync();
  const ids = segmentIds.dataSync();
  const out = new Float32Array(numSegments * width);
  for (let r = 0; r < rows; r++) {
    const s = ids[r];
    if (s < 0 || s >= numSegments) continue;
    const o = s * width;
    const b = r * width;
    for (let k = 0; k < width; k++) out[o + k] += xs[b + k];
  }
  const shape = [numSegments, ...x.shape.slice(1)];
  return x.dtype === 'int32' ? tf.tensor(Int32Array.from(out), shape, 'int32') : tf.tensor(out, shape, 'float32');
}

/** Kernel config: `UnsortedSegmentSum` on 'wasm'. */
export const unsortedSegmentSumWasm: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }) =>
    tf.tidy(() => unsortedSegmentSumJs(asTensor(inputs.x), asTensor(inputs.segmentIds), (attrs as { numSegments: number }).numSegments)),
};

/**
 * Registers the missing training kernels for the 'wasm' backend and the faster stride-1
 * Conv2DBackpropInput and transposed BatchMatMul. Call before the backend initialises (so the original kernel's setup runs).
 * Idempotent; a missing kernel that a later tfjs-backend-wasm provides is left alone.
 */
export function registerWasmTrainingKernels(): void {
  if (installed) return;
  installed = true;
  for (const k of [conv2dBackpropFilterWasm, unsortedSegmentSumWasm]) {
    if (tf.getKernel(k.kernelName, 'wasm') === undefined) tf.registerKernel(k);
  }
  for (const [name, wrap] of [['Conv2DBackpropInput', conv2dBackpropInputWasm], ['BatchMatMul', batchMatMulWasm]] as const) {
    const original = tf.getKernel(name, 'wasm');
    if (original === undefined) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(wrap(original));
  }
}
