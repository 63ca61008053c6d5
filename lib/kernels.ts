/**
 * Matrix-multiply kernels on `Float64Array`, row-major, used by `matmul` and `linear` in
 * `tensor.ts`, and the fused `Linear` forward and backward.
 *
 * {@link gemm} accumulates `C += op(A) op(B)`, where `op` may transpose: the backward passes need
 * `A^T B` and `A B^T`, and the kernels read a transposed operand in place through strides instead
 * of materialising it. Large products follow the GotoBLAS/BLIS scheme:
 *
 * - cache blocking: `op(B)` is copied ("packed") in blocks of KC x NC values that stay in L2,
 *   and the micro-kernel streams one narrow panel of B (kept in L1) against a few rows of A;
 * - register tiling: the micro-kernel keeps a small tile of C in registers.
 *
 * Three micro-kernels, chosen by {@link setGemmBackend}:
 * - `"ts"`: {@link gemmBlocked}, pure TypeScript, a 4 x 4 tile in 16 local variables (A packed too);
 * - `"wasm"`: {@link gemmSimd}, WebAssembly SIMD (f64x2), a 6 x 4 tile in 12 vector registers,
 *   multiply then add (two roundings). It sums every element in the same order as `gemmBlocked`,
 *   so the two give bitwise equal results;
 * - `"wasm-fma"`: {@link gemmFma}, the same kernel with `f64x2.relaxed_madd`, the fused
 *   multiply-add of WebAssembly relaxed SIMD (one rounding per step; same order of summation).
 *
 * The WebAssembly kernels are assembled from the WAT text of {@link gemmWat} by npm `wabt` and
 * embedded in the generated `lib/_gemm_wasm.ts`; operands are copied into the module's memory as
 * they are (B packed there when its rows are not contiguous) and read through strides.
 *
 * Fused multiply-add and reproducibility: relaxed SIMD lets the engine compute `relaxed_madd`
 * fused or as a multiply and an add, depending on the CPU (V8 fuses where the CPU has FMA3). At
 * start-up a numeric probe computes (1 + 2^-30)(1 - 2^-30) - 1 with it: fused, the answer is
 * exactly -2^-60; unfused it is 0. The default backend is `"wasm-fma"` only where the probe
 * answered -2^-60, else `"wasm"` (else `"ts"` without WebAssembly SIMD). Results on `"wasm-fma"`
 * therefore differ from the other two, and between CPUs with and without FMA, in the last bits
 * (each product rounded once instead of twice: relative differences of order 1e-16 per
 * multiply-add, within the error bound of the sum itself); on one machine they are deterministic.
 * `setGemmBackend("wasm")` gives the same bits on every machine (and as `"ts"`).
 *
 * Products of at most 4096 multiply-adds (or with fewer than 4 rows or columns) run a plain loop
 * on every backend. {@link matmulReference} is the plain triple loop the kernels are tested
 * against.
 *
 * @module
 */
import { GEMM_FMA_WASM_BASE64, GEMM_WASM_BASE64 } from "./_gemm_wasm.ts";
import { ACC, BIAS, RELU, WMR, WNR } from "./gemm_wat.ts";

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
 * Products of at most 4096 multiply-adds run a plain loop; larger ones run the kernel of the
 * current backend ({@link setGemmBackend}): {@link gemmFma}, {@link gemmSimd} or
 * {@link gemmBlocked}.
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
  if (isSmall(m, n, k)) {
    const ars = transA ? 1 : k, acs = transA ? m : 1;
    const brs = transB ? 1 : n, bcs = transB ? k : 1;
    gemmSimple(m, n, k, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff);
  } else if (
    backend === "ts" ||
    !gemmWasm(backend === "wasm-fma", transA, transB, m, n, k, a, aOff, b, bOff, c, cOff, false)
  ) {
    gemmBlocked(transA, transB, m, n, k, a, aOff, b, bOff, c, cOff);
  }
}

/** Whether {@link gemm} runs a product of this shape as a plain loop (on every backend). */
function isSmall(m: number, n: number, k: number): boolean {
  return m * n * k <= SMALL || m < MR || n < NR;
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
// WebAssembly kernels: operands are copied into the modules' shared memory as they are; B is
// packed there into panels of WNR columns when its rows are not contiguous; the product kernel
// `block` reads A and B through strides and applies its epilogue (bias, accumulate, ReLU) as it
// stores each tile of C. The WAT source lives in gemm_wat.ts, the bytes in _gemm_wasm.ts.

type Block = (
  mcp: number,
  n: number,
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
  flags: number,
  pbias: number,
) => void;

interface Wasm {
  /** The SIMD module, compiled once: optimizer-state arenas instantiate it on their memory. */
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** The SIMD product kernel (multiply, then add). */
  block: Block;
  /** The relaxed-SIMD product kernel, when the probe found its multiply-add fused; else null. */
  fmaBlock: Block | null;
  pack: (ncp: number, kc: number, src: number, ps: number, js: number, dst: number) => void;
  reluGrad: (px: number, pg: number, end: number) => void;
  relu: (px: number, py: number, end: number) => void;
  colSum: (pg: number, rows: number, ld: number, pairs: number, pout: number) => void;
}

/** Rows of A per call of the block kernel (a multiple of WMR): MCW x KC doubles of A fit in L2. */
const MCW = 192;

/** The memory the kernels may use, in bytes; a product needing more runs on the TypeScript kernel. */
const MAX_BYTES = 2 ** 30;

/**
 * True when `probe` (a·b + c through a module's multiply-add) rounds once: (1 + 2^-30)(1 - 2^-30)
 * = 1 - 2^-60 exactly, so a fused multiply-add with c = -1 gives -2^-60, while a multiply (which
 * rounds 1 - 2^-60 to 1) then an add gives 0.
 */
function probeFused(probe: (a: number, b: number, c: number) => number): boolean {
  return probe(1 + 2 ** -30, 1 - 2 ** -30, -1) === -(2 ** -60);
}

function compile(base64: string): WebAssembly.Module {
  return new WebAssembly.Module(Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0)));
}

function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): WebAssembly.Exports {
  return new WebAssembly.Instance(module, { kit: { memory } }).exports;
}

function loadWasm(): Wasm | null {
  let memory: WebAssembly.Memory, plain: WebAssembly.Exports, module: WebAssembly.Module;
  try {
    module = compile(GEMM_WASM_BASE64);
    memory = new WebAssembly.Memory({ initial: 64 });
    plain = instantiate(module, memory);
  } catch {
    return null; // no WebAssembly SIMD here: the TypeScript kernel serves
  }
  let fmaBlock: Block | null = null;
  try {
    const relaxed = instantiate(compile(GEMM_FMA_WASM_BASE64), memory);
    if (probeFused(relaxed.probe as (a: number, b: number, c: number) => number)) {
      fmaBlock = relaxed.block as Block;
    }
  } catch { /* no relaxed SIMD: the SIMD kernel serves */ }
  return {
    module,
    memory,
    block: plain.block as Block,
    fmaBlock,
    pack: plain.pack as Wasm["pack"],
    reluGrad: plain.reluGrad as Wasm["reluGrad"],
    relu: plain.relu as Wasm["relu"],
    colSum: plain.colSum as Wasm["colSum"],
  };
}

const wasm = loadWasm();
let mem = new Float64Array(wasm ? wasm.memory.buffer : new ArrayBuffer(0));

/** The three kernels behind {@link gemm}: see the module documentation. */
export type GemmBackend = "wasm-fma" | "wasm" | "ts";

let backend: GemmBackend = wasm?.fmaBlock ? "wasm-fma" : wasm ? "wasm" : "ts";

/**
 * Chooses the kernels behind {@link gemm}, {@link linearForward}, {@link linearBackward} and the
 * ReLU helpers: `"wasm-fma"` (the default where the start-up probe found WebAssembly's relaxed
 * multiply-add fused), `"wasm"` (WebAssembly SIMD, two roundings: the same bits on every machine)
 * or `"ts"` (pure TypeScript, the same bits as `"wasm"`). Throws for a backend this runtime
 * lacks.
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
export function setGemmBackend(which: GemmBackend): void {
  if (which !== "ts" && wasm === null) {
    throw new Error(`setGemmBackend("${which}"): WebAssembly SIMD is not available here`);
  }
  if (which === "wasm-fma" && !wasm?.fmaBlock) {
    throw new Error(
      'setGemmBackend("wasm-fma"): this runtime does not fuse WebAssembly\'s relaxed ' +
        'multiply-add (the start-up probe found two roundings); use "wasm"',
    );
  }
  if (which !== "wasm-fma" && which !== "wasm" && which !== "ts") {
    throw new Error(`setGemmBackend: unknown backend "${which}"; use "wasm-fma", "wasm" or "ts"`);
  }
  backend = which;
}

/**
 * The kernel {@link gemm} uses for large products: `"wasm-fma"`, `"wasm"` or `"ts"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gemmBackend } from "@kit/kernels.ts";
 * assert.ok(["wasm-fma", "wasm", "ts"].includes(gemmBackend()), `gemm runs on ${gemmBackend()}`);
 * ```
 */
export function gemmBackend(): GemmBackend {
  return backend;
}

/**
 * Whether the start-up probe found WebAssembly's relaxed multiply-add fused on this machine
 * (then `"wasm-fma"` is available and the default).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { fmaFused, gemmBackend } from "@kit/kernels.ts";
 * strictEqual(gemmBackend() === "wasm-fma", fmaFused()); // the default follows the probe
 * ```
 */
export function fmaFused(): boolean {
  return wasm?.fmaBlock != null;
}

/**
 * Makes the shared memory hold at least `doubles` values (growing it, which replaces `mem`);
 * false when that is more than the kernels may use.
 */
function ensure(doubles: number): boolean {
  const bytes = doubles * 8;
  if (bytes > MAX_BYTES) return false;
  const have = wasm!.memory.buffer.byteLength;
  if (bytes > have) {
    wasm!.memory.grow(Math.ceil((bytes - have) / 65536));
    mem = new Float64Array(wasm!.memory.buffer);
  }
  return true;
}

/**
 * Doubles to leave after a copy of `len` values whose rows are `row` long: the kernels read up to
 * WMR - 1 rows (A's padding rows) or WNR - 1 columns (B's padding columns) past an operand, and
 * write up to WMR - 1 padding rows past C. What they read there only reaches padding.
 */
function span(len: number, row: number): number {
  return len + Math.max(WMR, WNR) * row + 8;
}

/** Copies `src[off .. off + len)` to mem at `at` (doubles). */
function put(src: Float64Array, off: number, len: number, at: number): void {
  if (off === 0 && len === src.length) mem.set(src, at);
  else mem.set(src.subarray(off, off + len), at);
}

/** Copies mem at `at` (doubles) to `dst[off .. off + len)`. */
function get(at: number, dst: Float64Array, off: number, len: number): void {
  dst.set(mem.subarray(at, at + len), off);
}

/**
 * C[m, n] (row-major at byte `pc`) = op(A) op(B), or with epilogue flags: A(i, p) at byte
 * `pa + i*aRow + p*aStep`, B(p, j) at `pb + p*bPs + j*bJs`. `first` are the flags of the first
 * block of k (0 to store, ACC to add to C, BIAS with `pbias`), `last` are added to the last one
 * (RELU); the blocks in between accumulate. Packing scratch at byte `pp` (min(n, NC) rounded up
 * to WNR, times min(k, KC) doubles). Every element sums its k products in order from 0 within
 * each block of KC, and adds the blocks to C in order, as gemmBlocked does.
 */
function product(
  fma: boolean,
  m: number,
  n: number,
  k: number,
  pa: number,
  aRow: number,
  aStep: number,
  pb: number,
  bPs: number,
  bJs: number,
  pc: number,
  pp: number,
  first: number,
  last: number,
  pbias: number,
): void {
  const w = wasm!, block = fma ? w.fmaBlock! : w.block;
  for (let p0 = 0; p0 < k; p0 += KC) {
    const kc = Math.min(KC, k - p0);
    const flags = (p0 === 0 ? first : ACC) | (p0 + kc >= k ? last : 0);
    for (let j0 = 0; j0 < n; j0 += NC) {
      const nc = Math.min(NC, n - j0), ncp = Math.ceil(nc / WNR) * WNR;
      let b = pb + p0 * bPs + j0 * bJs, bStep = bPs, bPanel = WNR * bJs;
      if (bJs !== 8 || nc >= 256) {
        // columns of B are contiguous, or its rows are long (their stride of 2 KB and more maps
        // a panel's rows onto few L1 sets: measured 15 against 17 GFLOP/s at n = 512): pack
        // panels of WNR columns
        w.pack(ncp, kc, b, bPs, bJs, pp);
        b = pp, bStep = 8 * WNR, bPanel = 8 * WNR * kc;
      }
      for (let i0 = 0; i0 < m; i0 += MCW) {
        const mc = Math.min(MCW, m - i0), mcp = Math.ceil(mc / WMR) * WMR;
        const a = pa + i0 * aRow + p0 * aStep, c = pc + (i0 * n + j0) * 8;
        block(
          mcp,
          nc,
          kc,
          a,
          b,
          c,
          aRow,
          aStep,
          WMR * aRow,
          bStep,
          bPanel,
          n * 8,
          flags,
          pbias + j0 * 8,
        );
      }
    }
  }
}

/** Doubles of packing scratch for a product with n columns and depth k. */
function packSpan(n: number, k: number): number {
  return span(Math.ceil(Math.min(n, NC) / WNR) * WNR * Math.min(k, KC), 0);
}

/**
 * {@link gemm} on a WebAssembly kernel: copies A, B (and C unless `overwrite`) into memory, runs
 * {@link product} and copies C back. False (nothing done) when the memory would be too large.
 */
function gemmWasm(
  fma: boolean,
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
  overwrite: boolean,
): boolean {
  const A = 0, B = A + span(m * k, Math.max(m, k)), C = B + span(k * n, Math.max(k, n));
  const P = C + span(m * n, n);
  if (!ensure(P + packSpan(n, k))) return false;
  put(a, aOff, m * k, A);
  put(b, bOff, k * n, B);
  if (!overwrite) put(c, cOff, m * n, C);
  const aRow = transA ? 8 : 8 * k, aStep = transA ? 8 * m : 8;
  const bPs = transB ? 8 : 8 * n, bJs = transB ? 8 * k : 8;
  product(
    fma,
    m,
    n,
    k,
    A * 8,
    aRow,
    aStep,
    B * 8,
    bPs,
    bJs,
    C * 8,
    P * 8,
    overwrite ? 0 : ACC,
    0,
    0,
  );
  get(C, c, cOff, m * n);
  return true;
}

function checkWasm(name: string, fma: boolean): void {
  if (wasm === null) throw new Error(`${name}: WebAssembly SIMD is not available here`);
  if (fma && !wasm.fmaBlock) {
    throw new Error(`${name}: this runtime does not fuse WebAssembly's relaxed multiply-add`);
  }
}

/**
 * The WebAssembly SIMD kernel behind {@link gemm} (multiply, then add: bitwise the same as
 * {@link gemmBlocked}), for any size; same arguments. Throws where WebAssembly SIMD is
 * unavailable.
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
  checkWasm("gemmSimd", false);
  if (m === 0 || n === 0 || k === 0) return;
  if (!gemmWasm(false, transA, transB, m, n, k, a, aOff, b, bOff, c, cOff, false)) {
    gemmBlocked(transA, transB, m, n, k, a, aOff, b, bOff, c, cOff); // the same bits
  }
}

/**
 * The WebAssembly kernel with fused multiply-add (`f64x2.relaxed_madd`) behind {@link gemm} on
 * the `"wasm-fma"` backend, for any size; same arguments. It sums in the same order as
 * {@link gemmSimd} but rounds each multiply-add once. Throws where the start-up probe did not
 * find the multiply-add fused ({@link fmaFused}).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { fmaFused, gemmFma } from "@kit/kernels.ts";
 * if (fmaFused()) {
 *   // C = 1·(-1) + (1 + e)(1 - e): fused, the second step keeps -e²; multiply-then-add gives 0
 *   const e = 2 ** -30, c = new Float64Array(1);
 *   gemmFma(false, false, 1, 1, 2, Float64Array.of(1, 1 + e), 0, Float64Array.of(-1, 1 - e), 0, c, 0);
 *   deepStrictEqual(Array.from(c), [-(e * e)]);
 * }
 * ```
 */
export function gemmFma(
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
  checkWasm("gemmFma", true);
  if (m === 0 || n === 0 || k === 0) return;
  if (!gemmWasm(true, transA, transB, m, n, k, a, aOff, b, bOff, c, cOff, false)) {
    throw new RangeError(
      `gemmFma: a ${m} x ${k} by ${k} x ${n} product needs more than ${MAX_BYTES} bytes of ` +
        `WebAssembly memory; use gemm`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Fused Linear

/**
 * The forward of a linear layer as one operation: `out = x W^T + b`, then `max(out, 0)` when
 * `relu`; `x` is [rows, inF], `w` [outF, inF] (PyTorch's layout), `bias` [outF] or null, `out`
 * [rows, outF] is overwritten. On the WebAssembly backends the bias and the ReLU are applied by
 * the product kernel as it stores C (one pass); the result is bitwise that of
 * `gemm(false, true, ...)` into `out` preset to the bias rows, then ReLU.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { linearForward } from "@kit/kernels.ts";
 * const out = new Float64Array(2);
 * // x = [[1, 2]], W = [[1, 1], [1, -1]], b = [0, 0.5]: [3, -1 + 0.5] -> ReLU -> [3, 0]
 * linearForward(Float64Array.of(1, 2), Float64Array.of(1, 1, 1, -1), Float64Array.of(0, 0.5), out, 1, 2, 2, true);
 * deepStrictEqual(Array.from(out), [3, 0]);
 * ```
 */
export function linearForward(
  x: Float64Array,
  w: Float64Array,
  bias: Float64Array | null,
  out: Float64Array,
  rows: number,
  inF: number,
  outF: number,
  relu: boolean,
): void {
  if (rows === 0 || outF === 0) return;
  if (backend !== "ts" && inF > 0 && !isSmall(rows, outF, inF)) {
    const X = 0, W = X + span(rows * inF, inF), Bi = W + span(outF * inF, inF);
    const C = Bi + span(outF, 0), P = C + span(rows * outF, outF);
    if (ensure(P + packSpan(outF, inF))) {
      put(x, 0, rows * inF, X);
      put(w, 0, outF * inF, W);
      if (bias) put(bias, 0, outF, Bi);
      const first = bias ? BIAS : 0, last = relu ? RELU : 0;
      // B(p, j) = W[j, p]: columns of B are W's rows, contiguous
      product(
        backend === "wasm-fma",
        rows,
        outF,
        inF,
        X * 8,
        inF * 8,
        8,
        W * 8,
        8,
        inF * 8,
        C * 8,
        P * 8,
        first,
        last,
        Bi * 8,
      );
      get(C, out, 0, rows * outF);
      return;
    }
  }
  if (bias) { for (let r = 0; r < rows; r++) out.set(bias, r * outF); }
  else out.fill(0);
  gemm(false, true, rows, outF, inF, x, 0, w, 0, out, 0);
  if (relu) reluForward(out, out);
}

/**
 * The backward of {@link linearForward}: from `g` = dL/d(out) [rows, outF] it writes
 * `gb` = column sums of g' [outF], `gx` = g' W [rows, inF] and `gw` = g'^T x [outF, inF]
 * (each overwritten; pass null for those not needed), where g' is g with the ReLU's mask applied
 * when `y` (the forward's output) is given: g'[i] = y[i] > 0 ? g[i] : 0. `g` may be overwritten
 * (with g'). On the WebAssembly backends g' is copied once and used by all three; the results are
 * bitwise those of the mask, a plain column sum in row order, and `gemm` into zeroed arrays.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { linearBackward } from "@kit/kernels.ts";
 * // one row, x = [1, 2], W = [[1, 1], [1, -1]], y = [3, 0] (the second output was cut by ReLU)
 * const gx = new Float64Array(2), gw = new Float64Array(4), gb = new Float64Array(2);
 * const g = Float64Array.of(1, 1);
 * linearBackward(g, Float64Array.of(1, 2), Float64Array.of(1, 1, 1, -1), Float64Array.of(3, 0), gx, gw, gb, 1, 2, 2);
 * deepStrictEqual([Array.from(gb), Array.from(gx), Array.from(gw)], [[1, 0], [1, 1], [1, 2, 0, 0]]);
 * ```
 */
export function linearBackward(
  g: Float64Array,
  x: Float64Array,
  w: Float64Array,
  y: Float64Array | null,
  gx: Float64Array | null,
  gw: Float64Array | null,
  gb: Float64Array | null,
  rows: number,
  inF: number,
  outF: number,
): void {
  const n = rows * outF;
  const wasmGx = gx !== null && !isSmall(rows, inF, outF);
  const wasmGw = gw !== null && !isSmall(outF, inF, rows);
  if (backend !== "ts" && n > 0 && (gx === null || wasmGx) && (gw === null || wasmGw)) {
    const G = 0, Y = G + span(n, outF), W = Y + (y ? span(n, outF) : 0);
    const X = W + (gx ? span(outF * inF, inF) : 0), GB = X + (gw ? span(rows * inF, inF) : 0);
    const GX = GB + span(outF, 0), GW = GX + (gx ? span(rows * inF, inF) : 0);
    const P = GW + (gw ? span(outF * inF, inF) : 0);
    if (ensure(P + packSpan(inF, Math.max(rows, outF)))) {
      put(g, 0, n, G);
      if (y) {
        put(y, 0, n, Y);
        wasm!.reluGrad(Y * 8, G * 8, (G + n + (n & 1)) * 8);
      }
      const fma = backend === "wasm-fma";
      if (gb) {
        mem.fill(0, GB, GB + outF + 1);
        wasm!.colSum(G * 8, rows, outF * 8, (outF + 1) >> 1, GB * 8);
        get(GB, gb, 0, outF);
      }
      if (gx) {
        // gx = g' W: A = g' [rows, outF], B = W [outF, inF] read in place
        put(w, 0, outF * inF, W);
        product(
          fma,
          rows,
          inF,
          outF,
          G * 8,
          outF * 8,
          8,
          W * 8,
          inF * 8,
          8,
          GX * 8,
          P * 8,
          0,
          0,
          0,
        );
        get(GX, gx, 0, rows * inF);
      }
      if (gw) {
        // gw = g'^T x: A(i, p) = g'[p, i], B = x [rows, inF] read in place
        put(x, 0, rows * inF, X);
        product(
          fma,
          outF,
          inF,
          rows,
          G * 8,
          8,
          outF * 8,
          X * 8,
          inF * 8,
          8,
          GW * 8,
          P * 8,
          0,
          0,
          0,
        );
        get(GW, gw, 0, outF * inF);
      }
      return;
    }
  }
  if (y) reluBackward(y, g);
  if (gb) {
    gb.fill(0);
    for (let r = 0; r < rows; r++) {
      const o = r * outF;
      for (let j = 0; j < outF; j++) gb[j] += g[o + j];
    }
  }
  if (gx) {
    gx.fill(0);
    gemm(false, false, rows, inF, outF, g, 0, w, 0, gx, 0);
  }
  if (gw) {
    gw.fill(0);
    gemm(true, false, outF, inF, rows, g, 0, x, 0, gw, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Optimizer state

type AdamKernel = (
  pw: number,
  pg: number,
  pm: number,
  pv: number,
  end: number,
  w1: number,
  b2: number,
  s: number,
  c: number,
  eps: number,
  decay: number,
  wd: number,
) => void;

/**
 * WebAssembly memory for an optimizer's state, which a kernel then updates where it lies: only
 * the parameter and its gradient are copied in (and the parameter out), not the moments. The
 * memory is sized once and never grows, so the `Float64Array` views it hands out (the moments,
 * as `opt.state.get(p).expAvg.data` shows them) stay valid; an optimizer that needs more takes
 * another arena. It lives as long as the optimizer and its state.
 *
 * @example
 * ```ts
 * import { ok, strictEqual } from "node:assert";
 * import { StateArena } from "@kit/kernels.ts";
 * const arena = StateArena.create(1000, 300);
 * if (arena) { // null without WebAssembly SIMD
 *   const m = arena.alloc(300)!;
 *   strictEqual(m.length, 300);
 *   ok(arena.owns(m) && !arena.owns(new Float64Array(300)));
 * }
 * ```
 */
export class StateArena {
  #mem: Float64Array;
  #adam: AdamKernel;
  #top = 0;
  readonly #end: number;
  readonly #scratch: number;

  private constructor(mem: Float64Array, adam: AdamKernel, end: number, scratch: number) {
    this.#mem = mem;
    this.#adam = adam;
    this.#end = end;
    this.#scratch = scratch;
  }

  /**
   * An arena for `doubles` values of state (count each array's length rounded up to an even
   * number) and parameters of up to `largest` values; null without WebAssembly SIMD.
   */
  static create(doubles: number, largest: number): StateArena | null {
    if (wasm === null) return null;
    const end = doubles, scratch = 2 * largest + 16;
    const pages = Math.ceil(((end + scratch) * 8) / 65536);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const exports = instantiate(wasm.module, memory);
    return new StateArena(
      new Float64Array(memory.buffer),
      exports.adam as AdamKernel,
      end,
      scratch,
    );
  }

  /** A zeroed view of `n` values in this arena, or null when it is full. */
  alloc(n: number): Float64Array | null {
    const at = this.#top, len = n + (n & 1); // 16-byte aligned, room for the second lane
    if (at + len > this.#end) return null;
    this.#top = at + len;
    return this.#mem.subarray(at, at + n);
  }

  /** Whether `a` is a view into this arena. */
  owns(a: Float64Array): boolean {
    return a.buffer === this.#mem.buffer;
  }

  /**
   * One step of Adam on parameter `w` with gradient `g` and moments `m`, `v` (views from
   * {@link StateArena.alloc}): the update of `Adam.update` in lib/optim.ts, bitwise (see
   * `gemmWat`'s `adam`). `decay` is AdamW's factor (1 for none), `wd` Adam's L2 coefficient.
   * False (nothing done) when `w` is larger than the arena's scratch.
   */
  adam(
    w: Float64Array,
    g: Float64Array,
    m: Float64Array,
    v: Float64Array,
    w1: number,
    beta2: number,
    stepSize: number,
    bc2Sqrt: number,
    eps: number,
    decay: number,
    wd: number,
  ): boolean {
    const n = w.length, W = this.#end, G = W + n + 4;
    if (G + n + 4 > this.#end + this.#scratch) return false;
    const mem = this.#mem;
    mem.set(w, W);
    mem.set(g, G);
    const end = (W + n + (n & 1)) * 8;
    this.#adam(
      W * 8,
      G * 8,
      m.byteOffset,
      v.byteOffset,
      end,
      w1,
      beta2,
      stepSize,
      bc2Sqrt,
      eps,
      decay,
      wd,
    );
    w.set(mem.subarray(W, W + n));
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Elementwise

/**
 * ReLU, `out[i] = max(x[i], 0)` (NaN stays NaN, -0 becomes 0, as `torch.relu`); `out` may be
 * `x`. Arrays of 64 doubles or more go through WebAssembly SIMD (`f64x2.max`): a plain loop
 * branches on the sign of each x, which is random in a network and mispredicted half the time.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { reluForward } from "@kit/kernels.ts";
 * const out = new Float64Array(4);
 * reluForward(Float64Array.of(-1, -0, 2, NaN), out);
 * deepStrictEqual(Array.from(out), [0, 0, 2, NaN]);
 * ```
 */
export function reluForward(x: Float64Array, out: Float64Array): void {
  const n = x.length;
  if (out.length !== n) throw new RangeError("reluForward: x and out must have the same length");
  if (wasm === null || backend === "ts" || n < 64 || !ensure(2 * span(n, 0))) {
    for (let i = 0; i < n; i++) out[i] = x[i] > 0 || x[i] !== x[i] ? x[i] : 0; // NaN stays NaN
    return;
  }
  const Y = span(n, 0);
  put(x, 0, n, 0);
  wasm.relu(0, Y * 8, (Y + n + (n & 1)) * 8);
  get(Y, out, 0, n);
}

/**
 * The backward rule of ReLU in place: `g[i] = x[i] > 0 ? g[i] : 0` (so the gradient at 0, and at
 * NaN, is 0, as PyTorch); `x` may be ReLU's input or its output (both are > 0 at the same places).
 * Arrays of 64 doubles or more go through WebAssembly SIMD, where the select is a bitwise AND with
 * a comparison mask: a plain loop branches on the sign of each x, which is random in a network and
 * mispredicted half the time (about 4 times slower).
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
  if (wasm === null || backend === "ts" || n < 64 || !ensure(2 * span(n, 0))) {
    for (let i = 0; i < n; i++) g[i] = x[i] > 0 ? g[i] : 0;
    return;
  }
  const G = span(n, 0);
  put(x, 0, n, 0);
  put(g, 0, n, G);
  wasm.reluGrad(0, G * 8, (G + n + (n & 1)) * 8);
  get(G, g, 0, n);
}
