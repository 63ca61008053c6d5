/**
 * Square matrix multiply C = A·B, n = 32 ... 512: our float64 kernels of lib/kernels.ts (the
 * WebAssembly kernel with fused multiply-add `gemmFma` where the CPU fuses it, the WebAssembly
 * SIMD `gemmSimd`, the pure TypeScript `gemmBlocked`, each also with a transposed operand as
 * backward needs, and `Tensor.matmul`, which allocates its result) against
 * TensorFlow.js `tf.matMul` on its "wasm" backend (the group's baseline) and "cpu" backend, both
 * float32 since tfjs has no float64. GFLOP/s = 2 n^3 / median time. Before the benches, each
 * size's product is checked against tfjs's to float32 accuracy.
 *
 * Run: `deno bench -A bench/matmul_bench.ts`; `BENCH_SMOKE=1` keeps n = 32 and 64.
 */
import { fmaFused, gemmBlocked, gemmFma, gemmSimd, matmulReference } from "../lib/kernels.ts";
import { rng } from "../lib/random.ts";
import { Tensor } from "../lib/tensor.ts";
import { bench, SMOKE } from "./_stats.ts";
import { tf, TF_BACKENDS, useBackend } from "./_tfjs.ts";

const g = rng(0);
const fill = (len: number) => Float64Array.from({ length: len }, () => g.normal());

for (const n of SMOKE ? [32, 64] : [32, 64, 128, 256, 512]) {
  const a = fill(n * n), b = fill(n * n), c = new Float64Array(n * n);
  const a32 = Float32Array.from(a), b32 = Float32Array.from(b);
  const group = `matmul n=${n}`, flops = 2 * n ** 3;

  // Same product, float32 accuracy: relative to the largest entry.
  gemmSimd(false, false, n, n, n, a, 0, b, 0, c, 0);
  const theirs = tf.tidy(() =>
    tf.matMul(tf.tensor2d(a32, [n, n]), tf.tensor2d(b32, [n, n])).dataSync()
  );
  let err = 0, big = 0;
  c.forEach((x, i) => {
    err = Math.max(err, Math.abs(x - theirs[i]));
    big = Math.max(big, Math.abs(x));
  });
  if (!(err <= 1e-4 * big)) throw new Error(`matmul n=${n}: ours and tfjs differ by ${err}`);

  for (const backend of TF_BACKENDS.toReversed()) {
    let ta: tf.Tensor2D | undefined, tb: tf.Tensor2D | undefined;
    bench({
      group,
      name: `tfjs-${backend} tf.matMul (f32)`,
      baseline: backend === "wasm",
      flops,
      async before() {
        await useBackend(backend);
        ta ??= tf.tensor2d(a32, [n, n]);
        tb ??= tf.tensor2d(b32, [n, n]);
      },
      fn() {
        const t = tf.matMul(ta!, tb!);
        t.dataSync();
        t.dispose();
      },
    });
  }
  const kernels = [
    ...(fmaFused() ? [["gemmFma", gemmFma] as const] : []),
    ["gemmSimd", gemmSimd],
    ["gemmBlocked", gemmBlocked],
  ] as const;
  for (const [kernel, gemm] of kernels) {
    bench({
      group,
      name: `ours ${kernel} A·B (f64)`,
      flops,
      fn: () => gemm(false, false, n, n, n, a, 0, b, 0, c, 0),
    });
    bench({
      group,
      name: `ours ${kernel} Aᵀ·B (f64)`,
      flops,
      fn: () => gemm(true, false, n, n, n, a, 0, b, 0, c, 0),
    });
    bench({
      group,
      name: `ours ${kernel} A·Bᵀ (f64)`,
      flops,
      fn: () => gemm(false, true, n, n, n, a, 0, b, 0, c, 0),
    });
  }
  const ta = new Tensor(a, [n, n]), tb = new Tensor(b, [n, n]);
  bench({ group, name: "ours Tensor.matmul (f64)", flops, fn: () => void ta.matmul(tb) });
  if (n <= 256) {
    bench({
      group,
      name: "plain triple loop (f64)",
      flops,
      fn: () => void matmulReference(a, b, n, n, n),
    });
  }
}
