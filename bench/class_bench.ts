/**
 * A class: 60 submissions of lecture notebooks (20 students, each the three notebooks of
 * assignment a2's fastest part: 04, 06 and 07, with their solutions) graded with `--jobs 1` and
 * `--jobs 2`, next to each notebook's own run time on the Deno kernel (`deno task nb:run`, one
 * notebook per run, kernel start included). Each round runs the three in turn (own runs, then
 * `--jobs 1`, then `--jobs 2`), so that a machine whose load changes affects them alike; the
 * table printed at the end gives medians over the rounds and the load average.
 *
 * The grader's overhead per submission is its time per submission minus the notebook's own run,
 * as a share of the notebook's own run; a second line takes the notebook's cells as they ran in
 * the sandbox instead (`SandboxProfile.codeMs`). Where the rest goes (the sandbox's start, the
 * checks, the feedback pages, ...) is printed per submission for `--jobs 1`.
 *
 * Run: `deno bench -A bench/class_bench.ts` (about 25 minutes idle: two rounds);
 * `CLASS_BENCH_STUDENTS=2` grades 2 students' 3 notebooks; `BENCH_SMOKE=1` grades 2 submissions
 * of one notebook in one round. Not part of `deno task test`.
 */
import { gradeAll, type GradeTiming } from "../tools/grade/grade.ts";
import { bench, SMOKE } from "./_stats.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const NOTEBOOKS = SMOKE ? ["06_early_stopping.ipynb"] : [
  "04_adam_bias_correction.ipynb",
  "06_early_stopping.ipynb",
  "07_optimizers_and_schedules.ipynb",
];
/** `CLASS_BENCH_STUDENTS=N` grades N students instead of 20 (a shorter run on a busy machine). */
const STUDENTS = SMOKE ? 2 : Number(Deno.env.get("CLASS_BENCH_STUDENTS") ?? 20);
const COUNT = STUDENTS * NOTEBOOKS.length;
const ROUNDS = SMOKE ? 1 : 2;

const dir = await Deno.makeTempDir({ prefix: "class_bench_" });
for (let i = 0; i < STUDENTS; i++) {
  const s = `${dir}/subs/student${String(i).padStart(2, "0")}`;
  await Deno.mkdir(s, { recursive: true });
  for (const nb of NOTEBOOKS) await Deno.copyFile(`${root}/notebooks/${nb}`, `${s}/${nb}`);
}
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

interface Round {
  /** Mean of the notebooks' own runs, ms. */
  own: number;
  /** ms per submission, and where the time went, per `--jobs`. */
  grade: Map<number, { perSubmission: number; timing: GradeTiming }>;
  load: number;
}
const rounds: Round[] = [];

async function grade(jobs: number) {
  const t0 = performance.now();
  const { records, invalid, timing } = await gradeAll({
    submissions: `${dir}/subs`,
    notebooks: `${root}/notebooks`,
    out: `${dir}/out${jobs}`,
    jobs,
    timeoutSec: 300,
    memoryMb: 1024,
    quiet: true,
  });
  const ms = performance.now() - t0;
  const lost = records.filter((r) => r.rows.some((x) => !x.passed && x.max > 0));
  if (invalid.length || lost.length) {
    throw new Error(
      `class_bench: a solution lost points: ${
        JSON.stringify(lost.map((r) => [r.student, r.notebook, r.notes]))
      }`,
    );
  }
  return { perSubmission: ms / COUNT, timing };
}

async function runOwn(): Promise<number> {
  let total = 0;
  for (const nb of NOTEBOOKS) {
    const t0 = performance.now();
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["task", "nb:run", `notebooks/${nb}`, "--out", `${dir}/own`],
      cwd: root,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!r.success) throw new Error(`class_bench: ${nb}: ${new TextDecoder().decode(r.stderr)}`);
    total += performance.now() - t0;
  }
  return total / NOTEBOOKS.length;
}

// The rounds run once, here: Deno's bench runner calls a bench more often than `n` (warm-up),
// which a round of about half an hour cannot afford. The bench reports each round's time.
const roundMs: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = performance.now();
  // The own runs bracket the grading (before and after), so that a load that drifts during
  // the round weighs on both sides alike.
  const before = await runOwn();
  const g = new Map<number, { perSubmission: number; timing: GradeTiming }>();
  for (const jobs of [1, 2]) g.set(jobs, await grade(jobs));
  const own = (before + await runOwn()) / 2;
  rounds.push({ own, grade: g, load: Deno.loadavg()[0] });
  roundMs.push(performance.now() - t0);
}
let call = 0;
bench({
  group: `a class: ${COUNT} submissions of lecture notebooks`,
  name: "a round: each notebook's own run, then grade --jobs 1, then --jobs 2",
  baseline: true,
  n: ROUNDS,
  warmup: 0,
  fn: () => roundMs[call++ % roundMs.length],
});

globalThis.addEventListener("unload", () => {
  if (!rounds.length) return;
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
  const ownMs = med(rounds.map((r) => r.own));
  const lines = [
    `\nper submission: ${COUNT} submissions of ${NOTEBOOKS.length} lecture notebook(s), ` +
    `medians of ${rounds.length} round(s); load average (1 min) at the rounds' ends: ${
      rounds.map((r) => r.load.toFixed(1)).join(", ")
    }`,
    "| | ms per submission | overhead vs the notebook's own run | vs its cells in the sandbox |",
    "| --- | ---: | ---: | ---: |",
    `| notebook's own run (nb:run, mean of ${NOTEBOOKS.length}, before and after) | ${
      ownMs.toFixed(0)
    } | - | - |`,
  ];
  for (const jobs of [1, 2]) {
    const ms = med(rounds.map((r) => r.grade.get(jobs)!.perSubmission));
    // Paired per round: each round's grading against the same round's own runs.
    const vsOwn = med(rounds.map((r) => (r.grade.get(jobs)!.perSubmission - r.own) / r.own));
    const vsCells = med(rounds.map((r) => {
      const g = r.grade.get(jobs)!;
      const cells = g.timing.sandbox.codeMs / g.timing.sandboxed;
      return (g.perSubmission - cells) / cells;
    }));
    lines.push(
      jobs === 1
        ? `| grade --jobs 1 | ${ms.toFixed(0)} | ${pct(vsOwn)} | ${pct(vsCells)} |`
        : `| grade --jobs 2 (two at once) | ${ms.toFixed(0)} | ${pct(vsOwn)} | - |`,
    );
  }
  const parts = (jobs: number) => {
    const each = (f: (t: GradeTiming) => number) =>
      med(rounds.map((r) => f(r.grade.get(jobs)!.timing) / COUNT)).toFixed(0);
    const sb = (k: keyof GradeTiming["sandbox"]) => each((t) => t.sandbox[k]);
    return `setup ${sb("setupMs")}, start ${sb("startMs")} (Deno, prelude, kit), cells ${
      sb("codeMs")
    }, visible checks ${sb("visibleChecksMs")}, hidden checks ${sb("hiddenChecksMs")} (of which ` +
      `waiting for the checker ${sb("checkerWaitMs")}), exit ${sb("exitMs")}; reading ${
        each((t) => t.loadMs)
      }, feedback pages ${each((t) => t.feedbackMs)}, reports ${each((t) => t.reportsMs)}`;
  };
  lines.push(`\nwhere a submission's time goes, ms (--jobs 1): ${parts(1)}`);
  console.log(lines.join("\n"));
});
