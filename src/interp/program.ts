// A compiled model: run it on feeds to get engine tensors that can be backpropagated; mark
// weights trainable; replace a weight value by a differentiable function of anything
// (setProducer: the hook the TBN parametrisation plugs into); capture intermediate values;
// run BatchNormalization on batch statistics. Each run is one tidy() scope, and intermediates
// are disposed as soon as their last reader has run.

import * as E from '../engine/index.js';
import { failIn, UserError } from '../errors.js';
import type { ElementType } from '../ir/dtype.js';
import type { Model } from '../ir/types.js';
import type { HostTensor } from '../util/host-tensor.js';
import { engineType, fromHost, toHost } from './host.js';
import { disposePlan, makePlan, type Plan, type Step } from './plan.js';
import type { BatchStats, RunContext } from './registry.js';

/** Builds a weight value from its original value (or from anything else it closes over). */
export type Producer = (original: E.Tensor) => E.Tensor;

export interface RunOptions {
  /** BatchNormalization normalises with batch statistics, reported in RunResult.batchStats. */
  batchStats?: boolean;
  /** Intermediate values to return too (they are kept alive for this). */
  capture?: readonly string[];
}

export interface RunResult {
  /** Graph outputs by name; the caller owns (and disposes) them. */
  outputs: Record<string, E.Tensor>;
  /** Captured values by name; owned by the caller. */
  values: Record<string, E.Tensor>;
  /** Node name → batch statistics (RunOptions.batchStats). */
  batchStats: Map<string, BatchStats>;
  /** Nodes this run executed (folded and cached shape-only nodes are not). */
  stepsRun: number;
}

export interface PlanInfo {
  /** Nodes run on every call, by key (name, or '#index (output)'). */
  dynamic: string[];
  /** Of those, the ones skipped when the input shapes were seen before. */
  shapeOnly: string[];
  /** Nodes evaluated once at planning (constant folding). */
  folded: number;
  /** Input-shape signatures whose shape-only values are cached. */
  cachedShapes: number;
}

export interface InputInfo {
  name: string;
  dtype: ElementType;
  /** -1 where dynamic; undefined when the model gives no shape. */
  dims?: number[];
}

const CACHE_SIGNATURES = 4;

export class Program {
  private readonly params = new Map<string, E.Tensor>();
  private readonly producers = new Map<string, Producer>();
  private plan_: Plan | undefined;
  private readonly shapeCache = new Map<string, Map<string, E.Tensor>>();
  private disposed = false;

  constructor(
    readonly model: Model,
    readonly opset: number,
    private readonly steps: readonly Step[],
    /** Initializers as engine tensors (owned). */
    private readonly constants: Map<string, E.Tensor>,
    readonly inputs: readonly InputInfo[],
    readonly outputNames: readonly string[],
    /** Values computed from constants alone (what may be trained or given a producer). */
    private readonly constantValues: ReadonlySet<string>,
  ) {}

  /** Trainable parameters by value name (leaves with requiresGrad). */
  parameters(): Map<string, E.Tensor> {
    return new Map(this.params);
  }

  /** Makes weights trainable (copies of their values, updated by optimisers) or fixed again. */
  setTrainable(names: Iterable<string>, trainable = true): void {
    for (const name of names) {
      if (!trainable) {
        this.params.get(name)?.dispose();
        this.params.delete(name);
      } else if (!this.params.has(name)) {
        const v = this.constantValue(name);
        if (v.dtype !== 'float32') throw new UserError(`'${name}' is ${v.dtype}; only float weights can be trained`);
        const p = E.keep(E.parameter(v.toArray() as Float32Array, v.shape));
        this.params.set(name, p);
      }
    }
    this.invalidate();
  }

  /**
   * From now on, reads of weight `value` (by every node, or by `node` only) get
   * `producer(original)`, evaluated once per run. `value` must be computed from constants alone:
   * an initializer, a Constant's output, or Identity/Cast/Transpose/… of one. `original` is its
   * value as the model (or setTrainable) has it. Pass undefined to remove.
   */
  setProducer(value: string, producer: Producer | undefined, opts: { node?: string } = {}): void {
    if (!this.constantValues.has(value)) throw new UserError(`'${value}' is not a weight (a value computed from initializers and Constants alone)`);
    if (opts.node && !this.steps.some((s) => s.key === opts.node && s.inputs.includes(value))) throw new UserError(`no node '${opts.node}' reads '${value}'`);
    const key = opts.node ? `${opts.node}\u0000${value}` : value;
    if (producer) this.producers.set(key, producer);
    else this.producers.delete(key);
    this.invalidate();
  }

  /** The value of a weight as the model has it (after folding), without producers. */
  constantValue(name: string): E.Tensor {
    const v = this.plan().folded.get(name);
    if (!v) throw new UserError(`'${name}' is not a weight (a value computed from initializers and Constants alone)`);
    return v;
  }

  /** How the current plan runs the model (after folding), for reports and tests. */
  planInfo(): PlanInfo {
    const p = this.plan();
    return {
      dynamic: p.steps.map((s) => s.key),
      shapeOnly: p.steps.filter((s) => s.shapeOnly).map((s) => s.key),
      folded: this.steps.length - p.steps.length,
      cachedShapes: this.shapeCache.size,
    };
  }

  run(feeds: Record<string, HostTensor | E.Tensor>, opts: RunOptions = {}): RunResult {
    if (this.disposed) throw new Error('run() of a disposed program');
    const plan = this.plan();
    return E.tidy(() => new Run(this, plan, this.params, this.producers, this.shapeCache, feeds, opts).execute());
  }

  /** A run without gradients, with outputs converted to their declared ONNX types. */
  runHost(feeds: Record<string, HostTensor | E.Tensor>): Record<string, HostTensor> {
    const declared = new Map(this.model.graph.outputs.map((o) => [o.name, o.type?.kind === 'tensor' ? o.type.elemType : undefined]));
    return E.noGrad(() => {
      const { outputs } = this.run(feeds);
      const out: Record<string, HostTensor> = {};
      for (const [k, t] of Object.entries(outputs)) {
        out[k] = toHost(t, declared.get(k));
        t.dispose();
      }
      return out;
    });
  }

  dispose(): void {
    if (this.plan_) disposePlan(this.plan_);
    this.clearCache();
    for (const t of [...this.constants.values(), ...this.params.values()]) t.dispose();
    this.params.clear();
    this.disposed = true;
  }

  private plan(): Plan {
    if (!this.plan_) {
      const live = new Set([...this.params.keys(), ...[...this.producers.keys()].map((k) => k.split('\u0000').pop()!)]);
      this.plan_ = makePlan(this.steps, this.constants, live, labelError);
    }
    return this.plan_;
  }

  private invalidate(): void {
    if (this.plan_) disposePlan(this.plan_);
    this.plan_ = undefined;
    this.clearCache();
  }

  private clearCache(): void {
    for (const m of this.shapeCache.values()) for (const t of m.values()) t.dispose();
    this.shapeCache.clear();
  }

  /** @internal */
  static cacheLimit = CACHE_SIGNATURES;
}

export function labelError(s: Step, e: unknown): Error {
  if (e instanceof UserError) return e;
  return new UserError(`${s.label}: ${e instanceof Error ? e.message : String(e)}`);
}

/** One execution of a plan (inside the caller's tidy scope). */
class Run {
  private readonly env = new Map<string, E.Tensor>();
  private readonly produced = new Map<string, E.Tensor>();
  private readonly rt: RunContext;
  private readonly pinned: Set<string>;

  constructor(
    private readonly program: Program,
    private readonly plan: Plan,
    private readonly params: ReadonlyMap<string, E.Tensor>,
    private readonly producers: ReadonlyMap<string, Producer>,
    private readonly cache: Map<string, Map<string, E.Tensor>>,
    private readonly feeds: Record<string, HostTensor | E.Tensor>,
    private readonly opts: RunOptions,
  ) {
    this.rt = { batchStats: !!opts.batchStats, bnStats: new Map(), nodeName: '' };
    this.pinned = new Set([...program.outputNames, ...(opts.capture ?? [])]);
  }

  execute(): RunResult {
    const signature = this.bindFeeds();
    const cached = this.cache.get(signature);
    const fresh = cached ? undefined : new Map<string, E.Tensor>();
    const uses = new Map(cached ? this.plan.usesDynamic : this.plan.usesAll);
    let stepsRun = 0;
    // Relu steps whose input step ran fused with them (their input never exists).
    const fusedAway = new Set<number>();
    for (const step of this.plan.steps) {
      if ((cached && step.shapeOnly) || fusedAway.has(step.index)) continue;
      stepsRun++;
      const ins = step.inputs.map((n) => (n ? this.resolve(n, step.key, cached) : undefined));
      this.rt.nodeName = step.key;
      // Fused only where nothing else may read the intermediate value (a capture, batch statistics).
      const fused = step.fusedRelu && !this.rt.batchStats && !this.pinned.has(step.outputs[0]!) ? step.fusedRelu : undefined;
      let outs: (E.Tensor | undefined)[];
      try {
        outs = E.tidy(() => (fused ?? step).kernel(ins, this.rt));
      } catch (e) {
        throw labelError(step, e);
      }
      if (fused) fusedAway.add(fused.relu);
      (fused ? [fused.output] : step.outputs).forEach((o, i) => {
        let t = outs[i];
        if (!o || !t) return void t?.dispose();
        // A kernel handing back one of its inputs gets a handle of its own (released separately).
        if (ins.includes(t) || this.plan.folded.get(o) === t) t = E.identity(t);
        this.env.set(o, t);
        if (fresh && step.shapeOnly) fresh.set(o, E.keep(t.alias()));
      });
      outs.slice(step.outputs.length).forEach((t) => t?.dispose());
      for (const n of step.inputs) if (n) this.release(n, uses);
    }
    if (fresh) this.remember(signature, fresh);
    const pick = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, E.identity(this.resolve(n, '', cached))]));
    return { outputs: pick(this.program.outputNames), values: pick(this.opts.capture ?? []), batchStats: this.rt.bnStats, stepsRun };
  }

  /** Converts and checks the feeds; returns the input-shape signature. */
  private bindFeeds(): string {
    const expected = new Map(this.program.inputs.map((i) => [i.name, i]));
    const unknown = Object.keys(this.feeds).filter((k) => !expected.has(k));
    if (unknown.length) throw new UserError(`unknown input${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; the model takes ${[...expected.keys()].map((k) => `'${k}'`).join(', ')}`);
    const missing = [...expected.keys()].filter((k) => !(k in this.feeds));
    if (missing.length) throw new UserError(`missing input${missing.length > 1 ? 's' : ''} ${missing.map((k) => `'${k}'`).join(', ')}`);
    const parts: string[] = [];
    for (const [name, spec] of expected) {
      const f = this.feeds[name]!;
      const t = f instanceof E.Tensor ? f : fromHost(f);
      const dims = spec.dims;
      if (dims && (t.rank !== dims.length || dims.some((d, i) => d > 0 && d !== t.shape[i]))) {
        throw new UserError(`input '${name}' has shape [${t.shape}], the model expects [${dims.map((d) => (d > 0 ? d : '?'))}]`);
      }
      const want = engineType(spec.dtype);
      if (want && t.dtype !== want) throw new UserError(`input '${name}' is ${f instanceof E.Tensor ? t.dtype : f.dtype}, the model expects ${spec.dtype}`);
      this.env.set(name, t);
      parts.push(`${name}:${t.shape.join('x')}`);
    }
    return parts.join(';');
  }

  private resolve(name: string, nodeKey: string, cached: Map<string, E.Tensor> | undefined): E.Tensor {
    const key = nodeKey && this.producers.has(`${nodeKey}\u0000${name}`) ? `${nodeKey}\u0000${name}` : this.producers.has(name) ? name : undefined;
    if (key) return this.produce(key, name, cached);
    return this.base(name, cached) ?? failIn(`value '${name}'`, 'not available (no node computes it and it is not a graph input)');
  }

  private base(name: string, cached: Map<string, E.Tensor> | undefined): E.Tensor | undefined {
    return this.params.get(name) ?? this.env.get(name) ?? cached?.get(name) ?? this.plan.folded.get(name);
  }

  private produce(key: string, name: string, cached: Map<string, E.Tensor> | undefined): E.Tensor {
    let t = this.produced.get(key);
    if (!t) {
      const original = this.base(name, cached) ?? failIn(`value '${name}'`, 'not available (no node computes it and it is not a graph input)');
      t = this.producers.get(key)!(original);
      if (t.shape.join() !== original.shape.join() || t.dtype !== original.dtype) {
        throw new UserError(`the producer of '${name}' gave ${t.dtype}[${t.shape}], not ${original.dtype}[${original.shape}]`);
      }
      this.produced.set(key, t);
    }
    return t;
  }

  private release(name: string, uses: Map<string, number>): void {
    const left = (uses.get(name) ?? 0) - 1;
    uses.set(name, left);
    if (left > 0 || this.pinned.has(name)) return;
    const t = this.env.get(name);
    if (t && !(this.feeds[name] instanceof E.Tensor)) {
      t.dispose();
      this.env.delete(name);
    }
  }

  private remember(signature: string, values: Map<string, E.Tensor>): void {
    if (this.cache.size >= Program.cacheLimit) {
      const oldest = this.cache.keys().next().value!;
      for (const t of this.cache.get(oldest)!.values()) t.dispose();
      this.cache.delete(oldest);
    }
    this.cache.set(signature, values);
  }
}

