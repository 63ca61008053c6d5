/**
 * What the sandbox of untrusted notebooks costs (tools/jupyter/untrusted.ts): one notebook end
 * to end through `nb:run` (`tools/run.ts`: process start, kernel start, every cell, shutdown),
 * with `--allow-all` and with `--untrusted`, alternately (the first mode alternates by round),
 * `--rounds` times; prints the median wall time of each mode, their ratio (untrusted / all) and
 * the load average before and after.
 *
 * ```sh
 * deno run -A bench/untrusted.ts                                   # 00_welcome, 7 rounds
 * deno run -A bench/untrusted.ts --rounds 3 notebooks/03_batchnorm_running_stats.ipynb
 * ```
 *
 * @module
 */

const USAGE = `usage: deno run -A bench/untrusted.ts [--rounds N] [notebook]

Times nb:run on one notebook (default notebooks/00_welcome.ipynb) with --allow-all and with
--untrusted, alternately, N rounds (default 7); prints the medians and their ratio.`;

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

async function main(args: string[]): Promise<number> {
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
      `(+${((untrusted - all) / 1000).toFixed(2)} s)`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
