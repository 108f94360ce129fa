// The opset upgrade `tbn compress` makes before the custom format (whose ONNX function bodies
// need opset ≥ MIN_FUNCTION_OPSET), checked on the spot: the upgraded model must give the
// original's outputs in onnxruntime on the calibration data (or synthetic inputs) before any
// tiling. On a mismatch both models are run again with every intermediate value as an output,
// and the first node whose values differ is named.

import { UserError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { defaultOpset, nodeLabel, topoOrder } from '../ir/graph.js';
import type { Model } from '../ir/types.js';
import { describeUpgrade, upgradeOpset, type UpgradeReport } from '../ir/upgrade/index.js';
import { encodeModelInline } from '../onnx/file.js';
import { createOrtSession } from '../runtime/ort.js';
import { MIN_FUNCTION_OPSET } from '../tbn/format.js';
import { unprobe, withOutputs } from '../tbn/shapes.js';
import { widenToFloat32, type HostTensor } from '../util/host-tensor.js';
import { evalBatches } from '../verify/compare.js';

export interface UpgradeCheck {
  samples: number;
  synthetic: boolean;
  /** Largest difference between the two models' outputs (0 when they agree exactly). */
  maxAbsError: number;
}

export interface OpsetUpgrade extends UpgradeReport {
  /** The onnxruntime check; null when no inputs could be made (see the warnings). */
  check: UpgradeCheck | null;
}

export interface UpgradeInputs {
  data?: Dataset;
  shapes: Map<string, number[]>;
  seed: number;
  warn: (message: string) => void;
}

/** Samples the check runs on: enough to exercise every branch of an exported graph, quick. */
const CHECK_SAMPLES = 32;

/** Two outputs agree when they differ by no more than float rounding of reordered arithmetic. */
function maxDifference(wideA: HostTensor, wideB: HostTensor): number {
  // float16/bfloat16 values are compared as the float32 values they hold, not as their bits.
  const [a, b] = [widenToFloat32(wideA), widenToFloat32(wideB)];
  if (a.dims.join() !== b.dims.join()) return Infinity;
  const x = a.data as ArrayLike<number | bigint>;
  const y = b.data as ArrayLike<number | bigint>;
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(Number(x[i]) - Number(y[i]));
    worst = Number.isNaN(d) ? (Number.isNaN(Number(x[i])) && Number.isNaN(Number(y[i])) ? worst : Infinity) : Math.max(worst, d);
    scale = Math.max(scale, Math.abs(Number(x[i])));
  }
  return worst / scale;
}

const TOLERANCE = 1e-5;

/** The model at the opset the custom format needs (unchanged when it is there already), checked. */
export async function upgradeForCustomFormat(file: string, model: Model, inputs: UpgradeInputs): Promise<{ model: Model; upgrade: OpsetUpgrade | null }> {
  if ((defaultOpset(model) ?? 0) >= MIN_FUNCTION_OPSET) return { model, upgrade: null };
  const { model: upgraded, report } = upgradeOpset(model, MIN_FUNCTION_OPSET);
  const check = await checkUpgrade(file, model, upgraded, report, inputs);
  return { model: upgraded, upgrade: { ...report, check } };
}

async function checkUpgrade(file: string, original: Model, upgraded: Model, report: UpgradeReport, inputs: UpgradeInputs): Promise<UpgradeCheck | null> {
  const batches = [];
  try {
    for await (const b of evalBatches({ data: inputs.data, model: original, samples: CHECK_SAMPLES, seed: inputs.seed, shapes: inputs.shapes, batchSize: 16 })) batches.push(b);
  } catch (e) {
    inputs.warn(`the opset upgrade (${report.from} → ${report.to}) was not checked in onnxruntime: ${e instanceof Error ? e.message : e}`);
    return null;
  }
  const a = await createOrtSession(file, { threads: 1 });
  const b = await createOrtSession(encodeModelInline(upgraded), { threads: 1 }).catch(async (e: unknown) => {
    await a.release();
    throw new UserError(`the model converted to opset ${report.to} does not load in onnxruntime (${describeUpgrade(report)}): ${e instanceof Error ? e.message : e}`);
  });
  let worst = 0;
  let samples = 0;
  try {
    for (const { feeds, size } of batches) {
      const [ra, rb] = [await a.run(feeds), await b.run(feeds)];
      for (const name of a.outputNames) {
        const d = maxDifference(ra[name]!, rb[name]!);
        worst = Math.max(worst, d);
        if (d > TOLERANCE) {
          const where = await firstDifferingNode(original, upgraded, feeds);
          throw new UserError(
            `the model converted from opset ${report.from} to ${report.to} computes something else than the original ` +
              `(output '${name}' differs by ${d.toExponential(2)} relative${where ? `; first at ${where}` : ''}); ` +
              `convert it with onnx.version_converter and check it, or use --format expanded`,
          );
        }
      }
      samples += size;
    }
  } finally {
    await a.release();
    await b.release();
  }
  return { samples, synthetic: !inputs.data, maxAbsError: worst };
}

async function runExposed(model: Model, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const session = await createOrtSession(encodeModelInline(model), { threads: 1 });
  try {
    return unprobe(await session.run(feeds));
  } finally {
    await session.release();
  }
}

/** Runs both models with every value of the original main graph as an output; the first node (in order) whose outputs differ. */
async function firstDifferingNode(original: Model, upgraded: Model, feeds: Record<string, HostTensor>): Promise<string | undefined> {
  const produced = new Set(upgraded.graph.nodes.flatMap((n) => n.outputs));
  const order = topoOrder(original.graph);
  const values = order.flatMap((i) => original.graph.nodes[i]!.outputs.filter((o) => o && produced.has(o)));
  try {
    const [ra, rb] = [await runExposed(withOutputs(original, values), feeds), await runExposed(withOutputs(upgraded, values), feeds)];
    for (const i of order) {
      const n = original.graph.nodes[i]!;
      if (n.outputs.some((o) => ra[o] && rb[o] && maxDifference(ra[o]!, rb[o]!) > TOLERANCE)) return nodeLabel(n, i);
    }
  } catch {
    // The models cannot expose their values (a value onnxruntime cannot return): name the output only.
  }
  return undefined;
}
