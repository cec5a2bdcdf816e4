/**
 * The VGG convolution base both the VGG16-GAP (MIT67) and the Flowers (VGG19) examples start
 * from, with Keras's layer names (block1_conv1 … block5_pool).
 * @module
 */
import * as tf from '@tensorflow/tfjs';

/** A VGG variant's blocks: [block number, conv layers, filters]. */
export type VggBlocks = Array<[number, number, number]>;

/** VGG16's blocks (13 convolutions). */
export const VGG16_BLOCKS: VggBlocks = [[1, 2, 64], [2, 2, 128], [3, 3, 256], [4, 3, 512], [5, 3, 512]];
/** VGG19's blocks (16 convolutions). */
export const VGG19_BLOCKS: VggBlocks = [[1, 2, 64], [2, 2, 128], [3, 4, 256], [4, 4, 512], [5, 4, 512]];

/**
 * The convolution base at 224×224×3: per block its 3×3 relu 'same' convolutions, then a 2×2 max
 * pooling; seeded He-uniform kernels (activations stay finite through 16 layers), zero biases.
 *
 * @param blocks the variant's blocks
 * @param seed the first kernel's seed; each further kernel takes the next one
 * @returns the layers and the next unused seed offset (for the layers after the base)
 */
export function vggBase(blocks: VggBlocks, seed: number): { layers: tf.layers.Layer[]; next: number } {
  const layers: tf.layers.Layer[] = [];
  let k = 0;
  for (const [b, convs, filters] of blocks) {
    for (let c = 1; c <= convs; c++) {
      layers.push(tf.layers.conv2d({ name: `block${b}_conv${c}`, filters, kernelSize: 3, padding: 'same', activation: 'relu',
        kernelInitializer: tf.initializers.heUniform({ seed: seed + k++ }), ...(layers.length === 0 ? { inputShape: [224, 224, 3] } : {}) }));
    }
    layers.push(tf.layers.maxPooling2d({ name: `block${b}_pool`, poolSize: 2, strides: 2 }));
  }
  return { layers, next: k };
}
