// Writes tiles into a model: each tiled layer's weight becomes a bit-packed tile and its
// scales (in the layer's float type, format.ts), and the layer becomes the fused ai.tbn op
// (custom format, with model-local ONNX functions) or reads a decoded weight of its float type
// (expanded format). A quantized layer's dequantization goes with its weight; an integer op's
// dynamic-quantization chain is replaced by the float layer. Everything not tiled is left
// exactly as it was; constants and nodes that only fed tiled layers are dropped.

import { UserError } from '../errors.js';
import { attr, floatTensorOf, int64Tensor, node as makeNode, tensor } from '../ir/build.js';
import { consumerMap, defaultOpset, producerMap } from '../ir/graph.js';
import { NameSource, collectNames } from '../ir/names.js';
import type { Attribute, Graph, KeyValue, Model, Node, OnnxTensor, ValueInfo } from '../ir/types.js';
import { MIN_FUNCTION_OPSET, MIN_IR_WITH_FUNCTIONS, OPS, TBN_DOMAIN, tbnOpsetVersion, type TbnOpName } from './format.js';
import { tbnFunction } from './functions.js';
import type { WeightLayer } from './layers.js';
import { tileFloatType, type TileFloatType } from './format.js';
import { decodeTile, type AlphaMode, type Tile, type TileLayout } from './tile.js';

export type OutputFormat = 'custom' | 'expanded';

export interface TiledLayer {
  layer: WeightLayer;
  layout: TileLayout;
  alphaMode: AlphaMode;
  tile: Tile;
}

export interface RewriteOptions {
  format: OutputFormat;
  /** metadata_props entries to add (tbn.*). */
  metadata?: KeyValue[];
  /** Types and shapes of the tiled layers' outputs, for value_info. */
  valueInfo?: ValueInfo[];
}

export function fusedOpFor(layer: WeightLayer): TbnOpName {
  if (layer.weightInput !== 1) return 'TbnDecode';
  if (layer.op === 'Gemm') return 'TbnGemm';
  if (layer.op === 'MatMul') return 'TbnMatMul';
  if (layer.op === 'Conv') return 'TbnConv';
  return 'TbnDecode'; // a recurrent node reads its decoded W and R
}

/** Throws when the model cannot take the custom format (and says what to do instead). */
export function checkCustomFormat(model: Model): void {
  const opset = defaultOpset(model) ?? 1;
  if (opset < MIN_FUNCTION_OPSET) {
    throw new UserError(
      `the model uses opset ${opset}; the compressed form's ONNX functions need opset ≥ ${MIN_FUNCTION_OPSET} ` +
        `(upgradeOpset in src/ir/upgrade converts it, as tbn compress does; or use --format expanded)`,
    );
  }
  refuseCompressed(model);
}

/** Throws when the model is tbn's own output: its layers are tiled already. */
export function refuseCompressed(model: Model): void {
  if (model.opsetImports.some((o) => o.domain === TBN_DOMAIN) || model.functions.some((f) => f.domain === TBN_DOMAIN)) {
    throw new UserError('the model is already compressed by tbn (it uses the ai.tbn domain)');
  }
}

const tileAttrs = (t: TiledLayer): Attribute[] => [
  attr.ints('weight_shape', t.layout.shape),
  attr.int('p', t.layout.p),
  attr.int('tile_axis', t.layout.tileAxis),
];

/** Where a layer reads its activation and writes its output, and the nodes it replaces. */
function layerIo(layer: WeightLayer, n: Node): { input: string; output: string; replaced: number[]; feeders: number[] } {
  const i = layer.integer;
  return i ? { input: i.input, output: i.output, replaced: i.replaced, feeders: i.feeders } : { input: n.inputs[0]!, output: n.outputs[0]!, replaced: [], feeders: [] };
}

export function rewriteModel(model: Model, tiled: TiledLayer[], opts: RewriteOptions): Model {
  if (opts.format === 'custom') checkCustomFormat(model);
  const g = model.graph;
  const names = new NameSource(collectNames(g));
  const producers = producerMap(g);
  // Position i of the original node list becomes these nodes (a decode node goes before its consumer).
  const at = new Map<number, Node[]>();
  const initializers = [...g.initializers];
  const used = new Set<TbnOpName>();
  const zeroScalars = new Map<TileFloatType, string>();
  const candidates = new Set<Node>(); // may become dead: Constant nodes and chains of tiled weights
  const deadInits = new Set<string>();
  const maybeDead = (value: string) => {
    deadInits.add(value);
    const p = producers.get(value);
    if (p !== undefined) candidates.add(g.nodes[p]!);
  };

  for (const t of tiled) {
    const { layer } = t;
    const n = g.nodes[layer.nodeIndex]!;
    const src = layer.source;
    const dtype = tileFloatType(layer.dtype);
    const io = layerIo(layer, n);
    layer.source.chain.forEach((c) => candidates.add(g.nodes[c.node]!));
    if (src.constantNode !== undefined) candidates.add(g.nodes[src.constantNode]!);
    if (src.kind === 'initializer') deadInits.add(src.name);
    (src.dequantize?.params ?? []).forEach(maybeDead);
    io.replaced.forEach((r) => at.set(r, []));
    io.feeders.forEach((f) => candidates.add(g.nodes[f]!));
    // A node with two tiled weights (a recurrent W and R) is rewritten once per weight.
    const earlier = at.get(layer.nodeIndex);
    const current = earlier?.at(-1) ?? n;
    const inputs = (w: string) => current.inputs.map((v, i) => (i === layer.weightInput ? w : v));
    const place = (nodes: Node[]) => at.set(layer.nodeIndex, [...(earlier?.slice(0, -1) ?? []), ...nodes]);
    if (opts.format === 'expanded') {
      const w = names.fresh(`${src.name}_tbn`);
      initializers.push(floatTensorOf(w, dtype, layer.nodeShape ?? layer.shape, decodeTile(t.tile, t.layout)));
      const node = layer.integer ? { ...n, opType: layer.op, inputs: [io.input, w], outputs: [io.output] } : { ...current, inputs: inputs(w) };
      place([node]);
      continue;
    }
    const bits = names.fresh(`${src.name}_tbn_bits`);
    const scales = names.fresh(`${src.name}_tbn_scales`);
    initializers.push(tensor(bits, 'uint8', [t.tile.bits.length], t.tile.bits), floatTensorOf(scales, dtype, [t.tile.alpha.length], t.tile.alpha));
    const op = fusedOpFor(layer);
    used.add(op);
    if (op === 'TbnDecode') {
      const w = names.fresh(`${src.name}_tbn_decoded`);
      // Unique per weight: a recurrent node has two.
      const base = layer.nodeShape ? `${n.name || layer.label}/${layer.weightInput === 1 ? 'W' : 'R'}` : n.name || src.name;
      const decode = makeNode('TbnDecode', [bits, scales], [w], tileAttrs(t), { domain: TBN_DOMAIN, name: `${base}/TbnDecode` });
      if (!layer.nodeShape) {
        place([decode, { ...current, inputs: inputs(w) }]);
        continue;
      }
      // The tile decodes the 2-D view; the node reads its own shape.
      const [shape, viewed] = [names.fresh(`${src.name}_tbn_shape`), names.fresh(`${src.name}_tbn_weight`)];
      initializers.push(int64Tensor(shape, [layer.nodeShape.length], layer.nodeShape));
      const reshape = makeNode('Reshape', [w, shape], [viewed], [], { name: `${base}/Reshape` });
      place([decode, reshape, { ...current, inputs: inputs(viewed) }]);
      continue;
    }
    // Optional inputs are always passed: onnx 1.12's checker cannot infer through a function
    // call with an omitted input. A zero bias adds exactly nothing.
    let extra = layer.integer ? '' : (n.inputs[2] ?? '');
    if (!extra && op === 'TbnGemm') {
      if (!zeroScalars.has(dtype)) zeroScalars.set(dtype, names.fresh(dtype === 'float32' ? 'tbn_zero' : `tbn_zero_${dtype}`));
      extra = zeroScalars.get(dtype)!;
    } else if (!extra && op === 'TbnConv') {
      extra = names.fresh(`${src.name}_tbn_zero_bias`);
      initializers.push(floatTensorOf(extra, dtype, [layer.outDim], new Float32Array(layer.outDim)));
    }
    const allowed = new Set(OPS[op].attrs.map((a) => a.name));
    const passed = n.attributes.filter((a) => a.name && allowed.has(a.name));
    const opInputs = op === 'TbnMatMul' ? [io.input, bits, scales] : [io.input, bits, scales, extra];
    at.set(layer.nodeIndex, [{ ...n, opType: op, domain: TBN_DOMAIN, inputs: opInputs, outputs: [io.output], attributes: [...tileAttrs(t), ...passed] }]);
  }
  const nodes = g.nodes.flatMap((n, i) => at.get(i) ?? [n]);
  for (const [dtype, name] of zeroScalars) initializers.push(floatTensorOf(name, dtype, [], new Float32Array(1)));

  const graph = dropDead({ ...g, nodes, initializers }, candidates, deadInits);
  // value_info of values no node writes any more (an integer chain's intermediates) goes too.
  const written = new Set(graph.nodes.flatMap((n) => n.outputs));
  graph.valueInfo = graph.valueInfo.filter((v) => !v.name || written.has(v.name));
  const info = new Map((opts.valueInfo ?? []).map((v) => [v.name, v]));
  graph.valueInfo = [...graph.valueInfo.filter((v) => !info.has(v.name)), ...info.values()];

  const opset = defaultOpset(model) ?? MIN_FUNCTION_OPSET;
  const custom = opts.format === 'custom' && used.size > 0;
  return {
    ...model,
    irVersion: custom ? Math.max(model.irVersion ?? 0, MIN_IR_WITH_FUNCTIONS) : model.irVersion,
    opsetImports: custom ? [...model.opsetImports, { domain: TBN_DOMAIN, version: tbnOpsetVersion(graph.nodes) }] : model.opsetImports,
    graph,
    functions: custom ? [...model.functions, ...[...used].sort().map((op) => tbnFunction(op, opset))] : model.functions,
    metadataProps: [...(model.metadataProps ?? []).filter((kv) => !kv.key?.startsWith('tbn.')), ...(opts.metadata ?? [])],
  };
}

/** Removes candidate nodes and initializers nothing reads any more. */
function dropDead(g: Graph, candidates: Set<Node>, inits: Set<string>): Graph {
  const remove = new Set<Node>();
  const outputs = new Set(g.outputs.map((o) => o.name));
  for (;;) {
    const alive = g.nodes.filter((n) => !remove.has(n));
    const consumers = consumerMap({ ...g, nodes: alive });
    let changed = false;
    for (const n of candidates) {
      if (remove.has(n)) continue;
      if (n.outputs.every((o) => !consumers.has(o) && !outputs.has(o))) {
        remove.add(n);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const nodes = g.nodes.filter((n) => !remove.has(n));
  const consumers = consumerMap({ ...g, nodes });
  const deadInit = (t: OnnxTensor) => !!t.name && inits.has(t.name) && !consumers.has(t.name) && !outputs.has(t.name);
  const gone = new Set(g.initializers.filter(deadInit).map((t) => t.name));
  for (const n of remove) for (const o of n.outputs) gone.add(o);
  return {
    ...g,
    nodes,
    initializers: g.initializers.filter((t) => !deadInit(t)),
    inputs: g.inputs.filter((v) => !gone.has(v.name)),
    valueInfo: g.valueInfo.filter((v) => !gone.has(v.name)),
  };
}
