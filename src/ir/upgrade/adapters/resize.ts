// Upsample and Resize. Upsample's scales attribute became an input at 9, and Upsample was
// deprecated at 10 in favour of Resize-10 (same inputs, same semantics). Resize-11 added the
// roi input and the coordinate transformation and nearest-rounding modes; Resize-10 computed
// with 'asymmetric' coordinates and rounded down (as onnxruntime's Resize-10 and Upsample do),
// so those are written explicitly instead of taking Resize-11's defaults.

import { attr } from '../../build.js';
import { floats, stem, str, without, type Adapter } from './common.js';

/** Upsample-7 → 9: scales attribute → input. */
const upsample9: Adapter = (n, ctx) => {
  const scales = floats(n, 'scales') ?? ctx.refuse('Upsample-7 without scales');
  return [{ ...n, inputs: [n.inputs[0]!, ctx.floats(`${stem(n)}_scales`, scales)], attributes: without(n, 'scales') }];
};

/** Upsample-9 → Resize-10 (Upsample is deprecated from opset 10 on). */
const upsampleToResize: Adapter = (n, ctx) => {
  const mode = str(n, 'mode') ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'linear') ctx.refuse(`mode '${mode}'`);
  return [{ ...n, opType: 'Resize', attributes: [attr.string('mode', mode)] }];
};

/**
 * Resize-10 rounds a source coordinate down when it upsamples an axis and up when it
 * downsamples one (onnxruntime's and the ONNX backend tests' Resize-10); Resize-11 has one
 * rounding for all axes, so constant scales that both up- and downsample are refused.
 */
function legacyRounding(scales: number[] | undefined, refuse: (r: string) => never): 'floor' | 'ceil' {
  if (!scales) return 'floor';
  const up = scales.some((s) => s > 1);
  const down = scales.some((s) => s < 1);
  if (up && down) refuse(`nearest scales [${scales.join(', ')}] enlarge some axes and shrink others; Resize-11 rounds all axes one way`);
  return down ? 'ceil' : 'floor';
}

/** Resize-10 → 11: roi input (empty) before scales; Resize-10's coordinates and rounding made explicit. */
const resize11: Adapter = (n, ctx) => {
  const mode = str(n, 'mode') ?? 'nearest';
  const scales = n.inputs[1] ?? '';
  const inputs = [n.inputs[0]!, ctx.emptyFloats(`${stem(n)}_roi`), scales];
  const modes = [attr.string('coordinate_transformation_mode', 'asymmetric')];
  if (mode === 'nearest') modes.push(attr.string('nearest_mode', legacyRounding(ctx.constantValues(scales), (r) => ctx.refuse(r))));
  return [{ ...n, inputs, attributes: [...without(n, 'coordinate_transformation_mode', 'nearest_mode'), ...modes] }];
};

/** Resize-11 → 13: 'tf_half_pixel_for_nn' has no equivalent in Resize-13. */
const resize13: Adapter = (n, ctx) => {
  if (str(n, 'coordinate_transformation_mode') === 'tf_half_pixel_for_nn') ctx.refuse("coordinate_transformation_mode 'tf_half_pixel_for_nn' was removed at opset 13");
  return undefined;
};

export const RESIZE_ADAPTERS: Record<string, Adapter> = {
  'Upsample@9': upsample9,
  'Upsample@10': upsampleToResize,
  'Resize@11': resize11,
  'Resize@13': resize13,
};
