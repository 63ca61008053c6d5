// The WebAssembly kernels of lib/kernels.ts beyond tensor_test.ts: the fused multiply-add kernel
// (within the error bound of a float64 sum, and really fused), the start-up probe and its
// fallback (V8 told not to use FMA3), the same bits from V8's baseline and optimizing compilers,
// the blocking paths (k > 256, n >= 256 packed, n > 512, m > 192), and the fused Linear forward
// and backward: bitwise the composition of bias, gemm, ReLU and column sums on every backend.
import { deepStrictEqual, equal, match, ok, throws } from "node:assert/strict";
import {
  fmaFused,
  gemm,
  gemmBackend,
  gemmBlocked,
  gemmFma,
  gemmSimd,
  linearBackward,
  linearForward,
  matmulReference,
  reluBackward,
  reluForward,
  setGemmBackend,
} from "@kit/kernels.ts";
import { rng } from "@kit/random.ts";

const EPS = 2 ** -52;
const BACKENDS = (["wasm-fma", "wasm", "ts"] as const).filter((b) =>
  b !== "wasm-fma" || fmaFused()
);

/** Runs `fn` on backend `b`, restoring the previous one. */
function on<T>(b: "wasm-fma" | "wasm" | "ts", fn: () => T): T {
  const before = gemmBackend();
  setGemmBackend(b);
  try {
    return fn();
  } finally {
    setGemmBackend(before);
  }
}

function transposeOf(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

/** Same values, element by element (Object.is: NaN equals NaN whatever its payload, -0 is not 0). */
function sameValues(actual: Float64Array, expected: Float64Array, msg: string): void {
  equal(actual.length, expected.length, msg);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      throw new Error(`${msg}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

Deno.test("gemmFma: within the float64 error bound of the sum, every transpose, every blocking path", () => {
  // |fl(sum) - sum| <= k eps sum |a_ip b_pj| for any order of summation with or without FMA;
  // the shapes cross the kernel's blocks: k > 256 (two blocks of k), n >= 256 (B packed),
  // n > 512 (two blocks of columns), m > 192 (two blocks of rows), odd edges everywhere
  if (!fmaFused()) return; // the fallback test below covers CPUs without FMA
  const g = rng(21);
  const shapes = [[7, 9, 5], [13, 10, 64], [64, 128, 128], [200, 33, 17], [9, 257, 300]];
  shapes.push([6, 520, 40], [65, 67, 513]);
  for (const [m, n, k] of shapes) {
    const a = Float64Array.from({ length: m * k }, () => g.normal());
    const b = Float64Array.from({ length: k * n }, () => g.normal());
    const ref = matmulReference(a, b, m, k, n);
    const absRef = matmulReference(a.map(Math.abs), b.map(Math.abs), m, k, n);
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
      const pad = 2;
      const A = new Float64Array(pad + m * k), B = new Float64Array(pad + k * n);
      A.set(ta ? transposeOf(a, m, k) : a, pad);
      B.set(tb ? transposeOf(b, k, n) : b, pad);
      const C = new Float64Array(pad + m * n + pad).fill(0.5);
      gemmFma(ta, tb, m, n, k, A, pad, B, pad, C, pad);
      ok(C[0] === 0.5 && C[1] === 0.5 && C[pad + m * n] === 0.5, "wrote outside C's block");
      for (let i = 0; i < m * n; i++) {
        const err = Math.abs(C[pad + i] - 0.5 - ref[i]);
        const bound = (k + 2) * EPS * (absRef[i] + 0.5) * 2;
        if (!(err <= bound)) {
          throw new Error(`m=${m} n=${n} k=${k} ta=${ta} tb=${tb}: element ${i} off by ${err}`);
        }
      }
    }
  }
});

Deno.test("gemmFma rounds once per multiply-add: it differs from gemmSimd, which rounds twice", () => {
  if (!fmaFused()) return;
  const e = 2 ** -30;
  // C = 1·(-1) + (1 + e)(1 - e): the second step's product 1 - e² rounds to 1 alone, so a multiply
  // then an add gives 0, where a fused multiply-add onto -1 keeps -e² exactly
  const a1 = Float64Array.of(1, 1 + e), b1 = Float64Array.of(-1, 1 - e);
  const fused = new Float64Array(1), twice = new Float64Array(1);
  gemmFma(false, false, 1, 1, 2, a1, 0, b1, 0, fused, 0);
  gemmSimd(false, false, 1, 1, 2, a1, 0, b1, 0, twice, 0);
  deepStrictEqual([fused[0], twice[0]], [-(e * e), 0]);
  // on random data the two kernels disagree in the last bits of many elements, and only there
  const g = rng(22), m = 64, n = 128, k = 128;
  const a = Float64Array.from({ length: m * k }, () => g.normal());
  const b = Float64Array.from({ length: k * n }, () => g.normal());
  const c1 = new Float64Array(m * n), c2 = new Float64Array(m * n);
  gemmFma(false, false, m, n, k, a, 0, b, 0, c1, 0);
  gemmSimd(false, false, m, n, k, a, 0, b, 0, c2, 0);
  let differ = 0;
  for (let i = 0; i < c1.length; i++) {
    if (c1[i] !== c2[i]) differ++;
    ok(Math.abs(c1[i] - c2[i]) <= 4 * k * EPS * (Math.abs(c2[i]) + 1), `element ${i}`);
  }
  ok(differ > c1.length / 4, `only ${differ} of ${c1.length} elements differ: FMA not in use?`);
});

Deno.test("the default backend follows the probe; a CPU with FMA3 gets the fused kernel", () => {
  equal(gemmBackend(), fmaFused() ? "wasm-fma" : "wasm");
  let flags = "";
  try {
    flags = Deno.readTextFileSync("/proc/cpuinfo");
  } catch { /* not Linux: nothing more to check */ }
  if (/^flags\s*:.*\bfma\b/m.test(flags) && /^flags\s*:.*\bavx\b/m.test(flags)) {
    ok(fmaFused(), "this CPU has FMA3, so V8 should fuse f64x2.relaxed_madd");
  }
});

/** Runs `code` (which may import the kit by absolute URL) in a fresh Deno with `v8Flags`. */
function runWith(v8Flags: string, code: string): string {
  const out = new Deno.Command(Deno.execPath(), {
    args: ["eval", `--v8-flags=${v8Flags}`, code],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr) || text);
  return text.trim();
}

const KERNELS = new URL("../lib/kernels.ts", import.meta.url).href;

/** A digest of a fixed 37 x 300 by 300 x 29 product (bits of every element). */
const DIGEST = `
  const m = 37, n = 29, k = 300;
  let s = 1;
  const r = () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
  const a = Float64Array.from({ length: m * k }, r), b = Float64Array.from({ length: k * n }, r);
  const c = new Float64Array(m * n);
  K.gemm(false, false, m, n, k, a, 0, b, 0, c, 0);
  let h = 0n;
  for (const x of new BigUint64Array(c.buffer)) h = (h * 1000003n + x) & 0xffffffffffffffffn;
  console.log(JSON.stringify({ backend: K.gemmBackend(), fused: K.fmaFused(), digest: h.toString(16) }));
`;

Deno.test("without FMA3 (V8 flag) the probe says 'not fused' and gemm runs the two-rounding kernel", () => {
  const code = `import * as K from "${KERNELS}";
    ${DIGEST.replace("console.log(", "const d = (")};
    let refused = "";
    try { K.setGemmBackend("wasm-fma"); } catch (e) { refused = e.message; }
    K.setGemmBackend("wasm");
    const c2 = new Float64Array(m * n);
    K.gemm(false, false, m, n, k, a, 0, b, 0, c2, 0);
    console.log(JSON.stringify({ ...JSON.parse(d), refused, same: c2.every((x, i) => Object.is(x, c[i])) }));`;
  const r = JSON.parse(runWith("--no-enable-fma3", code));
  equal(r.fused, false);
  equal(r.backend, "wasm");
  match(r.refused, /does not fuse WebAssembly's relaxed multiply-add/);
  ok(r.same, "the default backend there is the SIMD kernel");
  // and its bits are those of the SIMD kernel here
  const here = JSON.parse(
    runWith("--no-liftoff", `import * as K from "${KERNELS}"; K.setGemmBackend("wasm"); ${DIGEST}`),
  );
  equal(r.digest, here.digest);
});

Deno.test("V8's baseline (Liftoff) and optimizing (TurboFan) compilers give the same bits", () => {
  // a function's first calls run Liftoff code, later ones TurboFan's: results must not change
  // when the kernel warms up (the FMA instruction is emitted by the same code in both)
  const code = `import * as K from "${KERNELS}"; ${DIGEST}`;
  const baseline = JSON.parse(runWith("--liftoff-only", code));
  const optimized = JSON.parse(runWith("--no-liftoff", code));
  deepStrictEqual(baseline, optimized);
  equal(baseline.fused, fmaFused());
});

Deno.test("gemmSimd is bitwise gemmBlocked on every blocking path (k > 256, n >= 256, m > 192)", () => {
  const g = rng(23);
  for (const [m, n, k] of [[200, 33, 300], [9, 300, 40], [13, 530, 17], [193, 7, 513]]) {
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
      const a = Float64Array.from({ length: m * k }, () => g.normal());
      const b = Float64Array.from({ length: k * n }, () => g.normal());
      const c0 = Float64Array.from({ length: m * n }, () => g.normal());
      const c1 = c0.slice(), c2 = c0.slice();
      gemmBlocked(ta, tb, m, n, k, a, 0, b, 0, c1, 0);
      gemmSimd(ta, tb, m, n, k, a, 0, b, 0, c2, 0);
      deepStrictEqual(c2, c1, `m=${m} n=${n} k=${k} ta=${ta} tb=${tb}`);
    }
  }
});

// Shapes of a linear layer [rows, inF] -> [rows, outF]: the plain-loop sizes, tile edges, k > 256
// (two blocks, the bias added in the first), outF >= 256 (packed), rows > 192, outF = 1.
const LAYERS = [[3, 4, 5], [32, 2, 16], [64, 64, 128], [64, 128, 10], [50, 300, 7], [7, 33, 260]];
LAYERS.push([200, 16, 16], [65, 5, 1], [10, 64, 600]);

Deno.test("linearForward = bias rows, gemm, then ReLU, bitwise, on every backend", () => {
  const g = rng(24);
  for (const [rows, inF, outF] of LAYERS) {
    const x = Float64Array.from({ length: rows * inF }, () => g.normal());
    const w = Float64Array.from({ length: outF * inF }, () => g.normal());
    const bias = Float64Array.from({ length: outF }, () => g.normal());
    x[0] = NaN; // reaches the first row of the output through every product
    for (const b of BACKENDS) {
      for (const relu of [false, true]) {
        for (const withBias of [false, true]) {
          const expected = new Float64Array(rows * outF);
          on(b, () => {
            if (withBias) { for (let r = 0; r < rows; r++) expected.set(bias, r * outF); }
            gemm(false, true, rows, outF, inF, x, 0, w, 0, expected, 0);
          });
          if (relu) {
            for (let i = 0; i < expected.length; i++) expected[i] = Math.max(expected[i], 0);
          }
          const out = new Float64Array(rows * outF).fill(7); // stale contents are overwritten
          on(b, () => linearForward(x, w, withBias ? bias : null, out, rows, inF, outF, relu));
          sameValues(out, expected, `${b} rows=${rows} in=${inF} out=${outF} relu=${relu}`);
        }
      }
    }
  }
});

Deno.test("linearBackward = ReLU mask, column sums in row order, two gemms, bitwise, on every backend", () => {
  const g = rng(25);
  for (const [rows, inF, outF] of LAYERS) {
    const x = Float64Array.from({ length: rows * inF }, () => g.normal());
    const w = Float64Array.from({ length: outF * inF }, () => g.normal());
    const y = Float64Array.from({ length: rows * outF }, () => Math.max(g.normal(), 0));
    const dy = Float64Array.from({ length: rows * outF }, () => g.normal());
    for (const b of BACKENDS) {
      for (const relu of [false, true]) {
        const gm = dy.slice();
        if (relu) { for (let i = 0; i < gm.length; i++) gm[i] = y[i] > 0 ? gm[i] : 0; }
        const gb = new Float64Array(outF), gx = new Float64Array(rows * inF);
        const gw = new Float64Array(outF * inF);
        for (let r = 0; r < rows; r++) for (let j = 0; j < outF; j++) gb[j] += gm[r * outF + j];
        on(b, () => {
          gemm(false, false, rows, inF, outF, gm, 0, w, 0, gx, 0);
          gemm(true, false, outF, inF, rows, gm, 0, x, 0, gw, 0);
        });
        const msg = `${b} rows=${rows} in=${inF} out=${outF} relu=${relu}`;
        const [ab, ax, aw] = [outF, rows * inF, outF * inF].map((n) => new Float64Array(n).fill(3));
        on(b, () => linearBackward(dy.slice(), x, w, relu ? y : null, ax, aw, ab, rows, inF, outF));
        sameValues(ab, gb, `gb ${msg}`);
        sameValues(ax, gx, `gx ${msg}`);
        sameValues(aw, gw, `gw ${msg}`);
        // only the gradients asked for are computed
        const only = new Float64Array(outF * inF);
        on(
          b,
          () =>
            linearBackward(dy.slice(), x, w, relu ? y : null, null, only, null, rows, inF, outF),
        );
        sameValues(only, gw, `gw alone ${msg}`);
      }
    }
  }
});

Deno.test("reluForward is max(x, 0) elementwise (NaN stays NaN, -0 becomes 0), in place too", () => {
  const g = rng(26);
  const special = [0, -0, NaN, Infinity, -Infinity, 1e-300, -1e-300];
  for (const n of [1, 63, 64, 65, 1001]) {
    const x = Float64Array.from({ length: n }, (_, i) => i < 7 ? special[i] : g.normal());
    const expected = x.map((v) => (v > 0 || v !== v ? v : 0));
    for (const b of BACKENDS) {
      const out = new Float64Array(n);
      on(b, () => reluForward(x, out));
      sameValues(out, expected, `${b} n=${n}`);
      const inPlace = x.slice();
      on(b, () => reluForward(inPlace, inPlace));
      sameValues(inPlace, expected, `${b} n=${n} in place`);
    }
  }
  throws(() => reluForward(new Float64Array(2), new Float64Array(3)), /same length/);
  // reluBackward with ReLU's output as the mask gives what it gives with the input
  const pre = Float64Array.from({ length: 300 }, () => g.normal());
  const post = new Float64Array(300);
  reluForward(pre, post);
  const g1 = Float64Array.from({ length: 300 }, () => g.normal()), g2 = g1.slice();
  reluBackward(pre, g1);
  reluBackward(post, g2);
  deepStrictEqual(g2, g1);
});

Deno.test("setGemmBackend rejects unknown names", () => {
  throws(() => setGemmBackend("gpu" as "ts"), /unknown backend "gpu"/);
});
