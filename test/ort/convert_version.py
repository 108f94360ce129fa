"""Converts ONNX models with python onnx.version_converter for test/ort/upgrade.test.ts.

Arguments: triples of (source model, target opset, output file). Prints one line per model:
"ok" or "failed: <reason>".
"""
import sys

import onnx
from onnx import version_converter

args = sys.argv[1:]
for src, target, dst in zip(args[0::3], args[1::3], args[2::3]):
    try:
        onnx.save(version_converter.convert_version(onnx.load(src), int(target)), dst)
        print("ok")
    except Exception as e:  # noqa: BLE001 - the message is the result
        print("failed: " + str(e).splitlines()[0])
