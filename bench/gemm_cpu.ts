/**
 * GFLOP/s of the matrix-product kernels measured by CPU time (`process.cpuUsage`, best of
 * `--rounds` interleaved rounds), for when other jobs load the machine: wall-clock medians then
 * mostly measure the other jobs, CPU time much less so. Square products n = 32 ... 512: `gemmFma`
 * (where the CPU fuses), `gemmSimd`, `gemmBlocked`, A·B and, for the first two, Aᵀ·B and A·Bᵀ;
 * with `--base REF` also `gemmSimd` of a git ref, in the same rounds. `bench/matmul_bench.ts`
 * remains the benchmark (wall time, tfjs beside); this is its companion for a busy machine.
 *
 * ```sh
 * deno run -A bench/gemm_cpu.ts --base 586aea8    # also the kernels of commit 586aea8
 * ```
 *
 * @module
 */
import process from "node:process";
import * as here from "../lib/kernels.ts";

const USAGE = `usage: deno run -A bench/gemm_cpu.ts [--base REF] [--rounds N]

GFLOP/s of gemmFma, gemmSimd and gemmBlocked (and gemmSimd of git ref REF) by CPU time.`;

type Gemm = typeof here.gemmSimd;

async function main(args: string[]): Promise<number> {
  let base = "", rounds = 15;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--help" || args[i] === "-h") {
      console.log(USAGE);
      return 0;
    }
    if (args[i] === "--base" && args[i + 1]) base = args[++i];
    else if (args[i] === "--rounds" && Number(args[i + 1]) >= 1) rounds = Number(args[++i]);
    else throw new Error(`gemm_cpu: bad argument "${args[i]}"\n${USAGE}`);
  }
  const kernels: [string, Gemm, boolean][] = [];
  if (here.fmaFused()) kernels.push(["gemmFma", here.gemmFma, true]);
  kernels.push(["gemmSimd", here.gemmSimd, true], ["gemmBlocked", here.gemmBlocked, false]);
  let dir = "";
  if (base) {
    const root = new URL("..", import.meta.url).pathname;
    dir = await Deno.makeTempDir({ prefix: "kit_gemm_base_" });
    const r = await new Deno.Command("sh", {
      args: ["-c", `git archive ${JSON.stringify(base)} lib | tar -x -C ${dir}`],
      cwd: root,
    }).output();
    if (r.code !== 0) throw new Error(`gemm_cpu: cannot unpack ${base}`);
    const old = await import(`${dir}/lib/kernels.ts`);
    kernels.push([`gemmSimd (${base})`, old.gemmSimd, false]);
  }
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e3;
  };
  const rows: string[][] = [];
  const sizes = [32, 64, 128, 256, 512];
  const cases = kernels.flatMap(([name, f, transposes]) =>
    (transposes ? [[false, false], [true, false], [false, true]] : [[false, false]]).map(
      ([ta, tb]) => ({ name: `${name} ${ta ? "Aᵀ·B" : tb ? "A·Bᵀ" : "A·B"}`, f, ta, tb }),
    )
  );
  const best = cases.map(() => sizes.map(() => Infinity));
  for (const [si, n] of sizes.entries()) {
    const a = Float64Array.from({ length: n * n }, () => Math.random() - 0.5);
    const b = Float64Array.from({ length: n * n }, () => Math.random() - 0.5);
    const c = new Float64Array(n * n);
    const reps = Math.max(1, Math.floor(2e7 / n ** 3));
    for (let r = 0; r < rounds; r++) {
      for (const [ci, k] of cases.entries()) {
        k.f(k.ta, k.tb, n, n, n, a, 0, b, 0, c, 0);
        const t0 = cpu();
        for (let i = 0; i < reps; i++) k.f(k.ta, k.tb, n, n, n, a, 0, b, 0, c, 0);
        best[ci][si] = Math.min(best[ci][si], (cpu() - t0) / reps);
      }
    }
  }
  cases.forEach((k, ci) =>
    rows.push([k.name, ...sizes.map((n, si) => (2 * n ** 3 / best[ci][si] / 1e6).toFixed(2))])
  );
  console.log(`| GFLOP/s (CPU time) | ${sizes.map((n) => `n = ${n}`).join(" | ")} |`);
  console.log(`| --- | ${sizes.map(() => "---:").join(" | ")} |`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  console.log(
    `\nbest of ${rounds} interleaved rounds; load average ${
      Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ")
    } at the end`,
  );
  if (dir) await Deno.remove(dir, { recursive: true });
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
