/**
 * Small helpers shared by the example trainings: batched accuracy and progress lines.
 * @module
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Accuracy of `model` on `x` against integer `labels`, predicting `batchSize` rows at a time.
 * A single sigmoid output counts as class 1 when ≥ 0.5.
 *
 * @param model the trained model
 * @param x inputs, first axis = examples
 * @param labels the true class of each example
 * @param batchSize rows per predict call @defaultValue 256
 */
export function accuracy(model: tf.LayersModel, x: tf.Tensor, labels: ArrayLike<number>, batchSize = 256): number {
  const n = x.shape[0];
  let correct = 0;
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    const pred = tf.tidy(() => {
      const y = model.predict(tf.slice(x, s, e - s)) as tf.Tensor;
      return y.shape[1] === 1 ? tf.cast(tf.greaterEqual(tf.reshape(y, [-1]), 0.5), 'int32') : tf.argMax(y, 1);
    });
    const p = pred.dataSync();
    pred.dispose();
    for (let i = s; i < e; i++) if (p[i - s] === labels[i]) correct++;
  }
  return correct / n;
}

/**
 * fit() callbacks printing one line per epoch and a line every `every` batches.
 *
 * @param label prefix of each line
 * @param every print every N batches @defaultValue 50
 * @param log where lines go @defaultValue console.log
 */
export function progressCallbacks(label: string, every = 50, log: (line: string) => void = console.log): tf.CustomCallbackArgs {
  let t0 = performance.now();
  let epoch = 0;
  return {
    onEpochBegin: async (e) => { epoch = e; t0 = performance.now(); },
    onBatchEnd: async (b, logs) => {
      if ((b + 1) % every === 0) {
        const acc = logs?.acc ?? logs?.accuracy;
        log(`${label} epoch ${epoch + 1} batch ${b + 1}: loss ${logs?.loss?.toFixed(4)}${acc !== undefined ? ` acc ${acc.toFixed(4)}` : ''} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      }
    },
    onEpochEnd: async (e, logs) => {
      log(`${label} epoch ${e + 1} done in ${((performance.now() - t0) / 1000).toFixed(1)} s: loss ${logs?.loss?.toFixed(4)}`);
    },
  };
}

/**
 * CPU seconds (user + system) this process has used so far: the honest cost of a build on a
 * shared machine, where wall time depends on the neighbours.
 */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
