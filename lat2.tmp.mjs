import ort from 'onnxruntime-node';
const files = process.argv.slice(2);
const sessions = await Promise.all(files.map((f) => ort.InferenceSession.create(f, { intraOpNumThreads: 1, interOpNumThreads: 1 })));
for (const batch of [1, 64]) {
  const x = new ort.Tensor('int64', BigInt64Array.from({ length: batch * 16 }, () => BigInt(Math.floor(Math.random() * 512))), [batch, 16]);
  const best = files.map(() => Infinity);
  for (let round = 0; round < 5; round++) for (let i = 0; i < files.length; i++) {
    const times = [];
    for (let k = 0; k < (batch === 1 ? 300 : 30); k++) { const t = performance.now(); await sessions[i].run({ ids: x }); times.push(performance.now() - t); }
    times.sort((a, b) => a - b);
    best[i] = Math.min(best[i], times[times.length >> 1]);
  }
  console.log(`batch ${batch}: ` + files.map((f, i) => `${f.split('/').pop()} ${best[i].toFixed(3)} ms`).join(', '));
}
