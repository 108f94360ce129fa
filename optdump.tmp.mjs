import ort from 'onnxruntime-node';
const [file, out] = process.argv.slice(2);
const s = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', optimizedModelFilePath: out, intraOpNumThreads: 1 });
console.log('ok', s.inputNames);
