import { EnclaveNnError } from '../errors.ts';
import { nearestList } from '../util/nearest.ts';
import { UNSUPPORTED_LAYER, type KerasLayer, type LayerConverter } from './types.ts';
import { activationConverters } from './layers/activations.ts';
import { coreConverters } from './layers/core.ts';
import { convConverters } from './layers/conv.ts';
import { poolingConverters } from './layers/pooling.ts';
import { normalizationConverters } from './layers/normalization.ts';
import { reshapingConverters } from './layers/reshaping.ts';
import { mergeConverters } from './layers/merge.ts';
import { recurrentConverters } from './layers/recurrent.ts';

/**
 * The op table: Keras layer class → converter (STYLE.md 5). One entry per class; aliases
 * (Keras 2 vs Keras 3 spellings) point to the same converter. The only place converters register.
 */
export const converters: Readonly<Record<string, LayerConverter>> = {
  ...coreConverters,
  ...activationConverters,
  ...convConverters,
  ...poolingConverters,
  ...normalizationConverters,
  ...reshapingConverters,
  ...mergeConverters,
  ...recurrentConverters,
};

/** The supported layer classes, sorted. */
export function supportedLayers(): string[] {
  return Object.keys(converters).sort();
}

/** The converter for a layer's class; throws IMPORT_UNSUPPORTED_LAYER naming the layer, its class and the known classes. */
export function converterFor(layer: KerasLayer): LayerConverter {
  const c = Object.hasOwn(converters, layer.className) ? converters[layer.className] : undefined;
  if (!c) {
    throw new EnclaveNnError(UNSUPPORTED_LAYER, `Cannot import layer '${layer.name}': class ${layer.className} is not supported (supported: ${nearestList(layer.className, supportedLayers())})`);
  }
  return c;
}
