/**
 * A class: 60 submissions of lecture notebooks (20 students, each the three notebooks of
 * assignment a2's fastest part: 04, 06 and 07, with their solutions) graded with `--jobs 1` and
 * `--jobs 2`, next to each notebook's own run time on the Deno kernel (`deno task nb:run`, one
 * notebook per run, kernel start included). The table printed at the end gives the grader's time
 * per submission, the notebooks' mean own time, and the overhead (grading time per submission
 * minus the notebook's own time) as a share of the notebook's own time.
 *
 * Run: `deno bench -A bench/class_bench.ts` (about 10 minutes idle); `BENCH_SMOKE=1` grades 2
 * submissions of one notebook. Not part of `deno task test`.
 */
import { gradeAll } from "../tools/grade/grade.ts";
import { bench, SMOKE } from "./_stats.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const NOTEBOOKS = SMOKE ? ["06_early_stopping.ipynb"] : [
  "04_adam_bias_correction.ipynb",
  "06_early_stopping.ipynb",
  "07_optimizers_and_schedules.ipynb",
];
const STUDENTS = SMOKE ? 2 : 20;
const COUNT = STUDENTS * NOTEBOOKS.length;

const dir = await Deno.makeTempDir({ prefix: "class_bench_" });
for (let i = 0; i < STUDENTS; i++) {
  const s = `${dir}/subs/student${String(i).padStart(2, "0")}`;
  await Deno.mkdir(s, { recursive: true });
  for (const nb of NOTEBOOKS) await Deno.copyFile(`${root}/notebooks/${nb}`, `${s}/${nb}`);
}
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const perSubmission = new Map<number, number[]>();
async function grade(jobs: number): Promise<number> {
  const t0 = performance.now();
  const { records, invalid } = await gradeAll({
    submissions: `${dir}/subs`,
    notebooks: `${root}/notebooks`,
    out: `${dir}/out${jobs}`,
    jobs,
    timeoutSec: 120,
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
  perSubmission.set(jobs, [...(perSubmission.get(jobs) ?? []), ms / COUNT]);
  return ms;
}

const own: number[] = [];
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
  own.push(total / NOTEBOOKS.length);
  return total;
}

const group = `a class: ${COUNT} submissions of lecture notebooks`;
const n = SMOKE ? 1 : 2;
bench({
  group,
  name: "each notebook's own run (nb:run), in turn",
  baseline: true,
  n,
  warmup: 0,
  fn: runOwn,
});
bench({ group, name: "grade --jobs 1", n, warmup: 0, fn: async () => await grade(1) });
bench({ group, name: "grade --jobs 2", n, warmup: 0, fn: async () => await grade(2) });

globalThis.addEventListener("unload", () => {
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;
  const ownMs = med(own);
  const lines = [
    `\nper submission: ${group} (medians; load average ${
      Deno.loadavg().map((x) => x.toFixed(1)).join(" ")
    })`,
    "| | ms per submission | overhead vs the notebook's own run |",
    "| --- | ---: | ---: |",
    `| notebook's own run (mean of ${NOTEBOOKS.length}) | ${ownMs.toFixed(0)} | - |`,
  ];
  for (const jobs of [1, 2]) {
    const ms = med(perSubmission.get(jobs) ?? []);
    lines.push(
      `| grade --jobs ${jobs} | ${ms.toFixed(0)} | ${
        jobs === 1 ? `${(((ms - ownMs) / ownMs) * 100).toFixed(0)} %` : "(2 at once)"
      } |`,
    );
  }
  console.log(lines.join("\n"));
});
