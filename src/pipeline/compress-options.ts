// The options of `tbn compress`, declared once (see option-spec.ts): the CLI parses them, and
// compressModel, the method, fine-tuning and the budget search read them under these names.

import { DEFAULT_FINETUNE } from '../tbn/finetune.js';
import { ATTENTION_EPOCHS, DEFAULT_EPOCHS } from '../tbn/schedule.js';
import type { AxisPolicy } from '../tbn/select.js';
import { AXIS_POLICIES, parseLayerAxis, parseLayerP } from '../tbn/select.js';
import type { AlphaMode } from '../tbn/tile.js';
import type { OutputFormat } from '../tbn/rewrite.js';
import { duration, labelledDataOptions, minParamsOption, nonNegativeInteger, nonNegativeNumber, positiveInteger, positiveNumber, type OptionSpecs, type OptionValues } from './option-spec.js';

export const COMPRESS_OPTIONS = {
  output: { alias: 'o', type: 'string', describe: 'Output file (default: <model>.tbn.onnx)' },
  force: { type: 'boolean', default: false, describe: 'Replace an existing output file' },
  // No default: yargs' conflicts() counts a defaulted flag as given.
  'dry-run': { type: 'boolean', describe: 'Print the plan and sizes, write nothing' },
  ...labelledDataOptions('Calibration data'),
  p: { type: 'number', default: 4, coerce: positiveInteger('-p'), describe: 'Tiling factor: each weight becomes one tile of N/p bits reused p times' },
  'layer-p': { type: 'string', array: true, coerce: parseLayerP, describe: 'Per-layer p, name=p (node or weight name; p=1 keeps it fp32)' },
  'layer-axis': { type: 'string', array: true, coerce: parseLayerAxis, describe: `Per-layer tile axis, name=${AXIS_POLICIES.join('|')} (node or weight name, glob or /regex/)` },
  ...minParamsOption,
  include: { type: 'string', array: true, describe: 'Only tile layers whose node or weight name matches (glob or /regex/)' },
  exclude: { type: 'string', array: true, describe: 'Never tile layers whose node or weight name matches (glob or /regex/)' },
  'tile-axis': { choices: AXIS_POLICIES, default: 'auto' as AxisPolicy, describe: 'Which axis the tile regions run along (hidden: recurrent W/R along their hidden units, every gate its own bits; other layers as auto)' },
  alpha: { choices: ['per-tile', 'per-layer'] as const satisfies readonly AlphaMode[], default: DEFAULT_FINETUNE.alpha, describe: 'One scale per tile region, or one per layer' },
  format: { choices: ['custom', 'expanded'] as const satisfies readonly OutputFormat[], default: 'custom' as OutputFormat, describe: 'custom: ai.tbn ops with ONNX functions; expanded: decoded fp32 weights' },
  permute: { type: 'boolean', default: true, describe: 'Reorder output channels so rows sharing a tile row are alike (--no-permute to skip)' },
  'bn-recalib': { type: 'boolean', default: true, describe: 'Re-estimate BatchNorm statistics on --data after tiling (--no-bn-recalib to skip)' },
  finetune: { type: 'boolean', default: true, describe: 'Fine-tune the tiles by distillation (--no-finetune: tiles from the trained weights only)' },
  fuse: { type: 'boolean', default: true, describe: 'Fold the BatchNorm, activation and residual Add after a tiled layer, and a MaxPool after a tiled conv, into its fused op (--no-fuse to keep them as nodes)' },
  'keep-names': { type: 'boolean', default: false, describe: "Keep the exporter's names of intermediate values (default: short names, which can be most of a small compressed file; node names and the graph's inputs and outputs are always kept)" },
  'rest-dtype': { choices: ['float32', 'float16'] as const, default: 'float32' as 'float32' | 'float16', describe: 'How the untiled float32 parameters (biases, norms, embeddings, layers under λ) are stored: float16 halves them, behind a Cast that onnxruntime folds at load (each value moves by at most 2^-11 of itself; tensors float16 cannot hold stay float32)' },
  epochs: { type: 'number', coerce: positiveInteger('--epochs'), describe: `Fine-tuning passes over --data (default: ${DEFAULT_EPOCHS}, ${ATTENTION_EPOCHS} for models with attention)` },
  steps: { type: 'number', coerce: positiveInteger('--steps'), describe: 'Fine-tuning steps (overrides --epochs)' },
  lr: { type: 'number', default: DEFAULT_FINETUNE.lr, coerce: positiveNumber('--lr'), describe: 'Peak learning rate (Adam, cosine schedule with warm-up)' },
  'batch-size': { type: 'number', coerce: positiveInteger('--batch-size'), describe: 'Fine-tuning batch size (default: 64, or fewer for small --data so that an epoch has ≥ 30 steps, never under 16)' },
  loss: { choices: ['auto', 'kl', 'mse', 'cosine'] as const, default: DEFAULT_FINETUNE.loss, describe: "Distillation loss: auto = by each output's task (KL for classes and CTC frames, cosine for embeddings, per-pixel for maps, scaled MSE for regression); kl/mse/cosine force one loss on every output" },
  task: { type: 'string', array: true, describe: 'What an output is: KIND or OUTPUT=KIND, KIND one of classification, ctc, embedding, dense, regression (default: detected from the graph and data)' },
  blank: { type: 'number', coerce: nonNegativeInteger('--blank'), describe: 'CTC blank index (default: the model metadata, or detected; 0 otherwise)' },
  features: { choices: ['auto', 'on', 'off'] as const, default: DEFAULT_FINETUNE.features, describe: "Also match the teacher's activations at the end of each tiled layer's block (auto: for regression outputs, where it measured better)" },
  temperature: { type: 'number', default: DEFAULT_FINETUNE.temperature, coerce: positiveNumber('--temperature'), describe: 'Distillation temperature for the KL loss' },
  augment: { type: 'boolean', default: DEFAULT_FINETUNE.augment, describe: 'Shift/rotate/noise/mixup the inputs; the teacher labels them (auto: on for classification and regression outputs, off for CTC, embedding and dense ones; --augment / --no-augment force it)' },
  'alpha-source': { choices: ['weight', 'separate'] as const, default: DEFAULT_FINETUNE.alphaSource, describe: 'α from the latent weights, or from a separate full-precision tensor' },
  'train-rest': { type: 'boolean', default: DEFAULT_FINETUNE.trainRest, describe: 'Also fine-tune the biases, norms and untiled layers (--no-train-rest: the tiles only)' },
  'binarize-rest': { type: 'boolean', default: false, describe: 'Layers under λ become binary (1 bit per weight, one α) instead of staying fp32' },
  'max-drop': { type: 'number', coerce: nonNegativeNumber('--max-drop'), describe: 'Choose p per layer: the smallest model whose accuracy drop on held-out data is ≤ this many points' },
  'target-bits': { type: 'number', coerce: positiveNumber('--target-bits'), describe: 'Choose p per layer: the most accurate model at ≤ this many bits per weight (over the tileable layers)' },
  holdout: { type: 'number', default: 0.2, describe: 'Fraction of --data held out to confirm --max-drop/--target-bits' },
  'search-epochs': { type: 'number', coerce: positiveInteger('--search-epochs'), describe: 'Fine-tuning epochs per candidate while searching --max-drop (default: --epochs; fewer search faster but misjudge points that a full fine-tune would rescue)' },
  'time-budget': { type: 'string', coerce: duration('--time-budget'), describe: 'Wall time for the whole run, e.g. 90s, 10m, 1.5h: the first fine-tuning steps are timed and the schedule (steps, cosine length) is cut to fit' },
  seed: { type: 'number', default: DEFAULT_FINETUNE.seed, describe: 'Random seed (same seed and data → same output bytes)' },
} as const satisfies OptionSpecs;

/** Pairs of flags that cannot be given together (yargs reports them as a usage error). */
export const COMPRESS_CONFLICTS = {
  'max-drop': ['target-bits', 'dry-run', 'time-budget'],
  'target-bits': ['dry-run', 'time-budget'],
} as const;

export type CompressSettings = OptionValues<typeof COMPRESS_OPTIONS>;
