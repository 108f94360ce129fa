#!/usr/bin/env python3
"""Runs compressed (ai.tbn custom-op form) models on onnxruntime's CUDAExecutionProvider with
tbn's custom-op library registered, and reports where every ai.tbn node ran (from onnxruntime's
profile) plus the outputs. Driven by test/gpu/ort-cuda-ep.test.ts; also usable by hand on a GPU
machine with a CUDA build of onnxruntime (pip onnxruntime-gpu, or the Python onnxruntime that
has CUDAExecutionProvider):

    python3 test/gpu/ort_cuda_ep.py build/Release/libtbn_ort_ops.so manifest.json out_dir

manifest.json: {"models": [{"name", "model", "inputs": [{"name", "dtype", "dims", "file"}]}]},
each input a raw little-endian file. Prints one JSON document: {"results": [{"name",
"placement": {op: [providers]}, "outputs": [{"name", "dims", "file"}]}]} or {"skip": reason}.
CUDA/cuDNN from the nvidia-* Python wheels are loaded with onnxruntime.preload_dlls() when this
onnxruntime has it (else put their lib folders on LD_LIBRARY_PATH)."""
import json
import os
import sys


def main() -> int:
    lib, manifest_path, out_dir = sys.argv[1:4]
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        print(json.dumps({"skip": f"python onnxruntime/numpy not importable: {e}"}))
        return 0
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        print(json.dumps({"skip": f"onnxruntime {ort.__version__} has no CUDAExecutionProvider"}))
        return 0
    if hasattr(ort, "preload_dlls"):
        ort.preload_dlls()
    with open(manifest_path) as f:
        manifest = json.load(f)
    results = []
    for m in manifest["models"]:
        so = ort.SessionOptions()
        so.register_custom_ops_library(lib)
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(out_dir, f"profile-{m['name']}")
        sess = ort.InferenceSession(m["model"], so, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
        feeds = {i["name"]: np.fromfile(i["file"], dtype=i["dtype"]).reshape(i["dims"]) for i in m["inputs"]}
        outs = sess.run(None, feeds)
        with open(sess.end_profiling()) as f:
            events = json.load(f)
        placement: dict = {}
        for e in events:
            args = e.get("args", {})
            if e.get("cat") == "Node" and str(args.get("op_name", "")).startswith("Tbn"):
                placement.setdefault(args["op_name"], set()).add(args.get("provider", "?"))
        files = []
        for meta, value in zip(sess.get_outputs(), outs):
            path = os.path.join(out_dir, f"{m['name']}-{meta.name}.bin".replace("/", "_"))
            np.ascontiguousarray(value, dtype=np.float32).tofile(path)
            files.append({"name": meta.name, "dims": list(value.shape), "file": path})
        results.append({"name": m["name"], "placement": {k: sorted(v) for k, v in placement.items()}, "outputs": files})
    print(json.dumps({"results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
