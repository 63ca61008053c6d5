/**
 * The kit's training step beside PyTorch's, in one run: the same MLPs as
 * `bench/train_step_bench.ts` (64-128-128-10, batch 64, ReLU, cross-entropy; 2-16-16-1, batch 32,
 * ReLU, MSE), the same data and initial weights (the kit's `Linear` init, sent to PyTorch), Adam
 * with lr 1e-3, float64 on one thread on both sides. A step: zero the gradients (set to none),
 * forward, loss, backward, Adam step.
 *
 * PyTorch runs in a child process (`bench/_torch_step.py` on Debian's `python3-torch` and
 * `python3-numpy`, `/usr/bin/python3` or `$KIT_PYTHON`) with `OMP_NUM_THREADS=1`,
 * `OPENBLAS_NUM_THREADS=1` and `torch.set_num_threads(1)`. First both sides train 10 steps from
 * the same weights and must reach the same loss (to 1e-9, relative). Then the rounds interleave:
 * PyTorch, the kit, the kit, PyTorch, ... (at least five each), every round a median over
 * samples of `block` consecutive steps; the table gives the median of the round medians, the
 * ratio PyTorch / kit (above 1: the kit is faster) and the load average seen during the run.
 * Without PyTorch it prints why and exits 0. It is a benchmark, not a test.
 *
 * ```sh
 * deno run -A bench/torch_step.ts               # the README's table (7 rounds)
 * deno run -A bench/torch_step.ts --rounds 15   # more rounds
 * deno run -A bench/torch_step.ts --smoke       # 2 rounds of a few samples (checks the plumbing)
 * ```
 *
 * @module
 */
import {
  Adam,
  crossEntropy,
  Linear,
  mseLoss,
  noGrad,
  randn,
  ReLU,
  rng,
  Sequential,
  tensor,
} from "../lib/mod.ts";
import type { Tensor } from "../lib/mod.ts";
import { fmaFused, gemmBackend } from "../lib/kernels.ts";

interface Arch {
  sizes: number[];
  batch: number;
  loss: "cross-entropy" | "mse";
  /** Steps per timed sample. */
  block: number;
  /** Samples per round and side. */
  samples: number;
}
const ARCHS: Arch[] = [
  { sizes: [64, 128, 128, 10], batch: 64, loss: "cross-entropy", block: 10, samples: 15 },
  { sizes: [2, 16, 16, 1], batch: 32, loss: "mse", block: 50, samples: 15 },
];
const LR = 1e-3, CHECK_STEPS = 10, CHECK_RTOL = 1e-9;

const USAGE = `usage: deno run -A bench/torch_step.ts [--rounds N] [--smoke]

The kit's MLP training step and PyTorch's (float64, one thread), interleaved in one run.
  --rounds N   rounds per side (default 7, at least 5)
  --smoke      2 rounds of 3 samples: checks that both sides run and agree, measures nothing
Environment: KIT_PYTHON (default /usr/bin/python3), a Python with torch and numpy.`;

function parseArgs(args: string[]): { rounds: number; smoke: boolean } | null {
  let rounds = 7, smoke = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--help" || a === "-h") return null;
    if (a === "--smoke") smoke = true;
    else if (a === "--rounds") {
      rounds = Number(args[++i]);
      if (!Number.isInteger(rounds) || rounds < 5) {
        throw new Error(`torch_step: --rounds must be an integer >= 5, got "${args[i]}"`);
      }
    } else throw new Error(`torch_step: unknown argument "${a}"\n${USAGE}`);
  }
  return { rounds: smoke ? 2 : rounds, smoke };
}

/** The 1-minute load average. */
function load(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

function cpuModel(): string {
  try {
    const m = Deno.readTextFileSync("/proc/cpuinfo").match(/^model name\s*:\s*(.*)$/m);
    return `${m ? m[1] : "unknown CPU"}, ${navigator.hardwareConcurrency} cores`;
  } catch {
    return `${navigator.hardwareConcurrency} cores`;
  }
}

/** The PyTorch child: one JSON request per line, one JSON answer per line. */
class Torch {
  #proc: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;

  constructor(python: string) {
    this.#proc = new Deno.Command(python, {
      args: [new URL("./_torch_step.py", import.meta.url).pathname],
      env: { OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    this.#lines = this.#proc.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
      lineSplitter(),
    )[Symbol.asyncIterator]();
  }

  async ask<T>(req: Record<string, unknown>): Promise<T & { error?: string }> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(req) + "\n"));
    const { value, done } = await this.#lines.next();
    if (done) throw new Error(`torch_step: the PyTorch process ended (request ${req.cmd})`);
    return JSON.parse(value);
  }

  async close(): Promise<void> {
    await this.#writer.close();
    await this.#proc.status;
  }
}

function lineSplitter(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, ctl) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) if (p.trim()) ctl.enqueue(p);
    },
    flush(ctl) {
      if (rest.trim()) ctl.enqueue(rest);
    },
  });
}

/** The kit's model, data and step for `a`, and the spec that lets PyTorch build the same. */
function kit(a: Arch) {
  const gw = rng(0), gd = rng(1), out = a.sizes.at(-1)!;
  const x = randn([a.batch, a.sizes[0]], gd);
  const labels = Array.from({ length: a.batch }, (_, k) => k % out);
  const y = a.loss === "mse" ? randn([a.batch, out], gd) : tensor(labels);
  const linears: Linear[] = [];
  for (let l = 0; l + 1 < a.sizes.length; l++) {
    linears.push(new Linear(a.sizes[l], a.sizes[l + 1], { rng: gw }));
  }
  const init = linears.map((l) => [l.weight.data.slice(), l.bias!.data.slice()]);
  const spec = {
    sizes: a.sizes,
    batch: a.batch,
    loss: a.loss,
    lr: LR,
    weights: init.map(([w, b]) => [Array.from(w), Array.from(b)]),
    x: Array.from(x.data),
    y: a.loss === "mse" ? Array.from(y.data) : labels,
  };
  const layers = linears.flatMap((l, i) => (i > 0 ? [new ReLU(), l] : [l]));
  const model = new Sequential(...layers);
  const lossOf = (o: Tensor) => (a.loss === "mse" ? mseLoss(o, y) : crossEntropy(o, y));
  let opt = new Adam(model, { lr: LR });
  const step = () => {
    opt.zeroGrad();
    lossOf(model.call(x)).backward();
    opt.step();
  };
  const reset = () => {
    linears.forEach((l, i) => {
      l.weight.data.set(init[i][0]);
      l.bias!.data.set(init[i][1]);
    });
    opt = new Adam(model, { lr: LR });
  };
  const loss = () => noGrad(() => lossOf(model.call(x)).item());
  return { spec, step, reset, loss };
}

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q), h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** 3 significant digits in µs or ms. */
function fmtMs(ms: number): string {
  return ms < 1 ? `${(ms * 1e3).toPrecision(3)} µs` : `${ms.toPrecision(3)} ms`;
}

async function main(args: string[]): Promise<number> {
  const opts = parseArgs(args);
  if (opts === null) {
    console.log(USAGE);
    return 0;
  }
  const python = Deno.env.get("KIT_PYTHON") ?? "/usr/bin/python3";
  let torch: Torch;
  try {
    torch = new Torch(python);
  } catch (e) {
    console.log(`torch_step: skipped: cannot start ${python} (${(e as Error).message})`);
    return 0;
  }
  const info = await torch.ask<
    { torch: string; numpy: string; python: string; threads: number; blas: string[] }
  >({ cmd: "info" });
  if (info.error) {
    console.log(
      `torch_step: skipped: PyTorch is not available to ${python} (${info.error}); on Debian: ` +
        "apt-get install python3-torch python3-numpy",
    );
    await torch.close();
    return 0;
  }
  const loads: number[] = [load()];
  const rows: string[][] = [];
  let failed = false;
  for (const a of ARCHS) {
    const name = `MLP ${a.sizes.join("-")}, batch ${a.batch}, ${a.loss}, Adam`;
    const k = kit(a);
    await torch.ask({ cmd: "setup", ...k.spec });
    k.reset();
    for (let i = 0; i < CHECK_STEPS; i++) k.step();
    const ours = k.loss(),
      theirs = (await torch.ask<{ loss: number }>({
        cmd: "loss",
        steps: CHECK_STEPS,
      })).loss;
    const rel = Math.abs(ours - theirs) / Math.abs(theirs);
    console.log(
      `${name}: loss after ${CHECK_STEPS} steps: kit ${ours}, PyTorch ${theirs} ` +
        `(relative difference ${rel.toExponential(2)})`,
    );
    if (!(rel <= CHECK_RTOL)) {
      console.error(`torch_step: ${name}: the losses differ by more than ${CHECK_RTOL} (relative)`);
      failed = true;
      continue;
    }
    const samples = opts.smoke ? 3 : a.samples;
    const timeKit = () => {
      const t: number[] = [];
      for (let s = 0; s < samples; s++) {
        const t0 = performance.now();
        for (let i = 0; i < a.block; i++) k.step();
        t.push((performance.now() - t0) / a.block);
      }
      return median(t);
    };
    const timeTorch = async () => {
      const r = await torch.ask<{ ns: number[] }>({ cmd: "time", samples, block: a.block });
      return median(r.ns.map((ns) => ns / 1e6 / a.block));
    };
    // warm up both (JIT, caches), then interleave, alternating who goes first
    timeKit();
    await timeTorch();
    const mk: number[] = [], mt: number[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      if (r % 2 === 0) {
        mt.push(await timeTorch());
        mk.push(timeKit());
      } else {
        mk.push(timeKit());
        mt.push(await timeTorch());
      }
      loads.push(load());
    }
    const ratios = mt.map((t, i) => t / mk[i]);
    const ratio = median(mt) / median(mk);
    console.log(
      `${name}: rounds (ms) PyTorch ${mt.map((t) => t.toFixed(3)).join(" ")}; kit ${
        mk.map((t) => t.toFixed(3)).join(" ")
      }; per-round ratio ${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)}`,
    );
    rows.push([name, fmtMs(median(mt)), fmtMs(median(mk)), `${ratio.toFixed(2)}x`]);
  }
  await torch.close();
  const lo = Math.min(...loads), hi = Math.max(...loads);
  const table = [
    "| training step (float64, one thread) | PyTorch | kit | kit speed vs PyTorch |",
    "| --- | ---: | ---: | ---: |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
  console.log(`\n${table}\n`);
  console.log(
    `${opts.rounds} rounds per side, interleaved; medians of the round medians. ` +
      `Load average (1 min) ${lo.toFixed(2)} to ${hi.toFixed(2)}` +
      (hi >= 0.5 ? " (not idle: the acceptance measurement needs < 0.5)" : "") + ".",
  );
  console.log(
    `Machine: ${cpuModel()}; Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), kit backend ` +
      `${gemmBackend()} (FMA ${fmaFused() ? "fused" : "not fused"}); PyTorch ${info.torch}, ` +
      `NumPy ${info.numpy}, Python ${info.python}, ${info.threads} thread, BLAS ${
        info.blas.join(", ") || "none mapped"
      }; ${new Date().toISOString().slice(0, 10)}.`,
  );
  return failed ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(2);
  }
}
