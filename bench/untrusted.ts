/**
 * What the sandbox of untrusted notebooks costs (tools/jupyter/untrusted.ts): one notebook end
 * to end through `nb:run` (`tools/run.ts`: process start, kernel start, every cell, shutdown),
 * with `--allow-all` and with `--untrusted`, alternately (the first mode alternates by round),
 * `--rounds` times; prints the median wall time of each mode, their ratio (untrusted / all) and
 * the load average before and after.
 *
 * `--start` times only what the sandbox adds: a kernel's start plus, for the sandboxed one, the
 * cell that revokes its permissions (the kit's `Kernel`, in this process), alternately,
 * `--rounds` times (default 15).
 *
 * `--compare` instead runs each notebook given (default: all of `notebooks/`) once in each mode
 * through the runner and compares every code cell's execution count and outputs; it exits 1 on
 * the first difference or failure, naming the notebook and cell.
 *
 * ```sh
 * deno run -A bench/untrusted.ts                                   # 00_welcome, 7 rounds
 * deno run -A bench/untrusted.ts --rounds 3 notebooks/03_batchnorm_running_stats.ipynb
 * deno run -A --config deno.json bench/untrusted.ts --start        # kernel start, 15 rounds
 * deno run -A --config deno.json bench/untrusted.ts --compare      # every notebook, both modes
 * ```
 *
 * @module
 */

const USAGE = `usage: deno run -A bench/untrusted.ts [--rounds N] [notebook]
       deno run -A --config deno.json bench/untrusted.ts --start [--rounds N]
       deno run -A --config deno.json bench/untrusted.ts --compare [notebooks...]

Times nb:run on one notebook (default notebooks/00_welcome.ipynb) with --allow-all and with
--untrusted, alternately, N rounds (default 7); prints the medians and their ratio.
--start times a kernel's start (and the sandbox's revoking cell) both ways, N rounds (15).
--compare runs notebooks (default notebooks/*.ipynb) in both modes and compares every cell.`;

const here = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b), h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

function load(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

/** Runs each notebook in both modes; 0 when every code cell's count and outputs are equal. */
async function compare(paths: string[]): Promise<number> {
  // The kit's runner, loaded only here: timing needs none of it.
  const { runNotebooks } = await import("../tools/runner.ts");
  const { projectNotebooks } = await import("../tools/notebook/io.ts");
  if (!paths.length) paths = await projectNotebooks();
  let bad = 0;
  for (const path of paths) {
    const cells: Record<string, string[]> = {};
    for (const trust of ["untrusted", "all"] as const) {
      const run = (await runNotebooks([path], { outDir: null, trust, concurrency: 1 })).runs[0];
      if (run.status !== "ok") {
        console.error(`${path} (${trust}): ${run.message}`);
        return 1;
      }
      cells[trust] = run.notebook!.cells.map((c) =>
        c.cell_type === "code" ? JSON.stringify([c.execution_count, c.outputs]) : ""
      );
    }
    const diff = cells.all.findIndex((c, i) => c !== cells.untrusted[i]);
    if (diff >= 0) {
      bad++;
      console.error(
        `${path}: cell ${diff + 1} differs\n  all:       ${
          cells.all[diff].slice(0, 400)
        }\n  untrusted: ${cells.untrusted[diff].slice(0, 400)}`,
      );
    } else console.log(`${path}: ${cells.all.filter((c) => c).length} code cells identical`);
  }
  console.log(`${paths.length - bad} of ${paths.length} notebooks identical in both modes`);
  return bad ? 1 : 0;
}

/** Kernel start both ways, alternately; prints medians and their ratio. */
async function start(rounds: number): Promise<number> {
  const { Kernel } = await import("../tools/jupyter/kernel.ts");
  const { REVOKE_CELL, sandboxCommand } = await import("../tools/jupyter/untrusted.ts");
  const times: Record<string, number[]> = { all: [], untrusted: [] };
  const before = load();
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 ? ["untrusted", "all"] : ["all", "untrusted"]) {
      const t0 = performance.now();
      const k = await Kernel.start({
        cwd: `${here}/notebooks`,
        command: mode === "untrusted" ? sandboxCommand : undefined,
      });
      if (mode === "untrusted") {
        const res = await k.execute(REVOKE_CELL, { storeHistory: false });
        if (res.status !== "ok") throw new Error(`the revoking cell failed: ${res.status}`);
      }
      times[mode].push(performance.now() - t0);
      await k.shutdown();
    }
  }
  const all = median(times.all), untrusted = median(times.untrusted);
  console.log(`kernel start, ${rounds} rounds, load average before ${before}, after ${load()}`);
  console.log(`  every permission  median ${all.toFixed(0)} ms`);
  console.log(`  sandboxed         median ${untrusted.toFixed(0)} ms (with the revoking cell)`);
  console.log(`  ratio ${(untrusted / all).toFixed(3)} (${(untrusted - all).toFixed(0)} ms)`);
  return 0;
}

async function main(args: string[]): Promise<number> {
  if (args[0] === "--compare") return await compare(args.slice(1));
  if (args[0] === "--start") {
    const n = args[1] === "--rounds" && Number(args[2]) >= 1 ? Number(args[2]) : 15;
    return await start(n);
  }
  let rounds = 7, path = "notebooks/00_welcome.ipynb";
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--help" || a === "-h") {
      console.log(USAGE);
      return 0;
    }
    if (a === "--rounds" && Number(args[i + 1]) >= 1) rounds = Number(args[++i]);
    else if (!a.startsWith("-")) path = a;
    else throw new Error(`untrusted bench: bad argument "${a}"\n${USAGE}`);
  }
  const out = await Deno.makeTempDir({ prefix: "kit-untrusted-bench-" });
  const times: Record<string, number[]> = { "--allow-all": [], "--untrusted": [] };
  const before = load();
  try {
    for (let r = 0; r < rounds; r++) {
      const modes = r % 2 ? ["--untrusted", "--allow-all"] : ["--allow-all", "--untrusted"];
      for (const mode of modes) {
        const t0 = performance.now();
        const p = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "tools/run.ts", mode, "--jobs", "1", "--out", out, path],
          cwd: here,
          stdout: "null",
          stderr: "piped",
        }).output();
        const ms = performance.now() - t0;
        if (!p.success) {
          throw new Error(`nb:run ${mode} ${path} failed:\n${new TextDecoder().decode(p.stderr)}`);
        }
        times[mode].push(ms);
      }
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
  const all = median(times["--allow-all"]), untrusted = median(times["--untrusted"]);
  console.log(`${path}, ${rounds} rounds, load average before ${before}, after ${load()}`);
  console.log(`  --allow-all  median ${(all / 1000).toFixed(2)} s`);
  console.log(`  --untrusted  median ${(untrusted / 1000).toFixed(2)} s`);
  console.log(
    `  ratio untrusted / all ${(untrusted / all).toFixed(3)} ` +
      `(${untrusted >= all ? "+" : ""}${((untrusted - all) / 1000).toFixed(2)} s)`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
