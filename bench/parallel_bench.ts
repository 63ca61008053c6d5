/**
 * `parallelMap` (lib/parallel.ts) on the double-descent sweep of `_sweep.ts`: 20 seeds, each
 * building its own random-ReLU-feature data and fitting p = 10, 20, ..., 300 by minimum-norm
 * least squares, on the main thread (the baseline) and on Web Workers. Worker start-up (loading
 * the job's module in each) is inside the timing, as a notebook would pay it. The curves must be
 * bit-identical first.
 *
 * Run: `deno bench -A bench/parallel_bench.ts`; `BENCH_SMOKE=1` runs 2 seeds.
 */
import { parallelMap } from "../lib/parallel.ts";
import { bench, SMOKE } from "./_stats.ts";
import { sweepSeed } from "./_sweep.ts";

const SEEDS = Array.from({ length: SMOKE ? 2 : 20 }, (_, i) => i);
const WORKERS = navigator.hardwareConcurrency;
const job = { module: new URL("./_sweep.ts", import.meta.url), name: "sweepSeed" };

const serial = SEEDS.map(sweepSeed);
const parallel = await parallelMap(SEEDS, job, { workers: WORKERS });
if (JSON.stringify(serial) !== JSON.stringify(parallel)) {
  throw new Error("parallel_bench: the workers' test errors differ from the main thread's");
}

const group = `double-descent sweep on Web Workers (${SEEDS.length} seeds x 30 fits)`;
bench({
  group,
  name: "main thread, one seed after another",
  baseline: true,
  n: 5,
  warmup: 1,
  fn: () => void SEEDS.map(sweepSeed),
});
bench({
  group,
  name: `parallelMap, ${WORKERS} workers (start-up included)`,
  n: 5,
  warmup: 1,
  fn: async () => void (await parallelMap(SEEDS, job, { workers: WORKERS })),
});
