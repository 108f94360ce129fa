// Text for the per-output task metrics of `tbn verify` and the end of `tbn compress`: the
// metric that fits what the output is (metrics.ts), against the original and against the truth.

import type { OutputAgreement } from '../verify/compare.js';

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** The task metric against the original model. */
export function agreementText(o: OutputAgreement): string {
  if (o.top1Agreement !== null) return `top-1 agreement ${pct(o.top1Agreement)}`;
  if (o.sequence) return `CER ${pct(o.sequence.cer)}, identical sequences ${pct(o.sequence.agreement)}`;
  if (o.embedding) {
    const nn = o.embedding.nearestNeighbourAgreement;
    return `mean cosine ${o.embedding.meanCosine.toFixed(4)}${nn === null ? '' : `, nearest-neighbour agreement ${pct(nn)} (${o.embedding.neighbourRows} samples)`}`;
  }
  if (o.dense) return o.dense.threshold === null ? `mean IoU ${o.dense.iou.toFixed(4)} (argmax over ${o.dense.classes} classes)` : `IoU ${o.dense.iou.toFixed(4)} (p > ${o.dense.threshold})`;
  if (o.regression) return `relative MSE ${o.regression.relativeMse.toExponential(3)}`;
  return '-';
}

/** The task metric of both models against the data's labels, text or targets. */
export function truthText(o: OutputAgreement): string {
  if (o.accuracy) return `accuracy ${pct(o.accuracy.original)} → ${pct(o.accuracy.compressed)}`;
  const t = o.sequence?.truth;
  if (t) return `CER ${pct(t.cerOriginal)} → ${pct(t.cerCompressed)}, exact ${pct(t.exactOriginal)} → ${pct(t.exactCompressed)}`;
  const d = o.dense?.truth;
  if (d) return `IoU ${d.iouOriginal.toFixed(4)} → ${d.iouCompressed.toFixed(4)}`;
  const r = o.regression?.target;
  if (r) return `MSE ${r.mseOriginal.toExponential(3)} → ${r.mseCompressed.toExponential(3)}`;
  return '-';
}
