// Discovery of the ONNX project's backend test cases (Debian's libonnx-testdata): each case is
// a folder with model.onnx and test_data_set_*/{input,output}_N.pb. A case is runnable when
// tbn's interpreter supports every node (checkSupport) and every graph input and output is
// float32, int64, int32 or bool — types it computes in exactly (int32 as int64, written back).

import fs from 'node:fs';
import path from 'node:path';
import { checkSupport } from '../../src/interp/index.js';
import type { Model } from '../../src/ir/types.js';
import { decodeTensor } from '../../src/onnx/proto.js';
import { readTensor } from '../../src/onnx/read.js';
import { loadModel } from '../../src/onnx/file.js';
import type { HostTensor } from '../../src/util/host-tensor.js';

export const DATA_ROOT = process.env.ONNX_TESTDATA ?? '/usr/share/libonnx-testdata/data';
export const SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'] as const;
const EXACT_TYPES = new Set(['float32', 'int64', 'int32', 'bool']);

export interface Case {
  suite: string;
  name: string;
  dir: string;
  /** Why the case is not run, when it is not. */
  skip?: string;
  model?: Model;
}

export function listCases(): Case[] {
  const out: Case[] = [];
  for (const suite of SUITES) {
    const base = path.join(DATA_ROOT, suite);
    if (!fs.existsSync(base)) continue;
    for (const name of fs.readdirSync(base).sort()) {
      const dir = path.join(base, name);
      if (!fs.existsSync(path.join(dir, 'model.onnx'))) continue;
      out.push(classify({ suite, name, dir }));
    }
  }
  return out;
}

function classify(c: Case): Case {
  let model: Model;
  try {
    model = loadModel(path.join(c.dir, 'model.onnx')).model;
  } catch (e) {
    return { ...c, skip: `unreadable: ${(e as Error).message.split('\n')[0]}` };
  }
  try {
    checkSupport(model);
  } catch (e) {
    return { ...c, skip: (e as Error).message };
  }
  const inits = new Set(model.graph.initializers.map((t) => t.name));
  for (const v of [...model.graph.inputs.filter((i) => !inits.has(i.name)), ...model.graph.outputs]) {
    const t = v.type;
    if (t?.kind !== 'tensor' || !t.elemType) return { ...c, skip: `'${v.name}' is not a plain tensor` };
    if (!EXACT_TYPES.has(t.elemType)) return { ...c, skip: `'${v.name}' is ${t.elemType}` };
  }
  return { ...c, model };
}

function readPb(file: string): HostTensor {
  const t = readTensor(decodeTensor(fs.readFileSync(file)), {}, file);
  return { dtype: t.dtype, dims: t.dims, data: t.data as HostTensor['data'] };
}

export interface DataSet {
  inputs: HostTensor[];
  outputs: HostTensor[];
}

export function dataSets(c: Case): DataSet[] {
  return fs
    .readdirSync(c.dir)
    .filter((d) => d.startsWith('test_data_set_'))
    .sort()
    .map((d) => {
      const files = fs.readdirSync(path.join(c.dir, d));
      const pick = (prefix: string) =>
        files
          .filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
          .sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]))
          .map((f) => readPb(path.join(c.dir, d, f)));
      return { inputs: pick('input_'), outputs: pick('output_') };
    });
}
