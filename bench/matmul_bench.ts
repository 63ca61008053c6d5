// Matrix multiply in float64: the WebAssembly SIMD kernel and the pure TypeScript kernel of
// lib/kernels.ts (plain product and the two transposed products backward needs) against the
// plain triple loop. GFLOP/s = 2 n^3 / (time per iteration).
// `deno bench -A bench/matmul_bench.ts` prints the times.
import { gemmBlocked, gemmSimd, matmulReference } from "../lib/kernels.ts";
import { rng } from "../lib/random.ts";

const g = rng(0);
const fill = (len: number) => Float64Array.from({ length: len }, () => g.normal());

for (const n of [64, 128, 256, 512]) {
  const a = fill(n * n), b = fill(n * n), c = new Float64Array(n * n);
  const group = `matmul n=${n} (${(2 * n ** 3 / 1e6).toFixed(1)} MFLOP)`;
  Deno.bench(`simd A·B n=${n}`, { group, baseline: true }, () => {
    gemmSimd(false, false, n, n, n, a, 0, b, 0, c, 0);
  });
  Deno.bench(`simd A^T·B n=${n}`, { group }, () => {
    gemmSimd(true, false, n, n, n, a, 0, b, 0, c, 0);
  });
  Deno.bench(`simd A·B^T n=${n}`, { group }, () => {
    gemmSimd(false, true, n, n, n, a, 0, b, 0, c, 0);
  });
  Deno.bench(`ts A·B n=${n}`, { group }, () => {
    gemmBlocked(false, false, n, n, n, a, 0, b, 0, c, 0);
  });
  Deno.bench(`ts A^T·B n=${n}`, { group }, () => {
    gemmBlocked(true, false, n, n, n, a, 0, b, 0, c, 0);
  });
  Deno.bench(`ts A·B^T n=${n}`, { group }, () => {
    gemmBlocked(false, true, n, n, n, a, 0, b, 0, c, 0);
  });
  if (n <= 256) {
    Deno.bench(`reference triple loop n=${n}`, { group }, () => {
      matmulReference(a, b, n, n, n);
    });
  }
}
