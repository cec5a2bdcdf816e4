/**
 * Test helper: writes a TF.js model as a Keras 2 HDF5 file (what `model.save('model.h5')` writes),
 * for the importer's tests and the README flow test.
 */
import * as tf from '@tensorflow/tfjs';
import h5wasm from 'h5wasm/node';
import { saveTfjsArtifacts } from './support.testkit.ts';

/** Writes a TF.js model as a Keras 2 HDF5 file (model_config + model_weights/<layer>/ with weight_names). */
export async function writeKerasH5(m: tf.LayersModel, path: string, options: { withConfig?: boolean } = {}): Promise<void> {
  await h5wasm.ready;
  const a = await saveTfjsArtifacts(m);
  const data = Buffer.concat((Array.isArray(a.weightData) ? a.weightData : [a.weightData as ArrayBuffer]).map((b) => Buffer.from(b)));
  const f = new h5wasm.File(path, 'w');
  try {
    const topo = a.modelTopology as { class_name: string; config: unknown };
    if (options.withConfig !== false) f.create_attribute('model_config', JSON.stringify({ class_name: topo.class_name, config: topo.config }));
    f.create_attribute('keras_version', '2.2.4-tf');
    const root = options.withConfig === false ? f : f.create_group('model_weights');
    const byLayer = new Map<string, { name: string; shape: number[]; values: Float32Array }[]>();
    const topOf = new Map<string, string>();
    for (const l of m.layers) if (l instanceof tf.LayersModel) for (const inner of l.layers) topOf.set(inner.name, l.name);
    let offset = 0;
    for (const w of a.weightSpecs ?? []) {
      const n = w.shape.reduce((x, y) => x * y, 1);
      const values = new Float32Array(data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + n * 4));
      offset += n * 4;
      const first = w.name.split('/')[0]!;
      const owner = topOf.get(first) ?? first;
      // Keras 2.0 wrote a "_1" suffix into weight names inside the layer group (see fer2013_mini_XCEPTION);
      // a nested model's group holds its inner layers' weights under their own names.
      const name = owner === first ? `${first}_1/${w.name.split('/').slice(1).join('/')}:0` : `${w.name}:0`;
      byLayer.set(owner, [...(byLayer.get(owner) ?? []), { name, shape: w.shape, values }]);
    }
    root.create_attribute('layer_names', m.layers.map((l) => l.name));
    for (const l of m.layers) {
      const g = root.create_group(l.name);
      const ws = byLayer.get(l.name) ?? [];
      g.create_attribute('weight_names', ws.map((w) => w.name));
      for (const w of ws) {
        const parts = w.name.split('/');
        const sub = parts.slice(0, -1).reduce((grp, p) => (grp.get(p) as typeof g | null) ?? grp.create_group(p), g);
        sub.create_dataset({ name: parts.at(-1)!, data: w.values, shape: w.shape, dtype: '<f' });
      }
    }
  } finally {
    f.close();
  }
}
