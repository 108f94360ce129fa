// Which output-channel permutations of the tiled layers keep the model's function, found by
// trying them (perm-flow.ts proves or refutes each). A layer's output channels are cut into
// pools: a pool's units may be permuted freely, and each unit carries the channels tied to it
// elsewhere (the keys of a query dimension, every writer of a residual stream). Tried from the
// coarsest: all channels in one pool (an MLP's hidden units, a residual stream); else blocks of
// b contiguous channels (the dimensions of one attention head), and then those blocks as units
// of larger pools (heads moved whole). Two trials per pool suffice: a swap and a cycle of its
// units generate every permutation of them, and valid permutations compose.

import type { Model } from '../ir/types.js';
import type { AxisPerm } from './perm-algebra.js';
import { Flow, FlowFailure } from './perm-flow.js';
import { hiddenSize, isRecurrent, layerOutput, type WeightLayer } from './layers.js';

/** A layer's output channels as a value axis. */
export interface Producer {
  layer: WeightLayer;
  value: string;
  axis: number;
  channels: number;
}

/** Global channel id: producer index · STRIDE + channel. */
export const STRIDE = 1 << 22;

export interface Pool {
  /** Units (aligned lists of global channel ids); any permutation of the units is allowed. */
  units: number[][];
  base: number;
  /** Channels per base unit (1, or a block such as one head's dimensions). */
  block: number;
}

export interface BaseAnalysis {
  base: number;
  pools: Pool[];
  /** Set when no pool was found (why the first trial failed). */
  pinned: string | null;
  structure: string;
}

/** A layer's channels as the value it writes (an integer layer: its rescaling Mul's output). */
export function producerOf(layer: WeightLayer, shapes: Map<string, number[]>): Producer | undefined {
  // A recurrent node's channels are its hidden units: the last axis of Y (or Y_h, Y_c); W and R
  // of one node are one producer (perm-flow moves the gate rows with them).
  if (isRecurrent(layer.op)) {
    const value = layer.node.outputs.find(Boolean);
    const rank = value ? shapes.get(value)?.length : undefined;
    const hidden = hiddenSize(layer);
    return value && rank ? { layer, value, axis: rank - 1, channels: hidden } : undefined;
  }
  const value = layerOutput(layer);
  const rank = shapes.get(value)?.length;
  if (rank === undefined) return undefined;
  let axis: number;
  if (layer.op === 'Conv') axis = 1;
  else if (layer.op === 'MatMul' && layer.weightInput === 0) axis = rank - 2;
  else axis = rank - 1;
  return { layer, value, axis, channels: layer.outDim };
}

export class ChannelSpaces {
  private readonly index = new Map<string, number>();

  constructor(
    private readonly model: Model,
    private readonly shapes: Map<string, number[]>,
    readonly producers: Producer[],
    private readonly grown?: Map<string, number[]>,
  ) {
    producers.forEach((p, i) => this.index.set(p.value, i));
  }

  /** Runs a flow seeded by channel orders of some producers; the orders every producer ends with. */
  closure(seeds: Map<number, Int32Array>): Map<number, Int32Array> {
    const flow = new Flow(this.model, this.shapes, this.grown);
    const result = flow.run([...seeds].map(([i, order]) => [this.producers[i]!.value, this.seedPerm(i, order)]));
    const out = new Map<number, Int32Array>();
    for (const [value, perm] of result.values) {
      const i = this.index.get(value);
      if (i === undefined) continue;
      const p = this.producers[i]!;
      const onAxis = perm.axes.length === 1 && perm.axes[0] === p.axis ? perm : undefined;
      if (!onAxis) throw new FlowFailure(`'${value}' would move along more than its channel axis`);
      out.set(i, onAxis.order);
    }
    return out;
  }

  /** The flow of a full assignment (used to rewrite the model). */
  flow(seeds: Map<number, Int32Array>) {
    const flow = new Flow(this.model, this.shapes, this.grown);
    return flow.run([...seeds].map(([i, order]) => [this.producers[i]!.value, this.seedPerm(i, order)]));
  }

  private seedPerm(i: number, order: Int32Array): AxisPerm {
    const p = this.producers[i]!;
    return { axes: [p.axis], sizes: [p.channels], order };
  }

  /** Pools of producer `base`, tried from one pool of all its channels down to head-sized blocks. */
  analyse(base: number, covered: Set<number>): BaseAnalysis {
    const n = this.producers[base]!.channels;
    const divisors = Array.from({ length: n }, (_, i) => n - i).filter((b) => b >= 2 && n % b === 0);
    let firstFailure: string | null = null;
    const pools: Pool[] = [];
    let block = 0;
    for (const b of divisors) {
      const r = this.pool(base, Array.from({ length: b }, (_, i) => [i]));
      if (typeof r === 'string') {
        firstFailure ??= r;
        continue;
      }
      block = b;
      pools.push(r);
      break;
    }
    if (!block) return { base, pools, pinned: firstFailure ?? 'fewer than 2 channels', structure: 'none' };
    const mark = (pool: Pool) => pool.units.flat().forEach((g) => covered.add(g));
    mark(pools[0]!);
    for (let k = 1; k < n / block; k++) {
      if (covered.has(base * STRIDE + k * block)) continue;
      const r = this.pool(base, Array.from({ length: block }, (_, i) => [k * block + i]));
      if (typeof r !== 'string') {
        pools.push(r);
        mark(r);
      }
    }
    const inner = pools.length;
    if (block < n) this.blockPools(base, block, pools);
    const heads = pools.length - inner;
    const structure = block === n ? `${n} channels, one pool` : `${inner} pools of ${block} channels${heads ? `, ${heads} pools of ${block}-channel blocks` : ''}`;
    return { base, pools, pinned: null, structure };
  }

  /** Blocks of `block` channels as units of larger pools (attention heads moved whole). */
  private blockPools(base: number, block: number, pools: Pool[]): void {
    const n = this.producers[base]!.channels;
    const seen = new Set<number>();
    const sizes = Array.from({ length: n / block }, (_, i) => n - i * block).filter((s) => s > block && n % s === 0 && s % block === 0);
    for (const size of sizes) {
      let found = false;
      for (let start = 0; start < n; start += size) {
        if (seen.has(start)) continue;
        const units = Array.from({ length: size / block }, (_, u) => Array.from({ length: block }, (_, i) => start + u * block + i));
        const r = this.pool(base, units);
        if (typeof r === 'string') continue;
        found = true;
        pools.push({ ...r, block });
        // Blocks of this producer reached through ties are not tried again.
        for (const g of r.units.flat()) if (Math.floor(g / STRIDE) === base) seen.add(Math.floor((g % STRIDE) / size) * size);
      }
      if (found) return;
    }
  }

  /**
   * Units of a pool of producer `base` (each a list of its channels, aligned) with the channels
   * tied to them, or why the pool's permutations do not keep the function.
   */
  pool(base: number, baseUnits: number[][]): Pool | string {
    const m = baseUnits.length;
    const n = this.producers[base]!.channels;
    const swap = Int32Array.from({ length: n }, (_, i) => i);
    const cycle = Int32Array.from({ length: n }, (_, i) => i);
    baseUnits[0]!.forEach((c, k) => {
      swap[c] = baseUnits[1]![k]!;
      swap[baseUnits[1]![k]!] = c;
    });
    // The content of unit i moves to unit i + 1: new position u_{i+1}[k] holds old u_i[k].
    baseUnits.forEach((u, i) => u.forEach((c, k) => (cycle[baseUnits[(i + 1) % m]![k]!] = c)));
    let cs: Map<number, Int32Array>;
    let cz: Map<number, Int32Array>;
    try {
      cs = this.closure(new Map([[base, swap]]));
      cz = m > 2 ? this.closure(new Map([[base, cycle]])) : cs;
    } catch (e) {
      if (e instanceof FlowFailure) return e.message;
      throw e;
    }
    // Orbits of the cycle's closure: each a list of m global channels, content flowing along it.
    const orbits: number[][] = [];
    const inOrbit = new Set<number>();
    for (const [pi, order] of cz) {
      const inv = new Int32Array(order.length);
      order.forEach((old, y) => (inv[old] = y));
      for (let s = 0; s < order.length; s++) {
        if (order[s] === s || inOrbit.has(pi * STRIDE + s)) continue;
        const orbit: number[] = [];
        for (let x = s; orbit.length <= m; x = inv[x]!) {
          if (orbit.length && x === s) break;
          orbit.push(pi * STRIDE + x);
        }
        if (orbit.length !== m) return 'the permutation does not carry over whole to the channels tied to it';
        orbit.forEach((g) => inOrbit.add(g));
        orbits.push(orbit);
      }
    }
    // Align each orbit so that the swap's closure exchanges its positions 0 and 1.
    const swapped = (g: number) => {
      const o = cs.get(Math.floor(g / STRIDE));
      return o ? Math.floor(g / STRIDE) * STRIDE + o[g % STRIDE]! : g;
    };
    const units: number[][] = Array.from({ length: m }, () => []);
    let explained = 0;
    for (const orbit of orbits) {
      let r = -1;
      for (let k = 0; k < m && r < 0; k++) if (swapped(orbit[k]!) === orbit[(k + 1) % m] && swapped(orbit[(k + 1) % m]!) === orbit[k]) r = k;
      if (r < 0) return 'the channels tied to the pool do not follow its swaps';
      explained += 2;
      orbit.forEach((_, i) => units[i]!.push(orbit[(r + i) % m]!));
    }
    let movedBySwap = 0;
    for (const [, order] of cs) order.forEach((v, i) => (movedBySwap += v !== i ? 1 : 0));
    if (movedBySwap !== explained) return 'the swap moves channels outside the pool';
    return { units, base, block: 1 };
  }
}
