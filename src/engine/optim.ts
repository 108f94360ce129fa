// Optimisers and learning-rate schedules. Adam/AdamW keep their moments as backend buffers
// and update each parameter with one backend call (in place). Schedules map a 0-based step to
// a learning rate: cosine with linear warm-up, and PyTorch's OneCycleLR (cosine annealing).

import { keep } from './scope.js';
import { zeros, type Tensor } from './tensor.js';

export type Schedule = (step: number) => number;

export interface AdamOptions {
  lr: number | Schedule;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class Adam {
  private readonly moments = new Map<Tensor, { m: Tensor; v: Tensor }>();
  /** Updates taken so far. */
  stepCount = 0;
  protected decoupled = false;

  constructor(
    readonly params: readonly Tensor[],
    readonly options: AdamOptions,
  ) {
    for (const p of params) {
      if (!p.requiresGrad || p.gradFn) throw new Error(`${p} is not a trainable leaf (set requiresGrad on a parameter)`);
    }
  }

  /** Learning rate the next step() will use. */
  get lr(): number {
    const lr = this.options.lr;
    return typeof lr === 'number' ? lr : lr(this.stepCount);
  }

  step(): void {
    const [beta1, beta2] = this.options.betas ?? [0.9, 0.999];
    const p = { lr: this.lr, beta1, beta2, eps: this.options.eps ?? 1e-8, step: ++this.stepCount, weightDecay: this.options.weightDecay ?? (this.decoupled ? 0.01 : 0), decoupled: this.decoupled };
    for (const w of this.params) {
      if (!w.grad) continue;
      let st = this.moments.get(w);
      if (!st) {
        st = { m: keep(zeros(w.shape)), v: keep(zeros(w.shape)) };
        this.moments.set(w, st);
      }
      w.backend.adam(w.buf, w.grad.buf, st.m.buf, st.v.buf, p);
    }
  }

  zeroGrad(): void {
    for (const w of this.params) {
      w.grad?.dispose();
      w.grad = undefined;
    }
  }

  /** Frees the moment buffers (and the parameters' gradients). */
  dispose(): void {
    this.zeroGrad();
    for (const { m, v } of this.moments.values()) {
      m.dispose();
      v.dispose();
    }
    this.moments.clear();
  }
}

/** Adam with decoupled weight decay (default 0.01), as torch.optim.AdamW. */
export class AdamW extends Adam {
  constructor(params: readonly Tensor[], options: AdamOptions) {
    super(params, options);
    this.decoupled = true;
  }
}

/** Linear warm-up from lr/warmup to lr, then cosine decay to minLr at totalSteps. */
export function cosineSchedule(o: { lr: number; totalSteps: number; warmupSteps?: number; minLr?: number }): Schedule {
  const warm = o.warmupSteps ?? 0;
  const min = o.minLr ?? 0;
  return (step) => {
    if (step < warm) return (o.lr * (step + 1)) / warm;
    const t = Math.min(1, (step - warm) / Math.max(1, o.totalSteps - warm));
    return min + ((o.lr - min) * (1 + Math.cos(Math.PI * t))) / 2;
  };
}

/**
 * torch.optim.lr_scheduler.OneCycleLR (anneal 'cos', two phases): from maxLr/divFactor up to
 * maxLr over the first pctStart of the steps, then down to maxLr/divFactor/finalDivFactor.
 */
export function oneCycleSchedule(o: { maxLr: number; totalSteps: number; pctStart?: number; divFactor?: number; finalDivFactor?: number }): Schedule {
  const initial = o.maxLr / (o.divFactor ?? 25);
  const min = initial / (o.finalDivFactor ?? 1e4);
  const peak = (o.pctStart ?? 0.3) * o.totalSteps - 1;
  const end = o.totalSteps - 1;
  const cos = (from: number, to: number, pct: number) => to + ((from - to) / 2) * (1 + Math.cos(Math.PI * pct));
  return (step) => {
    const s = Math.min(step, end);
    if (s <= peak) return cos(initial, o.maxLr, peak > 0 ? s / peak : 1);
    return cos(o.maxLr, min, (s - peak) / Math.max(1e-12, end - peak));
  };
}
