// The model's constant data and parameter structs as the emitters ask for them: flash arrays
// deduplicated by content (with the bytes each layer adds), file-scope parameter structs, and
// the local pointer names of the run-time tensors the body uses.

import { createHash } from 'node:crypto';
import { cArrayBody, cIdent, CTYPE_BYTES, shortName, type CType } from '../c-text.js';
import type { ConstKind } from '../emitters/index.js';
import { shapeText } from '../emitters/common.js';
import { tensorOf, type LGraph } from '../graph.js';
import type { ModelPlan } from './plan.js';

export interface ConstEntry {
  symbol: string;
  ctype: CType;
  count: number;
  body: string;
  comment: string;
  kind: ConstKind;
}

export type FlashBytes = { tiles: number; scales: number; weights: number; total: number };

const constCType = (dtype: string): CType => (dtype === 'uint8' ? 'uint8_t' : dtype === 'int64' ? 'int64_t' : dtype === 'int32' ? 'int32_t' : 'float');

export class ModelConstants {
  /** Content hash → array. */
  readonly consts = new Map<string, ConstEntry>();
  /** `static const` parameter struct definitions, in order. */
  readonly defs: string[] = [];
  /** Run-time tensor → its local pointer variable in the run function. */
  readonly locals = new Map<string, string>();
  /** Flash bytes added since the last resetLayer(). */
  layerFlash = 0;

  constructor(
    private readonly g: LGraph,
    private readonly name: string,
    private readonly plan: ModelPlan,
  ) {}

  resetLayer(): void {
    this.layerFlash = 0;
  }

  constArray = (hint: string, ctype: CType, data: ArrayLike<number | bigint>, comment: string, kind: ConstKind = 'weight'): string => {
    const body = cArrayBody(ctype, data);
    const key = createHash('sha1').update(ctype).update(body).digest('hex');
    const hit = this.consts.get(key);
    if (hit) return hit.symbol;
    const symbol = this.plan.idents.fresh(`${this.name}_${cIdent(shortName(hint))}`);
    this.consts.set(key, { symbol, ctype, count: data.length, body, comment, kind });
    this.layerFlash += data.length * CTYPE_BYTES[ctype];
    return symbol;
  };

  /** A constant's flash array, a caller buffer's parameter, or a run-time tensor's local. */
  ptr = (v: string): string => {
    const t = tensorOf(this.g, v);
    if (t.data) return this.constArray(v, constCType(t.dtype), t.data, `${v} ${shapeText(t.shape)}`);
    if (this.plan.param.has(v)) return this.plan.param.get(v)!;
    let local = this.locals.get(v);
    if (!local) {
      local = this.plan.idents.fresh(this.plan.label(v));
      this.locals.set(v, local);
    }
    return local;
  };

  define = (hint: string, ctype: string, init: string): string => {
    const id = this.plan.idents.fresh(`${shortName(hint)}_params`);
    this.defs.push(`static const ${ctype} ${id} = ${init};`);
    return id;
  };

  flash(): FlashBytes {
    const flash = { tiles: 0, scales: 0, weights: 0, total: 0 };
    for (const c of this.consts.values()) {
      const b = c.count * CTYPE_BYTES[c.ctype];
      flash[c.kind === 'tile' ? 'tiles' : c.kind === 'scale' ? 'scales' : 'weights'] += b;
      flash.total += b;
    }
    return flash;
  }
}
