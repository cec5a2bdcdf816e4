/** Cutting a model into a public head and a private tail. */
export { checkedSplits, listCuts, selectCut, type Cut, type CutList } from './cuts.ts';
export { groupLayers, layerKey, type Layer, type LayerGranularity } from './layers.ts';
export { splitModel, extractAt, type SplitOptions, type SplitResult, type CutChoice } from './extract.ts';
export { runSplit } from './split-runner.ts';
