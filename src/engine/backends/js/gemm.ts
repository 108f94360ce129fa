// Single-threaded GEMM for the JS backend: C[m×n] (+)= A[m×k]·B[k×n] over Float32Arrays with
// offsets. A is read through strides (so Aᵀ costs nothing); B is either row-major [k, n]
// (saxpy form, unrolled 4 over k so each C row load/store serves four products) or stored
// [n, k] (dot-product form, 4 columns at a time). Sums of four products are formed in float64
// before one float32 store.
// Speed note: once any ArrayBuffer in the process is detached (WebAssembly memory growth does
// it; Node's CommonJS lexer runs as WebAssembly when ESM imports a CommonJS package), V8 stops
// trusting typed-array lengths and every typed-array loop runs ~1.5× slower. Benchmarks are
// taken in that state, which is the one a real tbn process is in.

export interface GemmArgs {
  A: Float32Array;
  aOff: number;
  /** Element strides of A's row (i) and column (p) index. */
  aRow: number;
  aCol: number;
  B: Float32Array;
  bOff: number;
  /** B stored [n, k] (transposed) rather than [k, n]. */
  bT: boolean;
  C: Float32Array;
  cOff: number;
  m: number;
  n: number;
  k: number;
  /** C += A·B instead of C = A·B. */
  acc: boolean;
}

export function gemm(args: GemmArgs): void {
  // Small-integer sizes and offsets (see Tensor's constructor): one object shape, Smi fields.
  const g: GemmArgs = {
    A: args.A, aOff: args.aOff | 0, aRow: args.aRow | 0, aCol: args.aCol | 0,
    B: args.B, bOff: args.bOff | 0, bT: args.bT,
    C: args.C, cOff: args.cOff | 0, m: args.m | 0, n: args.n | 0, k: args.k | 0, acc: args.acc,
  };
  if (g.m === 0 || g.n === 0) return;
  if (g.k === 0) {
    if (!g.acc) g.C.fill(0, g.cOff, g.cOff + g.m * g.n);
    return;
  }
  if (g.bT) gemmDot(g);
  else gemmSaxpy(g.A, g.aOff, g.aRow, g.aCol, g.B, g.bOff, g.C, g.cOff, g.m, g.n, g.k, g.acc);
}

/** Rows of B stay hot in cache while a block of C rows consumes them. */
const K_BLOCK = 256;

// The kernels take positional arguments: one signature, nothing for V8 to see two shapes of.
function gemmSaxpy(A: Float32Array, aOff: number, aRow: number, aCol: number, B: Float32Array, bOff: number, C: Float32Array, cOff: number, m: number, n: number, k: number, acc: boolean): void {
  if (!acc) C.fill(0, cOff, cOff + m * n);
  for (let p0 = 0; p0 < k; p0 += K_BLOCK) {
    const p1 = Math.min(k, p0 + K_BLOCK);
    let i = 0;
    // Two rows of C at a time: each B element loaded once serves two products.
    for (; i + 1 < m; i += 2) {
      const ci = cOff + i * n;
      const cj = ci + n;
      const ai = aOff + i * aRow;
      const aj = ai + aRow;
      let p = p0;
      for (; p + 3 < p1; p += 4) {
        const x0 = A[ai + p * aCol]!, x1 = A[ai + (p + 1) * aCol]!, x2 = A[ai + (p + 2) * aCol]!, x3 = A[ai + (p + 3) * aCol]!;
        const y0 = A[aj + p * aCol]!, y1 = A[aj + (p + 1) * aCol]!, y2 = A[aj + (p + 2) * aCol]!, y3 = A[aj + (p + 3) * aCol]!;
        const b0 = bOff + p * n;
        const b1 = b0 + n;
        const b2 = b1 + n;
        const b3 = b2 + n;
        for (let j = 0; j < n; j++) {
          const v0 = B[b0 + j]!, v1 = B[b1 + j]!, v2 = B[b2 + j]!, v3 = B[b3 + j]!;
          C[ci + j] += x0 * v0 + x1 * v1 + x2 * v2 + x3 * v3;
          C[cj + j] += y0 * v0 + y1 * v1 + y2 * v2 + y3 * v3;
        }
      }
      for (; p < p1; p++) {
        const x0 = A[ai + p * aCol]!;
        const y0 = A[aj + p * aCol]!;
        const b0 = bOff + p * n;
        for (let j = 0; j < n; j++) {
          const v = B[b0 + j]!;
          C[ci + j] += x0 * v;
          C[cj + j] += y0 * v;
        }
      }
    }
    for (; i < m; i++) {
      const ci = cOff + i * n;
      const ai = aOff + i * aRow;
      for (let p = p0; p < p1; p++) {
        const a0 = A[ai + p * aCol]!;
        if (a0 === 0) continue;
        const b0 = bOff + p * n;
        for (let j = 0; j < n; j++) C[ci + j] += a0 * B[b0 + j]!;
      }
    }
  }
}

function gemmDot(g: GemmArgs): void {
  const { A, aOff, aRow, aCol, m, k } = g;
  if (aCol !== 1) {
    // Gather A's rows into a contiguous copy once; the kernel then streams both operands.
    const packed = new Float32Array(m * k);
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) packed[i * k + p] = A[aOff + i * aRow + p * aCol]!;
    dotRows(packed, 0, k, g.B, g.bOff, g.C, g.cOff, m, g.n, k, g.acc);
  } else dotRows(A, aOff, aRow, g.B, g.bOff, g.C, g.cOff, m, g.n, k, g.acc);
}

/** C[i, j] = A row i · B row j, two rows × four columns per pass over k. */
function dotRows(A: Float32Array, aOff: number, aRow: number, B: Float32Array, bOff: number, C: Float32Array, cOff: number, m: number, n: number, k: number, acc: boolean): void {
  let i = 0;
  for (; i + 1 < m; i += 2) {
    const a0 = aOff + i * aRow;
    const a1 = a0 + aRow;
    const c0 = cOff + i * n;
    const c1 = c0 + n;
    let j = 0;
    for (; j + 3 < n; j += 4) {
      const b0 = bOff + j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      for (let p = 0; p < k; p++) {
        const x = A[a0 + p]!;
        const y = A[a1 + p]!;
        const v0 = B[b0 + p]!, v1 = B[b1 + p]!, v2 = B[b2 + p]!, v3 = B[b3 + p]!;
        s00 += x * v0; s01 += x * v1; s02 += x * v2; s03 += x * v3;
        s10 += y * v0; s11 += y * v1; s12 += y * v2; s13 += y * v3;
      }
      if (acc) {
        C[c0 + j] += s00; C[c0 + j + 1] += s01; C[c0 + j + 2] += s02; C[c0 + j + 3] += s03;
        C[c1 + j] += s10; C[c1 + j + 1] += s11; C[c1 + j + 2] += s12; C[c1 + j + 3] += s13;
      } else {
        C[c0 + j] = s00; C[c0 + j + 1] = s01; C[c0 + j + 2] = s02; C[c0 + j + 3] = s03;
        C[c1 + j] = s10; C[c1 + j + 1] = s11; C[c1 + j + 2] = s12; C[c1 + j + 3] = s13;
      }
    }
    for (; j < n; j++) {
      const b0 = bOff + j * k;
      let s0 = 0;
      let s1 = 0;
      for (let p = 0; p < k; p++) {
        const v = B[b0 + p]!;
        s0 += A[a0 + p]! * v;
        s1 += A[a1 + p]! * v;
      }
      C[c0 + j] = acc ? C[c0 + j]! + s0 : s0;
      C[c1 + j] = acc ? C[c1 + j]! + s1 : s1;
    }
  }
  for (; i < m; i++) {
    const a0 = aOff + i * aRow;
    const c0 = cOff + i * n;
    for (let j = 0; j < n; j++) {
      const b0 = bOff + j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += A[a0 + p]! * B[b0 + p]!;
      C[c0 + j] = acc ? C[c0 + j]! + s : s;
    }
  }
}
