/**
 * The course before and after an engine change, in one run: every notebook end to end on the
 * Deno kernel (`tools/run.ts`, as `deno task nb:run`) and the grader on a set of submissions
 * (`tools/grade/grade.ts --jobs 1`), each run alternately on the base tree and on this one,
 * `--rounds` times; it prints the medians of the wall time and of the CPU time (user + system,
 * the process and its children, through `/usr/bin/time`: less disturbed when other jobs load the
 * machine), their ratios (base / this: above 1 is faster now) and the load average. The base is a git ref of this repository, unpacked into a temporary folder
 * (with this tree's `node_modules`).
 *
 * ```sh
 * deno run -A bench/before_after.ts --base main             # 3 rounds
 * deno run -A bench/before_after.ts --base 586aea8 --rounds 5 --only 03,07
 * ```
 *
 * @module
 */

const USAGE =
  `usage: deno run -A bench/before_after.ts --base REF [--rounds N] [--only NN,NN] [--no-grade]

Times every notebook (end to end on the kernel) and the grader (30 submissions, --jobs 1) on
the git ref REF and on this tree, alternately, N rounds (default 3); prints medians and ratios.`;

const here = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

function parse(args: string[]) {
  let base = "", rounds = 3, only: string[] | null = null, grade = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--help" || a === "-h") return null;
    if (a === "--base" && args[i + 1]) base = args[++i];
    else if (a === "--rounds" && Number(args[i + 1]) >= 1) rounds = Number(args[++i]);
    else if (a === "--only" && args[i + 1]) only = args[++i].split(",");
    else if (a === "--no-grade") grade = false;
    else throw new Error(`before_after: bad argument "${a}"\n${USAGE}`);
  }
  if (!base) throw new Error(`before_after: --base is required\n${USAGE}`);
  return { base, rounds, only, grade };
}

async function sh(cmd: string[], cwd: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** Unpacks `ref` of this repository into a temporary folder that shares node_modules. */
async function checkout(ref: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kit_base_" });
  const r = await sh(["sh", "-c", `git archive ${JSON.stringify(ref)} | tar -x -C ${dir}`], here);
  if (r.code !== 0) throw new Error(`before_after: cannot unpack ${ref}: ${r.out}`);
  await Deno.symlink(`${here}/node_modules`, `${dir}/node_modules`);
  return dir;
}

/** Wall and CPU time (ms) of `cmd`, the CPU time as /usr/bin/time reports it (children included). */
async function timed(cmd: string[], cwd: string, what: string): Promise<[number, number]> {
  const t0 = performance.now();
  const r = await sh(["/usr/bin/time", "-f", "@cpu %U %S", ...cmd], cwd);
  const ms = performance.now() - t0;
  if (r.code !== 0) {
    throw new Error(`before_after: ${what} failed in ${cwd}:\n${r.out.slice(-2000)}`);
  }
  const m = r.out.match(/@cpu ([\d.]+) ([\d.]+)\s*$/);
  return [ms, m ? (Number(m[1]) + Number(m[2])) * 1e3 : NaN];
}

/** 30 submissions of the grading fixture (solutions, student version, one wrong answer). */
async function submissions(tree: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kit_subs_" });
  const nb = "90_grading_fixture.ipynb";
  const text = await Deno.readTextFile(`${tree}/tests/fixtures/grade/notebooks/${nb}`);
  const versions = [text, text.replace("1 / (1 - p)", "1 - p")];
  for (let i = 0; i < 30; i++) {
    const s = `${dir}/student${String(i).padStart(2, "0")}`;
    await Deno.mkdir(s, { recursive: true });
    await Deno.writeTextFile(`${s}/${nb}`, versions[i % 2]);
  }
  return dir;
}

/** The median of the runs that finished (NaN marks a failed run); NaN when none did. */
function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b), h = s.length >> 1;
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

const load = () => Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);

async function main(args: string[]): Promise<number> {
  const opts = parse(args);
  if (opts === null) {
    console.log(USAGE);
    return 0;
  }
  const base = await checkout(opts.base);
  const deno = Deno.execPath();
  const names = [...Deno.readDirSync(`${here}/notebooks`)].map((e) => e.name)
    .filter((n) => n.endsWith(".ipynb") && (!opts.only || opts.only.some((o) => n.startsWith(o))))
    .sort();
  const out = await Deno.makeTempDir({ prefix: "kit_ba_out_" });
  const subs = opts.grade ? await submissions(here) : "";
  const jobs: { name: string; cmd: (tree: string) => string[] }[] = names.map((n) => ({
    name: n.replace(".ipynb", ""),
    cmd: (tree) => [deno, "run", "-A", `${tree}/tools/run.ts`, `notebooks/${n}`, "--out", out],
  }));
  if (opts.grade) {
    jobs.push({
      name: "grading 30 submissions, --jobs 1",
      cmd: (tree) => [
        deno,
        "run",
        "-A",
        `${tree}/tools/grade/grade.ts`,
        subs,
        "--out",
        `${out}/grades`,
        "--jobs",
        "1",
        "--notebooks",
        `${tree}/tests/fixtures/grade/notebooks`,
      ],
    });
  }
  const times = jobs.map(() => ({ base: [] as number[], now: [] as number[] }));
  const cpu = jobs.map(() => ({ base: [] as number[], now: [] as number[] }));
  const loads = [load()];
  try {
    for (let r = 0; r < opts.rounds; r++) {
      for (const [i, j] of jobs.entries()) {
        const order = r % 2 === 0 ? ["base", "now"] as const : ["now", "base"] as const;
        for (const which of order) {
          const tree = which === "base" ? base : here;
          let ms: number, cpuMs: number;
          try {
            [ms, cpuMs] = await timed(j.cmd(tree), tree, j.name);
          } catch (e) {
            if (j.name.startsWith("grading")) throw e;
            ms = cpuMs = NaN; // a failing notebook: reported, not timed
            console.error(`${which}: ${(e as Error).message.split("\n")[0]}`);
          }
          times[i][which].push(ms);
          cpu[i][which].push(cpuMs);
        }
        console.error(`round ${r + 1}: ${j.name} done`);
        loads.push(load());
      }
    }
  } finally {
    await Deno.remove(base, { recursive: true });
    await Deno.remove(out, { recursive: true });
    if (subs) await Deno.remove(subs, { recursive: true });
  }
  const fmt = (ms: number) => (Number.isNaN(ms) ? "failed" : `${(ms / 1e3).toFixed(2)} s`);
  console.log(
    `| end to end | wall, ${opts.base} | wall, this tree | ratio | CPU, ${opts.base} | ` +
      "CPU, this tree | ratio |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  jobs.forEach((j, i) => {
    const b = median(times[i].base), n = median(times[i].now);
    const cb = median(cpu[i].base), cn = median(cpu[i].now);
    console.log(
      `| ${j.name} | ${fmt(b)} | ${fmt(n)} | ${(b / n).toFixed(2)}x | ${fmt(cb)} | ${fmt(cn)} | ` +
        `${(cb / cn).toFixed(2)}x |`,
    );
  });
  console.log(
    `\n${opts.rounds} rounds, alternating; medians. Load average (1 min) ${
      Math.min(...loads).toFixed(2)
    } to ${Math.max(...loads).toFixed(2)}.`,
  );
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
