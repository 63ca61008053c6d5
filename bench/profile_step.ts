/**
 * Where the training step's time goes: V8's sampling CPU profiler (the one behind
 * `deno run --cpu-prof`, started here through `node:inspector` so that it covers only the steady
 * state) over `--steps` steps of the MLP of `bench/torch_step.ts`, after 300 steps of warm-up. The
 * self time of every function is summed into:
 *
 * - WebAssembly kernels: the matrix products, B's packing, ReLU masks, column sums, Adam (with
 *   the JS-to-WebAssembly entry frames, to which V8's profiler attributes much of their time);
 * - copies into and out of the kernels' memory (`put`, `get`, `StateArena.adam` in
 *   lib/kernels.ts, where V8 did not inline them);
 * - Adam's TypeScript loop (parameters under 256 values), the loss's arithmetic, small products;
 * - garbage collection;
 * - everything else in JavaScript: the per-operation overhead (creating tensors, recording and
 *   sorting the graph, dispatch, argument checks, the buffer pool), plus the copies V8 inlined
 *   into their callers (`linearForward`, `linearBackward`): an upper bound of the overhead.
 *
 * The profiler's own frames (`node:inspector`) are left out. Before profiling it also reports
 * what one step allocates: V8's external-memory counter (typed arrays) and heap growth over a
 * step, medians of 101 steps.
 *
 * ```sh
 * deno run -A bench/profile_step.ts                          # 64-128-128-10, 3000 steps
 * deno run -A bench/profile_step.ts --arch small --steps 30000
 * ```
 *
 * @module
 */
import { Session } from "node:inspector";
import {
  Adam,
  crossEntropy,
  Linear,
  mseLoss,
  randn,
  ReLU,
  rng,
  Sequential,
  type Tensor,
  tensor,
} from "../lib/mod.ts";

const USAGE = `usage: deno run -A bench/profile_step.ts [--arch big|small] [--steps N] [--top K]

Profiles the MLP training step (big: 64-128-128-10, batch 64, cross-entropy; small: 2-16-16-1,
batch 32, MSE; Adam) with V8's CPU profiler and prints where its time goes.`;

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

function parse(args: string[]) {
  let arch = "big", steps = 0, top = 12;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--help" || a === "-h") return null;
    if (a === "--arch" && ["big", "small"].includes(args[i + 1])) arch = args[++i];
    else if (a === "--steps" && Number(args[i + 1]) > 0) steps = Number(args[++i]);
    else if (a === "--top" && Number(args[i + 1]) > 0) top = Number(args[++i]);
    else throw new Error(`profile_step: bad argument "${a}"\n${USAGE}`);
  }
  return { arch, steps: steps || (arch === "big" ? 3000 : 30000), top };
}

function model(arch: string) {
  const a = arch === "big"
    ? { sizes: [64, 128, 128, 10], batch: 64, mse: false }
    : { sizes: [2, 16, 16, 1], batch: 32, mse: true };
  const gw = rng(0), gd = rng(1), out = a.sizes.at(-1)!;
  const x = randn([a.batch, a.sizes[0]], gd);
  const y = a.mse
    ? randn([a.batch, out], gd)
    : tensor(Array.from({ length: a.batch }, (_, k) => k % out));
  const layers = [];
  for (let l = 0; l + 1 < a.sizes.length; l++) {
    if (l > 0) layers.push(new ReLU());
    layers.push(new Linear(a.sizes[l], a.sizes[l + 1], { rng: gw }));
  }
  const net = new Sequential(...layers);
  const opt = new Adam(net, { lr: 1e-3 });
  const lossOf = (o: Tensor) => (a.mse ? mseLoss(o, y) : crossEntropy(o, y));
  return {
    name: `MLP ${a.sizes.join("-")}, batch ${a.batch}`,
    step() {
      opt.zeroGrad();
      lossOf(net.call(x)).backward();
      opt.step();
    },
  };
}

const OTHER = "JavaScript: per-operation overhead (and copies inlined into their callers)";

function category(n: Node): string | null {
  const { functionName: f, url } = n.callFrame;
  if (f === "(idle)" || f === "(program)" || f === "(root)") return null;
  if (url.includes("deno_node/inspector")) return null; // the profiler itself
  if (f === "(garbage collector)") return "garbage collection";
  if (url.startsWith("wasm://") || f.startsWith("wasm-function[") || f.startsWith("js-to-wasm")) {
    return "WebAssembly kernels (products, packing, ReLU masks, column sums, Adam)";
  }
  if (url.endsWith("lib/kernels.ts") && ["put", "get", "adam"].includes(f)) {
    return "copies into and out of the kernels' memory";
  }
  if (url.endsWith("lib/optim.ts") && f === "adamPlain") {
    return "Adam's TypeScript loop (small parameters)";
  }
  if (
    url.endsWith("lib/tensor.ts") && f.startsWith("_crossEntropyMean") ||
    f === "crossEntropyBackward"
  ) {
    return "the loss's arithmetic (log-softmax, its gradient)";
  }
  if (f === "gemmSimple") return "small products in TypeScript";
  return OTHER;
}

async function main(args: string[]): Promise<number> {
  const opts = parse(args);
  if (opts === null) {
    console.log(USAGE);
    return 0;
  }
  const m = model(opts.arch);
  for (let i = 0; i < 300; i++) m.step();
  // what one step allocates: V8's external-memory counter (typed arrays) and heap, median of 101
  const ext: number[] = [], heap: number[] = [];
  for (let i = 0; i < 101; i++) {
    const m0 = Deno.memoryUsage();
    m.step();
    const m1 = Deno.memoryUsage();
    ext.push(m1.external - m0.external);
    heap.push(m1.heapUsed - m0.heapUsed);
  }
  const mid = (a: number[]) => a.sort((p, q) => p - q)[a.length >> 1];
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params: object = {}) =>
    new Promise<T>((ok, fail) =>
      session.post(method, params, (e: Error | null, r: unknown) => (e ? fail(e) : ok(r as T)))
    );
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 50 });
  await post("Profiler.start");
  const t0 = performance.now();
  for (let i = 0; i < opts.steps; i++) m.step();
  const perStep = (performance.now() - t0) / opts.steps;
  const { profile } = await post<{ profile: Profile }>("Profiler.stop");
  session.disconnect();

  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const cats = new Map<string, number>(), fns = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const n = byId.get(id)!, dt = profile.timeDeltas[i] ?? 0, c = category(n);
    if (c === null) return;
    total += dt;
    cats.set(c, (cats.get(c) ?? 0) + dt);
    if (c === OTHER) {
      const { functionName: f, url, lineNumber } = n.callFrame;
      const key = `${f || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`;
      fns.set(key, (fns.get(key) ?? 0) + dt);
    }
  });
  const pct = (x: number) => `${(100 * x / total).toFixed(1)} %`;
  console.log(
    `${m.name}: ${opts.steps} steps, ${(perStep * 1e3).toFixed(1)} µs per step (profiled), ` +
      `load average ${Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ")}; ` +
      `allocated per step: ${mid(ext)} bytes of typed arrays, ${mid(heap)} bytes of JavaScript ` +
      `heap (medians of 101 steps)\n`,
  );
  console.log("| where | share of the step |\n| --- | ---: |");
  for (const [c, t] of [...cats].sort((a, b) => b[1] - a[1])) console.log(`| ${c} | ${pct(t)} |`);
  console.log(`\nlargest JavaScript functions (self time):`);
  for (const [f, t] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, opts.top)) {
    console.log(`  ${pct(t).padStart(7)}  ${f}`);
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(2);
  }
}
