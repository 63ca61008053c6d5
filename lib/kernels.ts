/**
 * Matrix-multiply kernels on `Float64Array`, row-major, used by `matmul` and `linear` in
 * `tensor.ts`.
 *
 * {@link gemm} accumulates `C += op(A) op(B)`, where `op` may transpose: the backward passes need
 * `A^T B` and `A B^T`, and the kernels read a transposed operand in place through strides instead
 * of materialising it. Large products follow the GotoBLAS/BLIS scheme:
 *
 * - cache blocking: `op(B)` is copied ("packed") in blocks of KC x NC values that stay in L2, and
 *   `op(A)` in blocks of MC x KC; within a block the micro-kernel streams one narrow panel of B
 *   (kept in L1) against panels of a few rows of A; packing makes every load sequential whatever
 *   the transposes;
 * - register tiling: the micro-kernel keeps a small tile of C in registers.
 *
 * Two micro-kernels share that blocking and packing, and sum in the same order (bitwise equal
 * results): {@link gemmBlocked}, pure TypeScript with a 4 x 4 tile in 16 local variables, and
 * {@link gemmSimd}, WebAssembly SIMD (f64x2) with a 2 x 8 tile, assembled from the WAT text in
 * {@link gemmWat} by npm `wabt` and embedded in the generated `lib/_gemm_wasm.ts`. A product that fits in one block (m <= 128,
 * k <= 256, n <= 512, the common case in small networks) skips the TypeScript packing on the SIMD
 * path: the operands are copied into wasm memory as they are and the kernel reads them through
 * strides (B is packed inside wasm when its rows are not contiguous). {@link gemm} uses the SIMD
 * kernel where the runtime has WebAssembly SIMD (Deno does). Measured medians on a 2-core machine
 * (bench/matmul_bench.ts): TypeScript about 4 to 5.5 GFLOP/s, SIMD 11 (n = 32) to 16, against
 * 1.3 to 1.6 for a plain triple loop. {@link matmulReference} is the plain triple loop both are
 * tested against.
 *
 * @module
 */
import { GEMM_WASM_BASE64 } from "./_gemm_wasm.ts";
import { WMR, WNR } from "./gemm_wat.ts";

export { assembleGemmWasm, gemmWat } from "./gemm_wat.ts";

/**
 * The plain triple loop `C = A B` with `A` of shape [m, k] and `B` of shape [k, n]: the reference
 * the fast kernels are tested against.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { matmulReference } from "@kit/kernels.ts";
 * const c = matmulReference(Float64Array.of(1, 2, 3, 4), Float64Array.of(5, 6, 7, 8), 2, 2, 2);
 * deepStrictEqual(Array.from(c), [19, 22, 43, 50]);
 * ```
 */
export function matmulReference(
  a: Float64Array,
  b: Float64Array,
  m: number,
  k: number,
  n: number,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      c[i * n + j] = s;
    }
  }
  return c;
}

// Block sizes: KC x 4 panels of B (8 KB) live in L1, MC x KC blocks of A (128 KB) and KC x NC
// blocks of B (1 MB) in L2. Measured: the rate is flat (within 5 %) for KC in 128..384.
const MR = 4, NR = 4, KC = 256, MC = 128, NC = 512;
// Below this many multiply-adds packing costs more than it saves.
const SMALL = 4096;

const packA = new Float64Array(MC * KC);
const packB = new Float64Array(KC * NC);

/**
 * General matrix multiply-accumulate: `C[m, n] += op(A)[m, k] · op(B)[k, n]`.
 *
 * `op(A)` is `A` stored as [m, k] when `transA` is false, or the transpose of `A` stored as
 * [k, m] when true (likewise `B`: stored [k, n], or [n, k] when `transB`). `aOff`, `bOff`, `cOff`
 * are element offsets into the arrays (for batched products). `C` is accumulated into, so pass a
 * zeroed array for a plain product.
 *
 * Products of fewer than 4096 multiply-adds run a plain loop; larger ones run the WebAssembly
 * SIMD kernel ({@link gemmSimd}) when the runtime supports it, else the TypeScript kernel
 * ({@link gemmBlocked}); see {@link setGemmBackend}. Both sum in the same order, so they give
 * bitwise identical results.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { gemm } from "@kit/kernels.ts";
 * // C = A · B^T with A = [[1, 2]], B = [[3, 4], [5, 6]] (stored [n, k])
 * const c = new Float64Array(2);
 * gemm(false, true, 1, 2, 2, Float64Array.of(1, 2), 0, Float64Array.of(3, 4, 5, 6), 0, c, 0);
 * deepStrictEqual(Array.from(c), [11, 17]);
 * ```
 */
export function gemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  aOff: number,
  b: Float64Array,
  bOff: number,
  c: Float64Array,
  cOff: number,
): void {
  if (m === 0 || n === 0 || k === 0) return;
  if (m * n * k <= SMALL || m < MR || n < NR) {
    const ars = transA ? 1 : k, acs = transA ? m : 1;
    const brs = transB ? 1 : n, bcs = transB ? k : 1;
    gemmSimple(m, n, k, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff);
  } else if (backend === "wasm") {
    gemmSimd(transA, transB, m, n, k, a, aOff, b, bOff, c, cOff);
  } else {
    gemmBlocked(transA, transB, m, n, k, a, aOff, b, bOff, c, cOff);
  }
}

/**
 * The pure TypeScript blocked kernel (4 x 4 register tile) behind {@link gemm}, for any size;
 * same arguments.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { gemmBlocked } from "@kit/kernels.ts";
 * const c = new Float64Array(1);
 * gemmBlocked(true, false, 1, 1, 2, Float64Array.of(1, 2), 0, Float64Array.of(3, 4), 0, c, 0);
 * deepStrictEqual(Array.from(c), [11]);
 * ```
 */
export function gemmBlocked(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  aOff: number,
  b: Float64Array,
  bOff: number,
  c: Float64Array,
  cOff: number,
): void {
  if (m === 0 || n === 0 || k === 0) return;
  // element (i, p) of op(A) is a[aOff + i * ars + p * acs]; (p, j) of op(B) is b[bOff + p * brs + j * bcs]
  const ars = transA ? 1 : k, acs = transA ? m : 1;
  const brs = transB ? 1 : n, bcs = transB ? k : 1;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packPanels(b, bOff + pc * brs + jc * bcs, bcs, brs, nc, kc, NR, packB);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packPanels(a, aOff + ic * ars + pc * acs, ars, acs, mc, kc, MR, packA);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            const co = cOff + (ic + ir) * n + jc + jr;
            if (mr === MR && nr === NR) micro4x4(kc, packA, ir * kc, packB, jr * kc, c, co, n);
            else microEdge(kc, packA, ir * kc, packB, jr * kc, c, co, n, mr, nr);
          }
        }
      }
    }
  }
}

/**
 * Copies a `rows` x `depth` block (element (r, p) at src[off + r * rs + p * ps]) into panels of
 * `w` rows: panel q holds rows q*w..q*w+w-1 interleaved, dst[dstOff + q*w*depth + p*w + r],
 * zero-padded.
 * The same routine packs A (rows = rows of A) and B (rows = columns of B).
 */
function packPanels(
  src: Float64Array,
  off: number,
  rs: number,
  ps: number,
  rows: number,
  depth: number,
  w: number,
  dst: Float64Array,
  dstOff = 0,
): void {
  let o = dstOff;
  for (let r0 = 0; r0 < rows; r0 += w) {
    const h = Math.min(w, rows - r0);
    if (rs === 1) {
      // the w rows of a panel are adjacent in memory: copy w-wide runs, step by step along p
      for (let p = 0; p < depth; p++) {
        const s = off + r0 + p * ps, d = o + p * w;
        for (let r = 0; r < h; r++) dst[d + r] = src[s + r];
        for (let r = h; r < w; r++) dst[d + r] = 0;
      }
    } else {
      // each row is contiguous along p (ps = 1): copy row by row
      for (let r = 0; r < w; r++) {
        if (r < h) {
          let s = off + (r0 + r) * rs, d = o + r;
          for (let p = 0; p < depth; p++) {
            dst[d] = src[s];
            s += ps;
            d += w;
          }
        } else {
          for (let p = 0, d = o + r; p < depth; p++, d += w) dst[d] = 0;
        }
      }
    }
    o += w * depth;
  }
}

/** C[4 x 4 tile at co] += packed A panel · packed B panel, 16 accumulators in registers. */
function micro4x4(
  kc: number,
  A: Float64Array,
  ao: number,
  B: Float64Array,
  bo: number,
  C: Float64Array,
  co: number,
  ldc: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = A[ao], a1 = A[ao + 1], a2 = A[ao + 2], a3 = A[ao + 3];
    const b0 = B[bo], b1 = B[bo + 1], b2 = B[bo + 2], b3 = B[bo + 3];
    c00 += a0 * b0, c01 += a0 * b1, c02 += a0 * b2, c03 += a0 * b3;
    c10 += a1 * b0, c11 += a1 * b1, c12 += a1 * b2, c13 += a1 * b3;
    c20 += a2 * b0, c21 += a2 * b1, c22 += a2 * b2, c23 += a2 * b3;
    c30 += a3 * b0, c31 += a3 * b1, c32 += a3 * b2, c33 += a3 * b3;
    ao += 4;
    bo += 4;
  }
  let o = co;
  C[o] += c00, C[o + 1] += c01, C[o + 2] += c02, C[o + 3] += c03;
  o += ldc;
  C[o] += c10, C[o + 1] += c11, C[o + 2] += c12, C[o + 3] += c13;
  o += ldc;
  C[o] += c20, C[o + 1] += c21, C[o + 2] += c22, C[o + 3] += c23;
  o += ldc;
  C[o] += c30, C[o + 1] += c31, C[o + 2] += c32, C[o + 3] += c33;
}

/** A partial tile at the right or bottom edge (mr < 4 or nr < 4); panels are zero-padded. */
function microEdge(
  kc: number,
  A: Float64Array,
  ao: number,
  B: Float64Array,
  bo: number,
  C: Float64Array,
  co: number,
  ldc: number,
  mr: number,
  nr: number,
): void {
  for (let r = 0; r < mr; r++) {
    for (let q = 0; q < nr; q++) {
      let s = 0;
      for (let p = 0; p < kc; p++) s += A[ao + p * MR + r] * B[bo + p * NR + q];
      C[co + r * ldc + q] += s;
    }
  }
}

/** Strided i-p-j loop for products too small to repay packing. */
function gemmSimple(
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  aOff: number,
  ars: number,
  acs: number,
  b: Float64Array,
  bOff: number,
  brs: number,
  bcs: number,
  c: Float64Array,
  cOff: number,
): void {
  for (let i = 0; i < m; i++) {
    const ci = cOff + i * n;
    for (let p = 0; p < k; p++) {
      const aip = a[aOff + i * ars + p * acs];
      const bp = bOff + p * brs;
      if (bcs === 1) { for (let j = 0; j < n; j++) c[ci + j] += aip * b[bp + j]; }
      else for (let j = 0; j < n; j++) c[ci + j] += aip * b[bp + j * bcs];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// WebAssembly SIMD kernel: the same blocking and packing as gemmBlocked; the block product runs
// in WebAssembly with f64x2 vectors (two doubles per instruction) on a WMR x WNR register tile.

// The WAT source and its assembly live in gemm_wat.ts (which tools/gen_wasm.ts imports without
// loading this module); the assembled bytes in the generated _gemm_wasm.ts.

interface SimdKernel {
  block: (mcp: number, ncp: number, kc: number, pa: number, pb: number, pc: number) => void;
  blockStrided: (
    mcp: number,
    ncp: number,
    kc: number,
    pa: number,
    pb: number,
    pc: number,
    aRow: number,
    aStep: number,
    aPanel: number,
    bStep: number,
    bPanel: number,
    ldc: number,
    accumulate: number,
  ) => void;
  pack: (ncp: number, kc: number, src: number, ld: number, dst: number) => void;
  reluGrad: (px: number, pg: number, end: number) => void;
  mem: Float64Array;
}

// Regions of wasm memory, offsets in doubles: A (packed block, or a copy of the whole operand),
// a copy of the whole B, packed B, C. SLACK doubles after the copies absorb the reads of the
// padding rows and columns (up to 7 columns of B past its end, each up to KC long).
const SLACK = WNR * KC;
const PA = 0, RB = PA + MC * KC + SLACK, PB = RB + KC * NC + SLACK, PC = PB + KC * NC;
const WASM_DOUBLES = PC + MC * NC;

function loadSimd(): SimdKernel | null {
  try {
    if (GEMM_WASM_BASE64 === "") return null;
    const bytes = Uint8Array.from(atob(GEMM_WASM_BASE64), (ch) => ch.charCodeAt(0));
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    const memory = inst.exports.memory as WebAssembly.Memory;
    const need = Math.ceil((WASM_DOUBLES * 8) / 65536) - memory.buffer.byteLength / 65536;
    if (need > 0) memory.grow(need);
    return {
      block: inst.exports.block as SimdKernel["block"],
      blockStrided: inst.exports.blockStrided as SimdKernel["blockStrided"],
      pack: inst.exports.pack as SimdKernel["pack"],
      reluGrad: inst.exports.reluGrad as SimdKernel["reluGrad"],
      mem: new Float64Array(memory.buffer),
    };
  } catch {
    return null; // no WebAssembly SIMD here: the TypeScript kernel serves
  }
}

const simd = loadSimd();
let backend: "wasm" | "ts" = simd ? "wasm" : "ts";

/**
 * Chooses the kernels behind {@link gemm} for large products and behind {@link reluBackward}:
 * `"wasm"` (the default where WebAssembly SIMD is available) or `"ts"` (pure TypeScript). For
 * benchmarks and tests.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { gemmBackend, setGemmBackend } from "@kit/kernels.ts";
 * const before = gemmBackend();
 * setGemmBackend("ts");
 * strictEqual(gemmBackend(), "ts");
 * setGemmBackend(before);
 * strictEqual(gemmBackend(), before);
 * ```
 */
export function setGemmBackend(which: "wasm" | "ts"): void {
  if (which === "wasm" && simd === null) {
    throw new Error("setGemmBackend: WebAssembly SIMD is not available in this runtime");
  }
  backend = which;
}

/**
 * The kernel {@link gemm} uses for large products (`"wasm"` or `"ts"`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gemmBackend } from "@kit/kernels.ts";
 * assert.ok(["wasm", "ts"].includes(gemmBackend()), `gemm runs on ${gemmBackend()}`);
 * ```
 */
export function gemmBackend(): "wasm" | "ts" {
  return backend;
}

/**
 * The WebAssembly SIMD kernel behind {@link gemm}, for any size; same arguments. Throws where
 * WebAssembly SIMD is unavailable.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { gemmSimd } from "@kit/kernels.ts";
 * const c = new Float64Array(1);
 * gemmSimd(false, false, 1, 1, 2, Float64Array.of(1, 2), 0, Float64Array.of(3, 4), 0, c, 0);
 * deepStrictEqual(Array.from(c), [11]);
 * ```
 */
export function gemmSimd(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  aOff: number,
  b: Float64Array,
  bOff: number,
  c: Float64Array,
  cOff: number,
): void {
  if (simd === null) throw new Error("gemmSimd: WebAssembly SIMD is not available here");
  if (m === 0 || n === 0 || k === 0) return;
  const ars = transA ? 1 : k, acs = transA ? m : 1;
  const brs = transB ? 1 : n, bcs = transB ? k : 1;
  // The tile is 2 rows by 8 columns, so C's columns are padded to a multiple of 8. When that
  // wastes more than the transposed problem would (say C is [64, 10]), compute C^T = op(B)^T op(A)^T
  // instead and add it back transposed; each element is summed in the same order either way.
  const padded = (x: number, w: number) => Math.ceil(x / w) * w;
  if (padded(n, WMR) * padded(m, WNR) < padded(m, WMR) * padded(n, WNR)) {
    simdProduct(n, m, k, b, bOff, bcs, brs, a, aOff, ars, acs, c, cOff, 1, n);
  } else {
    simdProduct(m, n, k, a, aOff, ars, acs, b, bOff, bcs, brs, c, cOff, n, 1);
  }
}

/**
 * C'[m, n] += X[m, k] · Y[k, n] on the SIMD block kernel, with X(i, p) = x[xOff + i*xrs + p*xps],
 * Y(p, j) = y[yOff + j*yrs + p*yps] and C'(i, j) = c[cOff + i*crs + j*ccs].
 */
function simdProduct(
  m: number,
  n: number,
  k: number,
  x: Float64Array,
  xOff: number,
  xrs: number,
  xps: number,
  y: Float64Array,
  yOff: number,
  yrs: number,
  yps: number,
  c: Float64Array,
  cOff: number,
  crs: number,
  ccs: number,
): void {
  const { block, mem } = simd!;
  if (m <= MC && n <= NC && k <= KC) {
    simdOneBlock(m, n, k, x, xOff, xrs, xps, y, yOff, yrs, yps, c, cOff, crs, ccs);
    return;
  }
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc), ncp = Math.ceil(nc / WNR) * WNR;
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packPanels(y, yOff + pc * yps + jc * yrs, yrs, yps, nc, kc, WNR, mem, PB);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic), mcp = Math.ceil(mc / WMR) * WMR;
        packPanels(x, xOff + ic * xrs + pc * xps, xrs, xps, mc, kc, WMR, mem, PA);
        block(mcp, ncp, kc, PA * 8, PB * 8, PC * 8);
        addBlock(mem, mc, nc, ncp, c, cOff + ic * crs + jc * ccs, crs, ccs);
      }
    }
  }
}

/**
 * {@link simdProduct} when the product is a single block (m <= MC, n <= NC, k <= KC): nothing is
 * packed in TypeScript. Each operand is one contiguous run of memory (row-major or transposed),
 * copied into wasm memory as it is; the kernel reads A through its strides, and B too when B's
 * rows are contiguous (else `pack` reorders it inside wasm). When C's rows are contiguous and a
 * whole number of tiles wide, C is copied in, accumulated into by the kernel and copied back.
 */
function simdOneBlock(
  m: number,
  n: number,
  k: number,
  x: Float64Array,
  xOff: number,
  xrs: number,
  xps: number,
  y: Float64Array,
  yOff: number,
  yrs: number,
  yps: number,
  c: Float64Array,
  cOff: number,
  crs: number,
  ccs: number,
): void {
  const { blockStrided: block, pack, mem } = simd!;
  const mcp = Math.ceil(m / WMR) * WMR, ncp = Math.ceil(n / WNR) * WNR;
  mem.set(x.subarray(xOff, xOff + m * k), PA);
  mem.set(y.subarray(yOff, yOff + k * n), RB);
  let pb = RB, bStep = yps * 8, bPanel = 64;
  if (yrs !== 1) {
    // columns of B are contiguous (yps = 1): pack panels of 8 of them
    pack(ncp, k, RB * 8, yrs * 8, PB * 8);
    pb = PB, bStep = 64, bPanel = 64 * k;
  }
  const aRow = xrs * 8, aStep = xps * 8, aPanel = WMR * xrs * 8;
  if (ccs === 1 && crs === n && ncp === n) {
    mem.set(c.subarray(cOff, cOff + m * n), PC);
    block(mcp, ncp, k, PA * 8, pb * 8, PC * 8, aRow, aStep, aPanel, bStep, bPanel, n * 8, 1);
    c.set(mem.subarray(PC, PC + m * n), cOff);
  } else {
    block(mcp, ncp, k, PA * 8, pb * 8, PC * 8, aRow, aStep, aPanel, bStep, bPanel, ncp * 8, 0);
    addBlock(mem, m, n, ncp, c, cOff, crs, ccs);
  }
}

/** C'(i, j) += mem[PC + i*ncp + j] for i < mc, j < nc, with C'(i, j) = c[co + i*crs + j*ccs]. */
function addBlock(
  mem: Float64Array,
  mc: number,
  nc: number,
  ncp: number,
  c: Float64Array,
  cOff: number,
  crs: number,
  ccs: number,
): void {
  for (let i = 0; i < mc; i++) {
    const co = cOff + i * crs, so = PC + i * ncp;
    if (ccs === 1) { for (let j = 0; j < nc; j++) c[co + j] += mem[so + j]; }
    else for (let j = 0; j < nc; j++) c[co + j * ccs] += mem[so + j];
  }
}

// ---------------------------------------------------------------------------------------------
// Elementwise

/**
 * The backward rule of ReLU in place: `g[i] = x[i] > 0 ? g[i] : 0` (so the gradient at 0, and at
 * NaN, is 0, as PyTorch). Arrays of 64 doubles or more go through WebAssembly SIMD, where
 * the select is a bitwise AND with a comparison mask: a plain loop branches on the sign of each
 * x, which is random in a network and mispredicted half the time (about 4 times slower).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { reluBackward } from "@kit/kernels.ts";
 * const g = Float64Array.of(5, 6, 7, 8);
 * reluBackward(Float64Array.of(-1, 0, 2, NaN), g);
 * deepStrictEqual(Array.from(g), [0, 0, 7, 0]);
 * ```
 */
export function reluBackward(x: Float64Array, g: Float64Array): void {
  const n = g.length;
  if (x.length !== n) throw new RangeError("reluBackward: x and g must have the same length");
  if (simd === null || backend !== "wasm" || n < 64) {
    for (let i = 0; i < n; i++) g[i] = x[i] > 0 ? g[i] : 0;
    return;
  }
  const { reluGrad, mem } = simd, CHUNK = KC * NC;
  for (let i0 = 0; i0 < n; i0 += CHUNK) {
    const len = Math.min(CHUNK, n - i0);
    mem.set(x.subarray(i0, i0 + len), RB);
    mem.set(g.subarray(i0, i0 + len), PB);
    reluGrad(RB * 8, PB * 8, (PB + len + (len & 1)) * 8);
    g.set(mem.subarray(PB, PB + len), i0);
  }
}
