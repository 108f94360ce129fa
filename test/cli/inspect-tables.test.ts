// `tbn inspect` lists embedding tables (Gather of rows of a constant table) as tileable layers,
// with the embedding dimension as their output axis (issue 18).
import { describe, expect, it } from 'vitest';
import { modelPath } from '../helpers/fixtures.js';
import { tbn } from './run.js';

describe('tbn inspect on a transformer', () => {
  it('lists the token and position embedding tables', async () => {
    const r = await tbn('inspect', modelPath('transformer-variants/text-nofold-opset17-dynamic.onnx'), '--json');
    expect(r.code).toBe(0);
    const layers = JSON.parse(r.stdout).layers as { op: string; weight: string; shape: number[]; outDim: number }[];
    expect(layers.filter((l) => l.op === 'Gather')).toEqual([
      expect.objectContaining({ weight: 'tok.weight', shape: [64, 16], outDim: 16 }),
      expect.objectContaining({ weight: 'pos.weight', shape: [16, 16], outDim: 16 }),
    ]);
    const table = await tbn('inspect', modelPath('transformer-variants/text-nofold-opset17-dynamic.onnx'));
    expect(table.stdout).toMatch(/\/tok\/Gather\s+Gather\s+tok\.weight\s+64×16/);
  });
});
